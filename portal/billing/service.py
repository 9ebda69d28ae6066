"""Invoices as the client and the firm read them: overdue, open items and ageing,
debtor days, billed revenue against the ACV, forecast against actuals, purchase
orders, and the dispute flow (a billing enquiry on the invoice).

"Today" is the account's date: an invoice due on the 5th is overdue on the 6th in
Hanoi, whatever the server's clock says.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.formatting import quantize_money
from portal import audit, versioning
from portal.domain import Conflict, DomainError
from portal.billing.schema import MAX_AMOUNT
from portal.files import CheckedFile
from portal.models import (
    Account,
    CreditNote,
    Invoice,
    InvoiceStatus,
    InvoiceTotal,
    Priority,
    PurchaseOrder,
    RequestCategory,
    RequestStatus,
    RevenueForecast,
    ServiceRequest,
    User,
)
from portal.security import bound_scope_condition, client_condition, current_scope, scope_condition, unscoped
from portal.service_requests import service as requests

UNPAID = (InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED)
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
DSO_DAYS = 90
STORED_STATUSES = frozenset(s.value for s in InvoiceStatus)
# What a reader sees and filters by: the stored statuses and ``overdue`` (see shown_status).
SHOWN_STATUSES = ("issued", "overdue", "paid", "disputed", "credited")
# The firm filters by ``held`` too: invoices held for their prices (the client never sees one).
FIRM_STATUSES = (*SHOWN_STATUSES, "held")


def is_overdue(invoice: Invoice, today: date) -> bool:
    return invoice.status in UNPAID and invoice.due_date < today


def shown_status(invoice: Invoice, today: date) -> str:
    """The status a reader sees: ``overdue`` is an unpaid invoice past its due date."""
    return status_shown(invoice.status, invoice.due_date, today)


def status_shown(status: InvoiceStatus, due_date: date, today: date) -> str:
    if status is InvoiceStatus.ISSUED and due_date < today:
        return "overdue"
    return status.value


def credited(invoice: Invoice) -> Decimal:
    return sum((note.amount for note in invoice.credit_notes), Decimal(0))


def outstanding(invoice: Invoice) -> Decimal:
    """What the client still owes on the invoice."""
    if invoice.status not in UNPAID:
        return Decimal(0)
    return max(invoice.total - credited(invoice), Decimal(0))


def bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


# --- the list --------------------------------------------------------------------------


# The list reads the tables' columns, not the ORM attributes: its statements run on
# the session's connection (see ``list_page``), and plain columns spare the ORM's
# annotations there too.
INVOICES = Invoice.__table__.c
TOTALS = InvoiceTotal.__table__.c


@dataclass
class InvoiceFilters:
    status: str | None = None  # issued, paid, disputed, credited or overdue
    period: date | None = None  # the month an invoice's period starts in
    service_location: str | None = None
    po_number: str | None = None
    number: str | None = None  # part of the invoice number
    account_id: int | None = None

    def conditions(self, todays: dict[int, date]) -> list:
        """SQL conditions; ``todays`` is each visible account's local date."""
        conditions = []
        if self.account_id:
            conditions.append(INVOICES.account_id == self.account_id)
        if self.status == "overdue":
            conditions.append(INVOICES.status == InvoiceStatus.ISSUED)
            conditions.append(sa.or_(*(sa.and_(INVOICES.account_id == a, INVOICES.due_date < d) for a, d in todays.items()))
                              if todays else sa.false())
        elif self.status == "held":
            conditions.append(INVOICES.held_at.is_not(None))
        elif self.status in STORED_STATUSES:
            conditions.append(INVOICES.status == InvoiceStatus(self.status))
        if self.period:
            last = (self.period.replace(day=28) + timedelta(days=4)).replace(day=1)
            conditions.append(INVOICES.period_start >= self.period)
            conditions.append(INVOICES.period_start < last)
        if self.service_location:
            conditions.append(INVOICES.service_location == self.service_location.upper())
        if self.po_number:
            conditions.append(INVOICES.po_number == self.po_number)
        if self.number:
            escaped = self.number.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(INVOICES.number.ilike(f"%{escaped}%", escape="\\"))
        return conditions

    @property
    def summarised(self) -> bool:
        """Whether ``invoice_totals`` holds this list's totals: no filter but the account
        and a stored status (``overdue`` depends on today)."""
        return self.status not in ("overdue", "held") and not (
            self.period or self.service_location or self.po_number or self.number)


