"""The portfolio: every visible account's month (or quarter) side by side, the worst first.

Each figure reuses the rule of the page it summarises (the scorecard's statuses, the
invoices' DSO and billed revenue, the requests' and actions' overdue tests); the
accounts are loaded together, so the number of statements does not grow with them.

"Worst first": a red month before an amber one before a green one before one with no
measured KPI; then the larger overdue amount as a share of the ACV (a share, so that
accounts in different currencies compare); then more overdue requests and actions; then
the name. Totals are per currency: amounts in two currencies are never added.

A quarter (the management report's) is its months together: the share of KPIs met is
of every KPI measured in any of its months, its RAG the worst status of any of them, its
CSAT the average of its ratings; the money (DSO, the overdue amount, billed revenue
against the ACV) is as of its last day, or today while it runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit
from portal.accounts import account_managers, contract_in_force, visible_accounts
from portal.actions.service import OPEN as OPEN_ACTIONS
from portal.billing.service import (UNPAID, Dso, RevenueYtd, dso_by_account, figures_currency, per_account,
                                    revenue_ytd_by_account)
from portal.kpis.service import Scorecard, card_from, measurements, previous_month
from portal.change_requests.service import AWAITING_DECISION as PENDING_CHANGE_REQUESTS
from portal.models import (
    Account,
    ActionItem,
    AlertKind,
    ChangeRequest,
    Contract,
    CreditNote,
    Document,
    Feedback,
    Invoice,
    Plan,
    PortfolioAlert,
    Role,
    ServiceCredit,
    ServiceRequest,
    User,
)
from portal.domain import Conflict
from portal.notifications import Recipient, link, notify
from portal.models.account import account_members
from portal.models.base import utcnow
from portal.models.document import DocumentStatus
from portal.models.plan import PlanStatus
from portal.models.request import RequestStatus
from portal.models.service_credit import ServiceCreditStatus
from portal.service_requests.service import DONE_STATUSES, next_due_expression

ENDING_DAYS = 90
RAG_ORDER = {"red": 0, "amber": 1, "green": 2, "none": 3}
# Sort keys of the page's columns (the default is the worst first).
SORTS = ("worst", "account", "kpis", "csat", "requests", "actions", "dso", "overdue", "revenue", "ending", "pending")


def next_month(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(period: date) -> date:
    return next_month(period) - timedelta(days=1)


def months_from(first: date, count: int) -> list[date]:
    """``count`` months from ``first`` (a month's first day): a quarter is three."""
    months = [first]
    while len(months) < count:
        months.append(next_month(months[-1]))
    return months


def quarter_start(year: int, quarter: int) -> date:
    """The first day of a quarter (1 to 4)."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"no quarter {quarter}")
    return date(year, quarter * 3 - 2, 1)


@dataclass
class AccountMonth:
    """One account's month (or quarter: its months together) on the portfolio."""

    account: Account
    managers: list[str]
    contract: Contract | None
    currency: str
    on: date  # the period's last day, or the account's today in the current period
    cards: list[Scorecard]  # the scorecard of each of the period's months
    red_kpis_running: list[str]  # codes of the KPIs red in a month of the period and the month before it
    csat: Decimal | None  # the period's average rating, 1 to 5
    csat_before: Decimal | None  # the period before's
    open_requests: int = 0
    overdue_requests: int = 0
    escalations: int = 0  # open requests escalated beyond the first level
    overdue_actions: int = 0
    dso: Dso | None = None
    payment_terms: int | None = None  # days from issue to due of the account's latest invoice
    overdue_amount: Decimal = Decimal(0)  # in the contract's currency: the one its share of the ACV is of
    # Overdue in other currencies than the contract's (a local office's invoices), by
    # currency: shown beside it, in no share and added to nothing of another currency.
    overdue_elsewhere: dict[str, Decimal] = field(default_factory=dict)
    revenue: RevenueYtd | None = None
    contracts_ending: list[Contract] = field(default_factory=list)
    # Pending decisions, as the inbox counts them for someone: change requests pending
    # internal or client approval or countered (the meeting agenda's), plans in review
    # or awaiting sign-off, documents in review, service credits proposed.
    crs_pending: int = 0
    plans_awaiting_review: int = 0
    documents_in_review: int = 0
    credits_proposed: int = 0

    @property
    def card(self) -> Scorecard:
        """The period's months as one scorecard, each KPI once per month: its RAG is the
        worst status of a KPI in any month, its share of KPIs met that of every KPI
        measured in one (a month's are its scorecard's)."""
        if len(self.cards) == 1:
            return self.cards[0]
        return Scorecard(self.account, self.contract, self.cards[0].period,
                         [row for card in self.cards for row in card.rows])

    @property
    def rag(self) -> str:
        return self.card.rag

    @property
    def kpis_met(self) -> Decimal | None:
        return self.card.kpis_met_ratio

    @property
    def csat_trend(self) -> str:
        """up, down, flat, or none when a month has no rating."""
        if self.csat is None or self.csat_before is None:
            return "none"
        return "up" if self.csat > self.csat_before else "down" if self.csat < self.csat_before else "flat"

    @property
    def pending_decisions(self) -> int:
        return self.crs_pending + self.plans_awaiting_review + self.documents_in_review + self.credits_proposed

    @property
    def overdue_share(self) -> Decimal:
        """The overdue amount as a share of the ACV: comparable across currencies."""
        acv = self.contract.annual_value if self.contract else Decimal(0)
        return self.overdue_amount / acv if acv else Decimal(0)

    @property
    def revenue_ratio(self) -> Decimal | None:
        """Billed revenue to date as a share of the ACV pro rata."""
        if self.revenue is None or not self.revenue.expected:
            return None
        return (self.revenue.billed / self.revenue.expected).quantize(Decimal("0.0001"))

    def sort_key(self, sort: str):
        worst = (RAG_ORDER[self.rag], -self.overdue_share, -(self.overdue_requests + self.overdue_actions),
                 self.account.name)
        keys = {
            "worst": worst,
            "account": (self.account.name,),
            "kpis": (self.kpis_met is None, self.kpis_met or 0),
            "csat": (self.csat is None, self.csat or 0),
            "requests": (-self.overdue_requests, -self.open_requests),
            "actions": (-self.overdue_actions,),
            "dso": (self.dso is None or self.dso.value is None, -(self.dso.value or 0) if self.dso else 0),
            "overdue": (-self.overdue_share,),
            "revenue": (self.revenue_ratio is None, self.revenue_ratio or 0),
            "ending": (not self.contracts_ending, min((c.end_date for c in self.contracts_ending), default=date.max)),
            "pending": (-self.pending_decisions,),
        }
        return (*keys.get(sort, worst), self.account.name)


@dataclass
class Filters:
    manager_id: int | None = None
    tier: str | None = None
    country: str | None = None


@dataclass
class Portfolio:
    period: date  # the first month
    rows: list[AccountMonth]
    totals: dict[str, dict[str, Decimal]]  # currency → ACV, billed, expected, overdue
    # Where the accounts the other filters leave are served (ISO codes): what the
    # country filter offers.
    countries: frozenset[str] = frozenset()

    @property
    def rag_counts(self) -> dict[str, int]:
        return {rag: sum(1 for row in self.rows if row.rag == rag) for rag in RAG_ORDER}


def countries(account: Account, contracts: list[Contract]) -> set[str]:
    """Where the account is served: its contracts' service locations, and its own country."""
    return {account.country, *(location.country for c in contracts for location in c.locations)}


def portfolio(session: Session, period: date, filters: Filters | None = None, sort: str = "worst",
              now=None, *, months: int = 1) -> Portfolio:
    """Every account in the caller's scope for ``period`` (a month's first day) and the
    ``months`` - 1 months after it (a quarter: 3), filtered and sorted."""
    filters = filters or Filters()
    now = now or utcnow()
    accounts = [a for a in visible_accounts(session) if not filters.tier or a.tier.value == filters.tier]
    ids = [a.id for a in accounts]
    members = defaultdict(list)
    if ids:
        for account_id, user_id, name in session.execute(
            sa.select(account_members.c.account_id, User.id, User.name)
            .join(User, User.id == account_members.c.user_id)
            .where(account_members.c.account_id.in_(ids), User.role == Role.ACCOUNT_MANAGER)
            .order_by(User.name)
        ):
            members[account_id].append((user_id, name))
    if filters.manager_id:
        accounts = [a for a in accounts if any(uid == filters.manager_id for uid, _n in members[a.id])]
    contracts_of: dict[int, list[Contract]] = defaultdict(list)
    for contract in session.scalars(sa.select(Contract).where(Contract.account_id.in_(ids))
                                    .options(selectinload(Contract.kpis), selectinload(Contract.locations))):
        contracts_of[contract.account_id].append(contract)
    served = frozenset(code for a in accounts for code in countries(a, contracts_of[a.id]))
    if filters.country:
        accounts = [a for a in accounts if filters.country.upper() in countries(a, contracts_of[a.id])]
    ids = [a.id for a in accounts]
    span = months_from(period, months)
    ons = {a.id: min(month_end(span[-1]), a.today(now)) for a in accounts}
    # Each month's KPIs are those of the contract in force in it (as its scorecard); the
    # money is that of the contract in force in the month of ``on`` (today's, while the
    # period runs; the period's first month when it is still to come).
    in_force = {(a.id, m): contract_in_force(contracts_of[a.id], m) for a in accounts for m in span}
    chosen = {a.id: in_force[a.id, max(period, ons[a.id].replace(day=1))] for a in accounts}
    kpis = list({k.id: k for c in in_force.values() if c for k in c.kpis}.values())
    before = previous_month(period)
    actuals = measurements(session, kpis, [previous_month(before), before, *span])
    rows = {}
    for account in accounts:
        contract = chosen[account.id]
        cards, red_running = [], []
        for month in span:
            card = card_from(account, in_force[account.id, month], month, actuals)
            card_before = card_from(account, in_force[account.id, month], previous_month(month), actuals)
            red_before = {row.kpi.id for row in card_before.rows if row.status == "red"}
            red_running += [row.kpi.code for row in card.rows
                            if row.status == "red" and row.kpi.id in red_before and row.kpi.code not in red_running]
            cards.append(card)
        today = account.today(now)
        rows[account.id] = AccountMonth(
            account=account, managers=[n for _uid, n in members[account.id]], contract=contract,
            currency=figures_currency(account, contract), on=ons[account.id], cards=cards,
            red_kpis_running=red_running, csat=None, csat_before=None,
            contracts_ending=[c for c in contracts_of[account.id]
                              if today <= c.end_date <= today + timedelta(days=ENDING_DAYS)],
        )
    if ids:
        _add_csat(session, rows, span)
        _add_requests_and_actions(session, rows, now)
        _add_money(session, rows)
        _add_pending(session, rows)
    ordered = sorted(rows.values(), key=lambda row: row.sort_key(sort))
    return Portfolio(period, ordered, _totals(ordered), served)


def _average(ratings: list[int]) -> Decimal | None:
    return (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01")) if ratings else None


def _add_csat(session: Session, rows: dict[int, AccountMonth], span: list[date]) -> None:
    """The average rating of the period's months and of as many months before them, by
    the account's local month."""
    before = [previous_month(span[0])]
    while len(before) < len(span):
        before.insert(0, previous_month(before[0]))
    since = min(row.account.month_window(before[0])[0] for row in rows.values())
    ratings: dict[tuple[int, date], list[int]] = defaultdict(list)
    for account_id, created_at, rating in session.execute(
        sa.select(Feedback.account_id, Feedback.created_at, Feedback.rating)
        .where(Feedback.account_id.in_(list(rows)), Feedback.created_at >= since)
    ):
        ratings[account_id, rows[account_id].account.local_date(created_at).replace(day=1)].append(rating)
    for account_id, row in rows.items():
        row.csat = _average([r for month in span for r in ratings[account_id, month]])
        row.csat_before = _average([r for month in before for r in ratings[account_id, month]])


def _add_requests_and_actions(session: Session, rows: dict[int, AccountMonth], now) -> None:
    running = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS)
    overdue = sa.and_(ServiceRequest.status.in_(running), next_due_expression() < now)
    for account_id, open_count, overdue_count, escalated in session.execute(
        sa.select(ServiceRequest.account_id, sa.func.count(),
                  sa.func.sum(sa.case((overdue, 1), else_=0)),
                  sa.func.sum(sa.case((ServiceRequest.escalation_level > 1, 1), else_=0)))
        .where(ServiceRequest.account_id.in_(list(rows)), ServiceRequest.status.not_in(DONE_STATUSES))
        .group_by(ServiceRequest.account_id)
    ):
        rows[account_id].open_requests = open_count
        rows[account_id].overdue_requests = int(overdue_count or 0)
        rows[account_id].escalations = int(escalated or 0)
    latest_today = max(row.account.today(now) for row in rows.values())
    for account_id, due_date in session.execute(
        sa.select(ActionItem.account_id, ActionItem.due_date)
        .where(ActionItem.account_id.in_(list(rows)), ActionItem.status.in_(OPEN_ACTIONS),
               ActionItem.due_date < latest_today)
    ):
        if due_date < rows[account_id].account.today(now):  # the account's own today (actions.is_overdue)
            rows[account_id].overdue_actions += 1


def _add_money(session: Session, rows: dict[int, AccountMonth]) -> None:
    ons = {account_id: row.on for account_id, row in rows.items()}
    currencies = {account_id: row.currency for account_id, row in rows.items()}
    for account_id, value in dso_by_account(session, ons, currencies).items():
        rows[account_id].dso = value
    with_contract = {a: (row.contract, row.on) for a, row in rows.items() if row.contract is not None}
    for account_id, value in revenue_ytd_by_account(session, with_contract).items():
        rows[account_id].revenue = value
    credited = (sa.select(sa.func.coalesce(sa.func.sum(CreditNote.amount), 0))
                .where(CreditNote.invoice_id == Invoice.id).correlate(Invoice).scalar_subquery())
    for account_id, currency, due_date, total, less in session.execute(
        sa.select(Invoice.account_id, Invoice.currency, Invoice.due_date, Invoice.total, credited)
        .where(Invoice.account_id.in_(list(rows)), Invoice.status.in_(UNPAID))
    ):
        row = rows[account_id]
        owed = max(total - (less or Decimal(0)), Decimal(0))  # ``billing.outstanding`` on the account's date
        if due_date >= row.on or not owed:
            continue
        if currency == row.currency:
            row.overdue_amount += owed
        else:
            row.overdue_elsewhere[currency] = row.overdue_elsewhere.get(currency, Decimal(0)) + owed
    # The terms DSO is held against: of the latest invoice in the currency DSO counts.
    latest = (sa.select(Invoice.account_id, Invoice.issue_date, Invoice.due_date,
                        sa.func.row_number().over(partition_by=Invoice.account_id,
                                                  order_by=(Invoice.issue_date.desc(), Invoice.id.desc())).label("n"))
              .where(Invoice.account_id.in_(list(rows)), Invoice.currency == per_account(Invoice.account_id, currencies))
              .subquery())
    for account_id, issued, due in session.execute(
            sa.select(latest.c.account_id, latest.c.issue_date, latest.c.due_date).where(latest.c.n == 1)):
        rows[account_id].payment_terms = (due - issued).days


def _add_pending(session: Session, rows: dict[int, AccountMonth]) -> None:
    ids = list(rows)
    counts = (
        ("crs_pending", ChangeRequest, ChangeRequest.status.in_(PENDING_CHANGE_REQUESTS)),
        ("plans_awaiting_review", Plan, Plan.status.in_((PlanStatus.IN_REVIEW, PlanStatus.PENDING_SIGNOFF))),
        ("documents_in_review", Document, Document.status == DocumentStatus.IN_REVIEW),
        ("credits_proposed", ServiceCredit, ServiceCredit.status == ServiceCreditStatus.PROPOSED),
    )
    statement = sa.union_all(*(
        sa.select(sa.literal(name).label("name"), model.account_id.label("account_id"), sa.func.count().label("n"))
        .where(model.account_id.in_(ids), condition).group_by(model.account_id)
        for name, model, condition in counts))
    for name, account_id, count in session.execute(statement):
        setattr(rows[account_id], name, count)


def _totals(rows: list[AccountMonth]) -> dict[str, dict[str, Decimal]]:
    totals: dict[str, dict[str, Decimal]] = {}

    def of(currency: str) -> dict[str, Decimal]:
        return totals.setdefault(currency, defaultdict(Decimal, accounts=Decimal(0)))

    for row in rows:
        into = of(row.currency)
        into["accounts"] += 1
        into["overdue"] += row.overdue_amount
        if row.revenue is not None:
            into["acv"] += row.revenue.acv
            into["billed"] += row.revenue.billed
            into["expected"] += row.revenue.expected
        for currency, owed in row.overdue_elsewhere.items():  # a currency no contract may be in
            of(currency)["overdue"] += owed
    return {currency: dict(values) for currency, values in sorted(totals.items())}


# --- adverse variances -----------------------------------------------------------------

CSAT_FLOOR = Decimal(3)  # the month's average rating, out of 5
REVENUE_FLOOR = Decimal("0.9")  # billed to date against the ACV pro rata


def variances(row: AccountMonth) -> dict[AlertKind, dict]:
    """The adverse variances of an account's month, each with what was found."""
    found: dict[AlertKind, dict] = {}
    if row.red_kpis_running:
        found[AlertKind.KPI_RED] = {"kpis": row.red_kpis_running}
    if row.dso and row.dso.value is not None and row.payment_terms is not None and row.dso.value > row.payment_terms:
        found[AlertKind.DSO_OVER_TERMS] = {"dso": str(row.dso.value), "terms": row.payment_terms}
    if row.revenue_ratio is not None and row.revenue_ratio < REVENUE_FLOOR:
        found[AlertKind.REVENUE_UNDER_ACV] = {"billed": str(row.revenue.billed), "expected": str(row.revenue.expected),
                                              "currency": row.currency, "ratio": str(row.revenue_ratio)}
    if row.csat is not None and row.csat < CSAT_FLOOR:
        found[AlertKind.CSAT_LOW] = {"csat": str(row.csat)}
    return found


def check_alerts(session: Session, period: date, now=None) -> list[PortfolioAlert]:
    """Raise the month's adverse variances of every account in scope, each once per
    (account, kind, month), telling the account's managers. An alert not yet
    acknowledged whose condition no longer holds is marked back within bounds
    (``closed_at``) and stays on the team lead's page until acknowledged; should the
    condition come back in the month, the mark goes, and the alert is not raised again.
    Returns the alerts raised. Two checks of one month at once raise each alert once:
    the unique (account, kind, month) decides."""
    now = now or utcnow()
    result = portfolio(session, period, now=now)
    existing = {(a.account_id, a.kind): a for a in session.scalars(
        sa.select(PortfolioAlert).where(PortfolioAlert.period == period))}
    raised = []
    for row in result.rows:
        found = variances(row)
        for (account_id, kind), alert in existing.items():
            if account_id != row.account.id or alert.acknowledged_at is not None:
                continue
            holds = kind in found
            if holds == (alert.closed_at is None):
                continue
            alert.closed_at = None if holds else now
            audit.record(session, "portfolio.alert_holds_again" if holds else "portfolio.alert_closed", alert,
                         account_id=row.account.id, actor=None,
                         data={"kind": alert.kind.value, "period": f"{period:%Y-%m}"})
        for kind, detail in found.items():
            if (row.account.id, kind) in existing:
                continue
            alert = PortfolioAlert(account_id=row.account.id, kind=kind, period=period, detail=detail, raised_at=now)
            try:
                with session.begin_nested():
                    session.add(alert)
            except sa.exc.IntegrityError:
                # Raised meanwhile by another check of the month (the daily job and an
                # administrator's "check now" on two workers): that one told the managers.
                continue
            raised.append(alert)
            audit.record(session, "portfolio.alert_raised", alert, account_id=row.account.id, actor=None,
                         data={"kind": kind.value, "period": f"{period:%Y-%m}", **detail})
            managers = account_managers(session, row.account)
            if managers:
                notify(session, "portfolio_alert", [Recipient.of_user(u) for u in managers], account_id=row.account.id,
                       account=row.account, alert=alert, url=link(f"/portfolio?period={period:%Y-%m}"))
    session.flush()
    return raised


def open_alerts(session: Session) -> list[PortfolioAlert]:
    """The alerts of the accounts in scope not yet acknowledged, the latest month first:
    also those back within bounds (``closed_at``), which the team lead has not seen yet."""
    return list(session.scalars(
        sa.select(PortfolioAlert).where(PortfolioAlert.acknowledged_at.is_(None))
        .options(selectinload(PortfolioAlert.account))
        .order_by(PortfolioAlert.period.desc(), PortfolioAlert.raised_at, PortfolioAlert.id)))


def acknowledge(session: Session, alert: PortfolioAlert, by: User) -> None:
    """The team lead has seen the alert (still holding, or back within bounds): it
    leaves the portfolio page."""
    if alert.acknowledged_at is not None:
        raise Conflict(_l("This alert was acknowledged already."))
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = by.id
    audit.record(session, "portfolio.alert_acknowledged", alert, account_id=alert.account_id, actor=by,
                 data={"kind": alert.kind.value, "period": f"{alert.period:%Y-%m}"})
    session.flush()
