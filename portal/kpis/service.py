"""The monthly scorecard: per KPI the attainment and a red/amber/green status, the
share of KPIs met against the 85 % bar, the weighted overall attainment, and trends.

* Attainment is actual ÷ target where higher is better, target ÷ actual where lower is
  better (a lower-is-better actual of 0 meets any target: attainment 1).
* Green when the target is met (attainment ≥ 1); amber when it misses by no more than
  the KPI's tolerance (attainment ≥ 1 − tolerance); red beyond.
* The overall attainment is the weighted mean of the KPIs' attainments, each capped at
  100 %, so that over-delivering on one KPI cannot hide a miss on another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from docgen.formatting import plain_decimal as plain
from portal import audit
from portal.accounts import current_contract
from portal.domain import Conflict, DomainError
from portal.billing.service import months_back
from portal.models import (
    Account,
    Contract,
    Kpi,
    KpiComment,
    KpiDirection,
    KpiMeasurement,
    ScorecardAcknowledgement,
    User,
)
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify

MET_BAR = Decimal("0.85")  # the seeds' bar: over 85 % of KPIs met, month over month
RATIO = Decimal("0.0001")


def attainment(kpi: Kpi, actual: Decimal) -> Decimal:
    if kpi.direction is KpiDirection.HIGHER:
        value = actual / kpi.target if kpi.target else Decimal(1)
    else:
        value = kpi.target / actual if actual else Decimal(1)
    return value.quantize(RATIO, ROUND_HALF_UP)


def status(kpi: Kpi, value: Decimal) -> str:
    if value >= 1:
        return "green"
    if value >= 1 - kpi.amber_tolerance:
        return "amber"
    return "red"


@dataclass
class KpiRow:
    kpi: Kpi
    target: Decimal
    actual: Decimal | None
    attainment: Decimal | None
    status: str  # green, amber, red, or none (no actual this month)
    change: Decimal | None  # attainment change from last month
    comment: str

    @property
    def met(self) -> bool:
        return self.status == "green"


@dataclass
class Scorecard:
    account: Account
    contract: Contract | None
    period: date
    rows: list[KpiRow]

    @property
    def measured(self) -> list[KpiRow]:
        return [row for row in self.rows if row.attainment is not None]

    @property
    def kpis_met_ratio(self) -> Decimal | None:
        measured = self.measured
        if not measured:
            return None
        return (Decimal(sum(row.met for row in measured)) / len(measured)).quantize(RATIO, ROUND_HALF_UP)

    @property
    def meets_bar(self) -> bool:
        ratio = self.kpis_met_ratio
        return ratio is not None and ratio > MET_BAR

    @property
    def rag(self) -> str:
        """The month at a glance: its worst KPI's status (red, amber, green; none unmeasured)."""
        statuses = {row.status for row in self.measured}
        return next((s for s in ("red", "amber", "green") if s in statuses), "none")

    @property
    def overall_attainment(self) -> Decimal | None:
        measured = self.measured
        weight = sum((row.kpi.weight for row in measured), Decimal(0))
        if not measured or not weight:
            return None
        total = sum((row.kpi.weight * min(row.attainment, Decimal(1)) for row in measured), Decimal(0))
        return (total / weight).quantize(RATIO, ROUND_HALF_UP)


def parse_period(value: str | None) -> date | None:
    """``YYYY-MM`` → the first day of that month (None when malformed)."""
    try:
        year, month = (value or "").split("-")
        return date(int(year), int(month), 1) if len(year) == 4 and len(month) == 2 else None
    except ValueError:
        return None


def previous_month(period: date) -> date:
    return (period - timedelta(days=1)).replace(day=1)


def measurements(session: Session, kpis: list[Kpi], periods: list[date]) -> dict[tuple[int, date], KpiMeasurement]:
    if not kpis:
        return {}
    rows = session.scalars(sa.select(KpiMeasurement).where(
        KpiMeasurement.kpi_id.in_([k.id for k in kpis]), KpiMeasurement.period.in_(periods)))
    return {(m.kpi_id, m.period): m for m in rows}


def scorecard(session: Session, account: Account, period: date) -> Scorecard:
    contract = current_contract(session, account, period)
    kpis = list(contract.kpis) if contract else []
    return card_from(account, contract, period, measurements(session, kpis, [period, previous_month(period)]))