# The statements of every list page, built once; each request adds its conditions.
_SUMMED = (sa.select(TOTALS.currency, sa.func.sum(TOTALS.invoices), sa.func.sum(TOTALS.total))
           .group_by(TOTALS.currency).having(sa.func.sum(TOTALS.invoices) > 0)
           .order_by(TOTALS.currency))


def _summed_without_held(totals: list, held: list) -> sa.Select:
    """``_SUMMED`` less the invoices hidden from the client that ``held`` selects (held
    ones: ``Invoice.client_visible``), in one statement."""
    kept = sa.union_all(
        sa.select(TOTALS.currency, TOTALS.invoices.label("invoices"), TOTALS.total.label("total")).where(*totals),
        sa.select(INVOICES.currency, sa.literal(-1, sa.BigInteger).label("invoices"), (-INVOICES.total).label("total"))
        .where(*held),
    ).subquery()
    return (sa.select(kept.c.currency, sa.func.sum(kept.c.invoices), sa.func.sum(kept.c.total))
            .group_by(kept.c.currency).having(sa.func.sum(kept.c.invoices) > 0).order_by(kept.c.currency))


def totals_by_currency(session: Session, filters: InvoiceFilters, todays: dict[int, date]) -> list[tuple[str, int, Decimal]]:
    """(currency, number of invoices, total) of the filtered list, in one query.

    Filtered by account and stored status at most (the list as it first opens), the
    sums come from ``invoice_totals``, which the database keeps: a few rows, not a scan
    of the account's invoices; that statement is built once per kind of caller and
    filter (``_summed_statement``). Other filters sum the invoices they select."""
    if filters.summarised:
        scope, parameters = bound_scope_condition(TOTALS.account_id)
        by_status = filters.status in STORED_STATUSES
        if filters.account_id:
            parameters["account"] = filters.account_id
        if by_status:
            parameters["status"] = InvoiceStatus(filters.status)
        query = _summed_statement(scope, bound_scope_condition(INVOICES.account_id)[0], current_scope().client,
                                  bool(filters.account_id), by_status)
    else:
        query = (sa.select(INVOICES.currency, sa.func.count(), sa.func.sum(INVOICES.total))
                 .where(scope_condition(INVOICES.account_id), client_condition(Invoice), *filters.conditions(todays))
                 .group_by(INVOICES.currency).order_by(INVOICES.currency))
        parameters = {}
    return [(currency, int(count), total or Decimal(0))
            for currency, count, total in session.connection().execute(query, parameters)]


@functools.lru_cache(maxsize=64)
def _summed_statement(scope: sa.ColumnElement[bool], invoices_scope: sa.ColumnElement[bool], client: bool,
                      by_account: bool, by_status: bool) -> sa.Select:
    """``_SUMMED`` for one kind of caller (``bound_scope_condition``'s), filtered by the
    bound parameters ``account`` and ``status`` when asked. A client does not see held
    invoices, which ``invoice_totals`` counts: the same statement takes them off (a probe
    of the partial index ``ix_invoices_held``)."""
    totals, held = [scope], [invoices_scope, sa.not_(Invoice.client_visible)]
    if by_account:
        totals.append(TOTALS.account_id == sa.bindparam("account"))
        held.append(INVOICES.account_id == sa.bindparam("account"))
    if by_status:
        totals.append(TOTALS.status == sa.bindparam("status"))
        held.append(INVOICES.status == sa.bindparam("status"))
    return _summed_without_held(totals, held) if client else _SUMMED.where(*totals)


LIST_COLUMNS = (INVOICES.id, INVOICES.account_id, INVOICES.number, INVOICES.service_location, INVOICES.period_start,
                INVOICES.issue_date, INVOICES.due_date, INVOICES.currency, INVOICES.total, INVOICES.po_number,
                INVOICES.status, INVOICES.held_at)

# What the API's list gives of each invoice (``api.invoices.invoice_json``).
API_COLUMNS = (INVOICES.id, INVOICES.account_id, INVOICES.contract_id, INVOICES.number, INVOICES.service_location,
               INVOICES.period_start, INVOICES.period_end, INVOICES.issue_date, INVOICES.due_date, INVOICES.currency,
               INVOICES.subtotal, INVOICES.tax, INVOICES.total, INVOICES.po_number, INVOICES.status, INVOICES.paid_on,
               INVOICES.created_at, INVOICES.held_at)

_PAGES = {columns: sa.select(*columns).order_by(INVOICES.issue_date.desc(), INVOICES.id.desc())
          for columns in (LIST_COLUMNS, API_COLUMNS)}


@functools.lru_cache(maxsize=64)
def _page_statement(columns: tuple, scope: sa.ColumnElement[bool], visible: sa.ColumnElement[bool],
                    keyed: bool) -> sa.Select:
    """The page's statement for one kind of caller, built once: the caller's accounts,
    the page's size and where it starts are bound parameters (see ``list_page``)."""
    query = _PAGES[columns].where(scope, visible).limit(sa.bindparam("page_size", type_=sa.Integer()))
    if keyed:
        query = query.where(sa.tuple_(INVOICES.issue_date, INVOICES.id) < sa.tuple_(
            sa.bindparam("after_date", type_=INVOICES.issue_date.type), sa.bindparam("after_id", type_=INVOICES.id.type)))
    return query


def list_page(session: Session, conditions: list, *, after: tuple[date, int] | None, limit: int = 50,
              columns: tuple = LIST_COLUMNS):
    """One keyset page, newest first: rows of ``columns`` (``LIST_COLUMNS`` for the page,
    ``API_COLUMNS`` for the API) and the key of the next page. Any page costs one index
    range scan.

    The list is the portal's busiest page (and this the API's busiest call), so its two
    statements (this one and ``totals_by_currency``) are Core statements on the session's
    connection: no ORM objects, none of the ORM's per-statement work, and the caller's
    scope added here, with ``bound_scope_condition``, where the ORM's listener would have
    added it. The statement of the unfiltered list is built once per kind of caller and
    reused with the caller's values (``_page_statement``); filters add their conditions to it."""
    scope, parameters = bound_scope_condition(INVOICES.account_id)
    query = _page_statement(columns, scope, client_condition(Invoice), after is not None)
    if conditions:
        query = query.where(*conditions)
    parameters["page_size"] = limit + 1
    if after is not None:
        parameters["after_date"], parameters["after_id"] = after
    rows = session.connection().execute(query, parameters).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].issue_date, rows[-1].id) if more and rows else None)


# --- statement of account ------------------------------------------------------------------


@dataclass
class Statement:
    today: date
    items: list[tuple[Invoice, Decimal, str, int]] = field(default_factory=list)  # invoice, open amount, bucket, days
    ageing: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # currency -> bucket -> amount
    # Credit notes set against no invoice (a service credit no open invoice had room
    # for): in the client's favour, listed apart from the open items.
    credits: list[CreditNote] = field(default_factory=list)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.ageing)


def statement(session: Session, account: Account, today: date | None = None) -> Statement:
    """Open items of the account with their ageing per currency: what the client owes,
    so not an invoice held for finance's review, which the client has not been sent."""
    today = today or account.today()
    invoices = session.scalars(
        sa.select(Invoice).where(Invoice.account_id == account.id, Invoice.status.in_(UNPAID),
                                 Invoice.client_visible)
        .options(sa.orm.selectinload(Invoice.credit_notes)).order_by(Invoice.due_date, Invoice.id)
    ).all()
    result = Statement(today)
    for invoice in invoices:
        amount = outstanding(invoice)
        if amount <= 0:
            continue
        days = (today - invoice.due_date).days
        name = bucket(days)
        result.items.append((invoice, amount, name, max(days, 0)))
        per_currency = result.ageing.setdefault(invoice.currency, {b: Decimal(0) for b in BUCKETS})
        per_currency[name] += amount
    result.credits = list(session.scalars(
        sa.select(CreditNote).where(CreditNote.account_id == account.id, CreditNote.invoice_id.is_(None),
                                    CreditNote.issue_date <= today)
        .order_by(CreditNote.issue_date, CreditNote.id)))
    return result