def card_from(account: Account, contract: Contract | None, period: date,
              actuals: dict[tuple[int, date], KpiMeasurement]) -> Scorecard:
    """The month's scorecard from the actuals (by KPI id and month) of ``period`` and the
    month before, loaded by the caller (the portfolio loads every account's at once)."""
    kpis = list(contract.kpis) if contract else []
    last = previous_month(period)
    rows = []
    for kpi in kpis:
        now, before = actuals.get((kpi.id, period)), actuals.get((kpi.id, last))
        value = attainment(kpi, now.actual) if now else None
        previous = attainment(kpi, before.actual) if before else None
        rows.append(KpiRow(
            kpi=kpi, target=kpi.target, actual=now.actual if now else None, attainment=value,
            status=status(kpi, value) if value is not None else "none",
            change=(value - previous) if value is not None and previous is not None else None,
            comment=now.comment if now else "",
        ))
    return Scorecard(account, contract, period, rows)


@dataclass
class Trend:
    months: list[date]
    per_kpi: dict[int, list[Decimal | None]]  # kpi id → attainment per month
    overall: list[Decimal | None]
    met_ratio: list[Decimal | None]


def trend(session: Session, account: Account, period: date, months: int = 12) -> Trend:
    """Attainment per KPI, overall attainment and share met, for the ``months`` to ``period``."""
    periods = months_back(period, months)
    contract = current_contract(session, account, period)
    kpis = list(contract.kpis) if contract else []
    actuals = measurements(session, kpis, periods)
    per_kpi: dict[int, list[Decimal | None]] = {}
    for kpi in kpis:
        per_kpi[kpi.id] = [attainment(kpi, actuals[(kpi.id, p)].actual) if (kpi.id, p) in actuals else None
                           for p in periods]
    overall, met = [], []
    for index, p in enumerate(periods):
        rows = [KpiRow(k, k.target, None, per_kpi[k.id][index],
                       status(k, per_kpi[k.id][index]) if per_kpi[k.id][index] is not None else "none", None, "")
                for k in kpis]
        card = Scorecard(account, contract, p, rows)
        overall.append(card.overall_attainment)
        met.append(card.kpis_met_ratio)
    return Trend(periods, per_kpi, overall, met)


# --- the client's side -----------------------------------------------------------------


def acknowledgement(session: Session, account: Account, period: date) -> ScorecardAcknowledgement | None:
    return session.scalar(sa.select(ScorecardAcknowledgement).where(
        ScorecardAcknowledgement.account_id == account.id, ScorecardAcknowledgement.period == period))


def last_measured_month(session: Session, account: Account) -> date | None:
    """The latest month with an actual of the account's KPIs: the scorecard's months end there."""
    return session.scalar(sa.select(sa.func.max(KpiMeasurement.period)).where(KpiMeasurement.account_id == account.id))


def acknowledge(session: Session, account: Account, by: User, period: date) -> ScorecardAcknowledgement:
    """The client confirms having reviewed the month (once per month and account): a
    month with figures, not one still to come or not yet measured."""
    existing = acknowledgement(session, account, period)
    if existing is not None:
        return existing
    measured = session.scalar(sa.select(sa.exists().where(KpiMeasurement.account_id == account.id,
                                                          KpiMeasurement.period == period)))
    if not measured:
        raise Conflict(_l("This month has no figures yet: there is nothing to acknowledge."))
    ack = ScorecardAcknowledgement(account_id=account.id, period=period, user_id=by.id, acknowledged_at=utcnow())
    session.add(ack)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # acknowledged at the same moment by a colleague
        return acknowledgement(session, account, period)
    audit.record(session, "scorecard.acknowledged", ack, actor=by, data={"period": period.isoformat()})
    return ack


def comments(session: Session, account: Account, period: date) -> dict[int, list[KpiComment]]:
    rows = session.scalars(sa.select(KpiComment).where(KpiComment.account_id == account.id, KpiComment.period == period)
                           .options(selectinload(KpiComment.author)).order_by(KpiComment.created_at))
    threads: dict[int, list[KpiComment]] = {}
    for comment in rows:
        threads.setdefault(comment.kpi_id, []).append(comment)
    return threads


def add_comment(session: Session, account: Account, kpi: Kpi, by: User, period: date, body: str) -> KpiComment:
    """Comment on a KPI's month. A client's comment asks the account managers; their
    answer goes back to the client users who wrote in the thread."""
    body = body.strip()
    if not body:
        raise DomainError(_l("Write a comment first."))
    comment = KpiComment(account_id=account.id, kpi_id=kpi.id, period=period, author_id=by.id, body=body)
    session.add(comment)
    session.flush()
    from portal.accounts import account_managers

    if by.is_client:
        recipients = [Recipient.of_user(u) for u in account_managers(session, account)]
    else:
        earlier = session.scalars(sa.select(KpiComment).where(KpiComment.kpi_id == kpi.id, KpiComment.period == period)
                                  .options(selectinload(KpiComment.author))).all()
        recipients = [Recipient.of_user(c.author) for c in earlier if c.author and c.author.is_client]
    notify(session, "kpi_comment", [r for r in recipients if r.user_id != by.id], account_id=account.id,
           kpi=kpi, comment=comment, author=by, period=period,
           url=link(f"/scorecards/{account.id}?period={period:%Y-%m}#kpi-{kpi.id}"))
    return comment