# --- the firm's numbers ------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_back(today: date, count: int) -> list[date]:
    """The first days of the last ``count`` months, oldest first, this month included."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(out))


def billed_by_month(session: Session, account: Account, months: list[date], currency: str) -> dict[date, Decimal]:
    """Billed revenue (invoice subtotals net of credit notes, before tax) by issue month,
    in ``currency`` (the contract's: what its ACV is in)."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for _account_id, issue_date, amount in _billed(session, {account.id: (months[0], currency)}):
        totals[month_start(issue_date)] += amount
    return {m: totals.get(m, Decimal(0)) for m in months}


def figures_currency(account: Account, contract) -> str:
    """The currency of an account's finance figures (DSO, billed revenue, the overdue
    amount): its contract's, whose ACV they are set against, else the account's own.
    Amounts billed in another currency are left out of them."""
    return contract.currency if contract else account.currency


def per_account(column, values: dict[int, Any], kind=None) -> sa.ColumnElement:
    """``values[account_id]`` in SQL, of the row's account (``column``): each account's own
    date or currency in one statement for many accounts."""
    return sa.case({a: sa.literal(v, kind) for a, v in values.items()}, value=column, else_=sa.null())


def _billed(session: Session, starts: dict[int, tuple[date, str]]):
    """(account id, issue date, revenue) of each invoice and credit note (negative, net
    of tax) issued since each account's start date in the account's currency (account id
    → (date, currency)), in two statements for all the accounts. An amount billed in
    another currency (a local office's invoices) is not added to it: no figure adds
    currencies. A note takes its invoice's share of tax off; a standalone one (a service
    credit waiting for the contract's next invoice) counts in full until it is set
    against one."""
    if not starts:
        return
    since = {a: start for a, (start, _currency) in starts.items()}
    currencies = {a: currency for a, (_start, currency) in starts.items()}
    yield from session.execute(
        sa.select(Invoice.account_id, Invoice.issue_date, Invoice.subtotal)
        .where(Invoice.account_id.in_(list(starts)), Invoice.issue_date >= per_account(Invoice.account_id, since, sa.Date),
               Invoice.currency == per_account(Invoice.account_id, currencies)))
    for account_id, issue_date, amount, subtotal, total in session.execute(
        sa.select(CreditNote.account_id, CreditNote.issue_date, CreditNote.amount, Invoice.subtotal, Invoice.total)
        .outerjoin(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.account_id.in_(list(starts)),
               CreditNote.issue_date >= per_account(CreditNote.account_id, since, sa.Date),
               CreditNote.currency == per_account(CreditNote.account_id, currencies))
    ):
        # A credit note includes tax; revenue is net of it, in the invoice's proportion.
        yield account_id, issue_date, -(amount * subtotal / total if total else amount)


@dataclass
class Dso:
    """Debtor days: receivables ÷ revenue billed over the last ``days`` days × days."""

    receivables: Decimal
    billed: Decimal
    days: int

    @property
    def value(self) -> Decimal | None:
        if self.billed <= 0:
            return None
        return (self.receivables / self.billed * self.days).quantize(Decimal("0.1"))


def dso(session: Session, account: Account, currency: str, on: date | None = None, days: int = DSO_DAYS) -> Dso:
    """DSO on ``on`` in ``currency`` (the contract's): receivables are invoices issued by
    then and not paid by then (total less their credit notes) less the standalone credit
    notes issued by then (the client's, until set against an invoice), billed is invoice
    totals issued in the ``days`` before; amounts in another currency are left out."""
    return dso_by_account(session, {account.id: on or account.today()}, {account.id: currency}, days)[account.id]


def dso_by_account(session: Session, ons: dict[int, date], currencies: dict[int, str],
                   days: int = DSO_DAYS) -> dict[int, Dso]:
    """``dso`` of many accounts, each on its own date (account id → date) and in its own
    currency (account id → currency), in four grouped statements whatever the number
    of accounts."""
    if not ons:
        return {}
    on = per_account(Invoice.account_id, ons, sa.Date)
    since = per_account(Invoice.account_id, {a: day - timedelta(days=days) for a, day in ons.items()}, sa.Date)
    mine = sa.and_(Invoice.account_id.in_(list(ons)), Invoice.currency == per_account(Invoice.account_id, currencies))
    unpaid_then = sa.or_(Invoice.paid_on.is_(None), Invoice.paid_on > on)
    receivable = dict(session.execute(
        sa.select(Invoice.account_id, sa.func.sum(Invoice.total)).where(
            mine, Invoice.issue_date <= on, unpaid_then, Invoice.status != InvoiceStatus.CREDITED)
        .group_by(Invoice.account_id)).all())
    credited_then = dict(session.execute(
        sa.select(Invoice.account_id, sa.func.sum(CreditNote.amount)).join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(mine, CreditNote.issue_date <= on, Invoice.issue_date <= on, unpaid_then,
               Invoice.status != InvoiceStatus.CREDITED)
        .group_by(Invoice.account_id)).all())
    note_on = per_account(CreditNote.account_id, ons, sa.Date)
    standalone_then = dict(session.execute(
        sa.select(CreditNote.account_id, sa.func.sum(CreditNote.amount)).where(
            CreditNote.account_id.in_(list(ons)), CreditNote.invoice_id.is_(None), CreditNote.issue_date <= note_on,
            CreditNote.currency == per_account(CreditNote.account_id, currencies))
        .group_by(CreditNote.account_id)).all())
    billed = dict(session.execute(
        sa.select(Invoice.account_id, sa.func.sum(Invoice.total)).where(
            mine, Invoice.issue_date > since, Invoice.issue_date <= on)
        .group_by(Invoice.account_id)).all())
    owed = {account_id: (receivable.get(account_id) or Decimal(0)) - (credited_then.get(account_id) or Decimal(0))
            - (standalone_then.get(account_id) or Decimal(0)) for account_id in ons}
    return {account_id: Dso(max(owed[account_id], Decimal(0)), billed.get(account_id) or Decimal(0), days)
            for account_id in ons}


def dso_trend(session: Session, account: Account, months: list[date], currency: str) -> list[tuple[date, Decimal | None]]:
    """DSO in ``currency`` at the end of each month (today for the current one)."""
    today = account.today()
    points = []
    for first in months:
        end = min((first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1), today)
        points.append((first, dso(session, account, currency, end).value))
    return points


@dataclass
class RevenueYtd:
    acv: Decimal
    billed: Decimal
    expected: Decimal  # the ACV pro rata to today

    @property
    def variance(self) -> Decimal:
        return self.billed - self.expected


def revenue_ytd(session: Session, account: Account, contract, today: date | None = None) -> RevenueYtd:
    """Billed revenue this calendar year against the ACV pro rata to today: the ACV times
    the share of the year's days the contract has been in force by today (from its start
    or 1 January, whichever is later, to its end or today, whichever is earlier)."""
    today = today or account.today()
    return revenue_ytd_by_account(session, {account.id: (contract, today)})[account.id]


def _acv_pro_rata(contract, today: date) -> Decimal:
    """The ACV times the days of ``today``'s year the contract is in force up to
    ``today`` over the year's days: a contract that started in July is not expected to
    have billed since January, nor one that ended in March since April."""
    year_start = date(today.year, 1, 1)
    first, last = max(contract.start_date, year_start), min(contract.end_date, today)
    in_force = max((last - first).days + 1, 0)
    return quantize_money(contract.annual_value * in_force / (date(today.year + 1, 1, 1) - year_start).days,
                          contract.currency)


def revenue_ytd_by_account(session: Session, contracts: dict[int, tuple]) -> dict[int, RevenueYtd]:
    """``revenue_ytd`` of many accounts (account id → (contract, its today)) in two statements."""
    billed: dict[int, Decimal] = defaultdict(Decimal)
    ends = {account_id: today for account_id, (_contract, today) in contracts.items()}
    for account_id, issue_date, amount in _billed(session, {a: (date(t.year, 1, 1), contract.currency)
                                                           for a, (contract, t) in contracts.items()}):
        if issue_date <= ends[account_id]:  # a past month's figure leaves out what came later
            billed[account_id] += amount
    result = {}
    for account_id, (contract, today) in contracts.items():
        result[account_id] = RevenueYtd(contract.annual_value, quantize_money(billed[account_id], contract.currency),
                                        _acv_pro_rata(contract, today))
    return result


def forecasts(session: Session, account: Account, months: list[date]) -> dict[date, Decimal | None]:
    rows = session.execute(sa.select(RevenueForecast.month, RevenueForecast.amount)
                           .where(RevenueForecast.account_id == account.id, RevenueForecast.month.in_(months)))
    found = dict(rows.all())
    return {m: found.get(m) for m in months}


def set_forecast(session: Session, account: Account, by: User, month: date, amount: Decimal | None, currency: str) -> None:
    """Enter (or clear, with None) the forecast of one month."""
    row = session.scalar(sa.select(RevenueForecast).where(RevenueForecast.account_id == account.id,
                                                          RevenueForecast.month == month_start(month)))
    if amount is None:
        if row is not None:
            session.delete(row)
        return
    if not amount.is_finite() or amount >= MAX_AMOUNT:
        raise DomainError(_l("A forecast is an amount such as 125000.00."))
    if amount < 0:
        raise DomainError(_l("A forecast cannot be negative."))
    if row is None:
        row = RevenueForecast(account_id=account.id, month=month_start(month), currency=currency, amount=amount)
        session.add(row)
    row.amount, row.updated_by_id = amount, by.id
    session.flush()


@dataclass
class PoBalance:
    order: PurchaseOrder
    invoiced: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.order.amount - self.invoiced


def purchase_orders(session: Session, account: Account) -> list[PoBalance]:
    """Each PO with what has been invoiced against it (net of credit notes)."""
    orders = session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.account_id == account.id)
                             .order_by(PurchaseOrder.issued_on.desc())).all()
    invoiced = dict(session.execute(
        sa.select(Invoice.po_number, sa.func.sum(Invoice.total))
        .where(Invoice.account_id == account.id, Invoice.po_number.in_([o.number for o in orders]))
        .group_by(Invoice.po_number)
    ).all())
    credits = dict(session.execute(
        sa.select(Invoice.po_number, sa.func.sum(CreditNote.amount)).join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.account_id == account.id, Invoice.po_number.in_([o.number for o in orders]))
        .group_by(Invoice.po_number)
    ).all())
    return [PoBalance(o, (invoiced.get(o.number) or Decimal(0)) - (credits.get(o.number) or Decimal(0))) for o in orders]


# --- disputes ------------------------------------------------------------------------------


def dispute(session: Session, invoice: Invoice, account: Account, by: User, *, reason: str,
            disputed_lines: list[int] = (), files: list[CheckedFile] = ()) -> ServiceRequest:
    """A client disputes the invoice: a billing enquiry is raised on it (with its SLA
    clock) and the invoice shows ``disputed`` until finance settles it. Of concurrent
    disputes one wins: the invoice is claimed with a conditional update, and the
    database keeps one open enquiry per invoice (migration 0009)."""
    if invoice.status not in UNPAID:
        raise Conflict(_l("Only an unpaid invoice can be disputed."))
    if invoice.status is InvoiceStatus.DISPUTED:
        raise Conflict(_l("This invoice is already disputed."))
    if not reason.strip():
        raise DomainError(_l("Say what is wrong with the invoice."))
    versioning.transition(session, invoice, (InvoiceStatus.ISSUED,), InvoiceStatus.DISPUTED, version=None,
                          conflict=_l("This invoice is already disputed."),
                          status_before_dispute=InvoiceStatus.ISSUED)
    lines = [line for line in invoice.lines if line.id in set(disputed_lines)]
    description = reason.strip()
    if lines:
        description += "\n\n" + "\n".join(f"- {line.description}: {line.quantity.normalize():f} × {line.unit_price.normalize():f}"
                                          for line in lines)
    try:
        with session.begin_nested():
            enquiry = requests.create_request(
                session, account, by, category=RequestCategory.BILLING, priority=Priority.NORMAL,
                subject=str(_l("Dispute of invoice %(number)s", number=invoice.number)), description=description,
                files=list(files), invoice_id=invoice.id,
            )
    except sa.exc.IntegrityError:  # an enquiry is open on the invoice already
        raise Conflict(_l("This invoice is already disputed.")) from None
    audit.record(session, "invoice.disputed", invoice, actor=by, data={"request": enquiry.id, "lines": disputed_lines})
    return enquiry