# --- KPI definitions --------------------------------------------------------------------

KPI_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


@dataclass
class KpiDefinition:
    """What the firm writes of a contract KPI; ``amber_tolerance`` is a share (0.05)."""

    code: str
    name: dict[str, str]
    unit: str
    target: Decimal
    direction: KpiDirection
    weight: Decimal = Decimal(1)
    amber_tolerance: Decimal = Decimal("0.05")
    is_sla: bool = False
    service_credit_percent: Decimal | None = None
    credit_scope_line_ids: list[int] = field(default_factory=list)  # none: all the contract's lines
    # The contract's caps on its service credits, per month and per contract year (percent;
    # None: uncapped), saved with the KPI; the whole pair None: left as they are.
    credit_caps: tuple[Decimal | None, Decimal | None] | None = None


def save_kpi(session: Session, contract: Contract, by: User, definition: KpiDefinition, kpi: Kpi | None = None) -> Kpi:
    """Add a KPI to ``contract``, or change ``kpi``. Codes are unique per contract
    (imports and plans name KPIs by code). The change is an audit event with the
    values before and after: a new target also changes past months' attainment."""
    code = definition.code.strip()
    if not KPI_CODE.fullmatch(code):
        raise DomainError(_l("A code is up to 40 letters, digits, '-', '_' or '.'."), fields={"code": "invalid"})
    name = {lang: text.strip() for lang, text in definition.name.items() if text and text.strip()}
    if not name.get("en"):
        raise DomainError(_l("Name the KPI in English."), fields={"name_en": "invalid"})
    if definition.is_sla and definition.service_credit_percent is None:
        raise DomainError(_l("An SLA needs its service credit."), fields={"service_credit_percent": "invalid"})
    lines = {line.id for line in contract.scope_lines}
    if not set(definition.credit_scope_line_ids) <= lines:
        raise DomainError(_l("Choose lines of this contract."), fields={"credit_scope_lines": "invalid"})
    taken = sa.select(Kpi.id).where(Kpi.contract_id == contract.id, Kpi.code == code)
    if kpi is not None:
        taken = taken.where(Kpi.id != kpi.id)
    if session.scalar(taken) is not None:
        raise Conflict(_l("This contract has a KPI with this code already."), fields={"code": "invalid"})
    values = {
        "code": code, "name": name, "unit": definition.unit.strip(), "target": definition.target,
        "direction": definition.direction, "weight": definition.weight, "amber_tolerance": definition.amber_tolerance,
        "is_sla": definition.is_sla,
        "service_credit_percent": definition.service_credit_percent if definition.is_sla else None,
        "credit_scope_line_ids": sorted(definition.credit_scope_line_ids) if definition.is_sla else [],
    }
    _save_credit_caps(session, contract, by, definition)
    before = None
    if kpi is None:
        position = session.scalar(sa.select(sa.func.max(Kpi.position)).where(Kpi.contract_id == contract.id))
        kpi = Kpi(account_id=contract.account_id, contract_id=contract.id, position=(position or 0) + 1)
        session.add(kpi)
    else:
        before = _definition_json(kpi)
    for key, value in values.items():
        setattr(kpi, key, value)
    session.flush()
    after = _definition_json(kpi)
    if before == after:
        return kpi
    audit.record(session, "kpi.created" if before is None else "kpi.updated", kpi, actor=by,
                 data={"contract": contract.number, "before": before, "after": after})
    return kpi


def _save_credit_caps(session: Session, contract: Contract, by: User, definition: KpiDefinition) -> None:
    """The contract's caps on service credits, changed where a KPI is saved: an audit event."""
    before = (contract.credit_cap_month_percent, contract.credit_cap_year_percent)
    after = definition.credit_caps
    if after is None or before == after:
        return
    contract.credit_cap_month_percent, contract.credit_cap_year_percent = after
    audit.record(session, "contract.credit_caps_changed", contract, actor=by,
                 data={"before": [plain(v) for v in before], "after": [plain(v) for v in after]})


def _definition_json(kpi: Kpi) -> dict:
    return {"code": kpi.code, "name": dict(kpi.name), "unit": kpi.unit, "target": plain(kpi.target),
            "direction": kpi.direction.value, "weight": plain(kpi.weight),
            "amber_tolerance": plain(kpi.amber_tolerance), "is_sla": kpi.is_sla,
            "service_credit_percent": plain(kpi.service_credit_percent),
            "credit_scope_line_ids": list(kpi.credit_scope_line_ids or [])}