def issue_credit_note(session: Session, invoice: Invoice, by: User, *, number: str, amount: Decimal, reason: str,
                      issue_date: date) -> CreditNote:
    """Credit (part of) an invoice. Fully credited, it is ``credited``."""
    amount = quantize_money(amount, invoice.currency)
    if amount <= 0:
        raise DomainError(_l("A credit note is for a positive amount."))
    if credited(invoice) + amount > invoice.total:
        raise DomainError(_l("The credit notes would exceed the invoice total."))
    # Credit note numbers are unique across accounts: look beyond the caller's scope.
    with unscoped():
        taken = session.scalar(sa.select(CreditNote.id).where(CreditNote.number == number)) is not None
    if taken:
        raise DomainError(_l("A credit note with this number exists already."))
    note = CreditNote(account_id=invoice.account_id, invoice_id=invoice.id, number=number, issue_date=issue_date,
                      currency=invoice.currency, amount=amount, reason=reason.strip())
    invoice.credit_notes.append(note)
    session.flush()
    if credited(invoice) >= invoice.total:
        invoice.status = InvoiceStatus.CREDITED
    audit.record(session, "invoice.credited", invoice, actor=by, data={"credit_note": number, "amount": str(amount)})
    return note


def release_invoice(session: Session, invoice: Invoice, by: User, *, reason: str) -> None:
    """Finance releases an invoice held because a line's unit price is not the
    contract's: it stands as invoiced, and the client sees it (and a service credit that
    waited for the contract's next invoice is set against it). An audit event keeps the
    reason and each line's difference."""
    if invoice.held_at is None:
        raise Conflict(_l("This invoice is not held."))
    if not reason.strip():
        raise DomainError(_l("Say why the invoice stands at these prices."), fields={"reason": "required"})
    from portal.credits.service import set_against_new_invoices

    invoice.held_at = None
    session.flush()
    audit.record(session, "invoice.released", invoice, actor=by, data={
        "number": invoice.number, "reason": reason.strip(),
        "lines": [{"position": line.position, "expected_unit_price": None if line.expected_unit_price is None
                   else str(line.expected_unit_price), "unit_price": str(line.unit_price)}
                  for line in invoice.price_variances]})
    set_against_new_invoices(session, {invoice.account_id}, by)


def settle_dispute(session: Session, invoice: Invoice, account: Account, by: User, *, explanation: str,
                   credit: tuple[str, Decimal] | None = None) -> None:
    """Finance settles the dispute: with a credit note, or explained and closed. The
    invoice leaves ``disputed``; the billing enquiry is resolved with the explanation."""
    if invoice.status is not InvoiceStatus.DISPUTED:
        raise Conflict(_l("This invoice is not disputed."))
    if not explanation.strip():
        raise DomainError(_l("Explain how the dispute is settled."))
    invoice.status = invoice.status_before_dispute or InvoiceStatus.ISSUED
    invoice.status_before_dispute = None
    if credit is not None:
        number, amount = credit
        issue_credit_note(session, invoice, by, number=number, amount=amount, reason=explanation,
                          issue_date=account.today())
    enquiries = session.scalars(sa.select(ServiceRequest).where(
        ServiceRequest.invoice_id == invoice.id, ServiceRequest.status.in_(requests.OPEN_STATUSES))).all()
    for enquiry in enquiries:
        requests.add_comment(session, enquiry, account, by, explanation)
        requests.change_status(session, enquiry, account, by, RequestStatus.RESOLVED)
    audit.record(session, "invoice.dispute_settled", invoice, actor=by,
                 data={"credit_note": credit[0] if credit else None})
