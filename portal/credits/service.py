"""Service credits: an SLA KPI that missed its target in a month owes the client a
credit, finance reviews it, and an approved credit is a credit note.

The contract's rule, as ``propose`` applies it:

* A KPI marked SLA breaches in a month when its actual misses the target in its
  direction: the scorecard's rule (``portal.kpis.service``), so exactly on target is met.
* Its credit is ``service_credit_percent`` of the month's charge of each scope line it
  covers (``Kpi.credit_scope_line_ids``; none named: every line of the contract in force
  at the month's end). A line's monthly charge is a twelfth of its yearly amount
  (quantity × unit price, the quantity being per year), rounded to the currency.
* Then the contract's caps, in this order: the month cap (a percentage of the month's
  charge of all its lines) on the sum of the contract's credits of the month, then the
  year cap (a percentage of the ACV) on the sum of its credits of the *contract year*
  (twelve months from the month the contract started in, as a contract's clause counts
  its years). Credits counted before this one are the contract's earlier months', and
  in the same month those already approved and those of KPIs listed before it; an
  approved credit of a later month of the contract year counts too (it is decided: its
  share is taken); waived credits count for nothing. The calculation keeps each cap
  with what it took off.

Finance may approve a credit at another amount than the computed one, but never at more
than the caps leave for it when it approves (``cap_room``): the caps are the contract's.

A proposed credit is computed again when the month is run again (a corrected actual, a
changed rule), and dropped if the KPI no longer breaches; an approved or waived one is
never changed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from docgen.formatting import plain_decimal, quantize_money
from portal import audit, versioning
from portal.billing.service import credited, issue_credit_note
from portal.credits.documents import credit_note_document
from portal.credits.notices import tell_clients
from portal.domain import DomainError
from portal.i18n import money
from portal.kpis.service import attainment, status as kpi_status
from portal.models import (
    Account,
    Contract,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Kpi,
    KpiMeasurement,
    Role,
    ServiceCredit,
    ServiceCreditStatus,
    User,
)
from portal.models.base import utcnow
from portal.sequences import next_value

HUNDRED = Decimal(100)
DECIDERS = (Role.FINANCE, Role.ADMIN)  # who approves or waives a credit
CREDIT_NOTE_PREFIX = "SC"


def month_end(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def add_months(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def contract_year(contract: Contract, period: date) -> tuple[date, date]:
    """The first months of the contract year ``period`` is in and of the next one."""
    started = contract.start_date.replace(day=1)
    years = max((period.year - started.year) * 12 + period.month - started.month, 0) // 12
    first = add_months(started, 12 * years)
    return first, add_months(first, 12)


def breached(kpi: Kpi, actual: Decimal) -> bool:
    """Whether ``actual`` misses the KPI's target: the scorecard's green is met."""
    return kpi_status(kpi, attainment(kpi, actual)) != "green"


def lines_in_force(contract: Contract, period: date) -> list:
    """The contract's scope lines in force at the end of the month ``period``."""
    last = month_end(period)
    return [line for line in contract.scope_lines
            if (line.added_on is None or line.added_on <= last)
            and (line.removed_at is None or line.removed_at.date() > last)]


def monthly_charge(line, currency: str) -> Decimal:
    return quantize_money(line.quantity * line.unit_price / 12, currency)


def _kpi_order(kpi: Kpi) -> tuple[int, int]:
    return kpi.position, kpi.id


@dataclass
class Computed:
    amount: Decimal
    calculation: dict


def compute(session: Session, contract: Contract, kpi: Kpi, period: date, actual: Decimal,
            credit: ServiceCredit | None = None) -> Computed:
    """The credit ``kpi``'s miss in ``period`` earns under the contract's rule, with the
    calculation line by line (see the module's docstring)."""
    currency = contract.currency
    percent = kpi.service_credit_percent or Decimal(0)
    in_force = lines_in_force(contract, period)
    covered_ids = set(kpi.credit_scope_line_ids or [])
    covered = [line for line in in_force if line.id in covered_ids] if covered_ids else in_force
    lines = []
    for line in covered:
        charge = monthly_charge(line, currency)
        lines.append({"scope_line_id": line.id, "service": dict(line.service), "unit": line.unit,
                      "monthly_charge": plain_decimal(charge), "percent": plain_decimal(percent),
                      "amount": plain_decimal(quantize_money(charge * percent / HUNDRED, currency))})
    subtotal = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
    amount, caps = subtotal, []
    year_first, year_next = contract_year(contract, period)
    for found in _caps(session, contract, kpi, period, credit, in_force):
        allowed = min(amount, found.room)
        cap = {"cap": found.kind, "percent": plain_decimal(found.percent), "base": plain_decimal(found.base),
               "limit": plain_decimal(found.limit), "used": plain_decimal(found.used),
               "before": plain_decimal(amount), "reduction": plain_decimal(amount - allowed), "after": plain_decimal(allowed)}
        if found.kind == "year":
            cap.update(year_from=year_first.isoformat(), year_to=(year_next - timedelta(days=1)).isoformat())
        caps.append(cap)
        amount = allowed
    calculation = {
        "kpi": {"code": kpi.code, "name": dict(kpi.name), "unit": kpi.unit, "target": plain_decimal(kpi.target),
                "actual": plain_decimal(actual), "direction": kpi.direction.value},
        "currency": currency, "percent": plain_decimal(percent), "lines": lines,
        "subtotal": plain_decimal(subtotal), "caps": caps, "amount": plain_decimal(amount),
    }
    return Computed(amount, calculation)


@dataclass
class Cap:
    """One of the contract's caps as it stands for a credit: its limit, what the credits
    counted before this one used of it, and the room left."""

    kind: str  # month or year
    percent: Decimal
    base: Decimal
    limit: Decimal
    used: Decimal

    @property
    def room(self) -> Decimal:
        return max(self.limit - self.used, Decimal(0))


def _caps(session: Session, contract: Contract, kpi: Kpi, period: date, credit: ServiceCredit | None,
          in_force: list) -> list[Cap]:
    """The contract's caps on ``kpi``'s credit of ``period``, month first: none when the
    contract sets none."""
    currency = contract.currency
    others = _counted_before(session, contract, kpi, period, credit)
    year_first, year_next = contract_year(contract, period)
    month_base = sum((monthly_charge(line, currency) for line in in_force), Decimal(0))
    caps = []
    for kind, cap_percent, base, used in (
        ("month", contract.credit_cap_month_percent, month_base,
         sum((c.amount for c in others if c.period == period), Decimal(0))),
        ("year", contract.credit_cap_year_percent, contract.annual_value,
         sum((c.amount for c in others if year_first <= c.period < year_next), Decimal(0))),
    ):
        if cap_percent is not None:
            caps.append(Cap(kind, cap_percent, base, quantize_money(base * cap_percent / HUNDRED, currency), used))
    return caps


def cap_room(session: Session, credit: ServiceCredit) -> Decimal | None:
    """The most the contract's caps leave for ``credit`` now: the least room of its month
    cap and its contract-year cap, counting the credits the caps count before it (None:
    the contract sets no cap)."""
    contract = credit.contract
    caps = _caps(session, contract, credit.kpi, credit.period, credit, lines_in_force(contract, credit.period))
    return min((cap.room for cap in caps), default=None)


def _counted_before(session: Session, contract: Contract, kpi: Kpi, period: date,
                    credit: ServiceCredit | None) -> list[ServiceCredit]:
    """The contract's credits that the caps count before this one (see the module)."""
    year_first, year_next = contract_year(contract, period)
    rows = session.scalars(sa.select(ServiceCredit).where(
        ServiceCredit.contract_id == contract.id, ServiceCredit.status != ServiceCreditStatus.WAIVED,
        ServiceCredit.period >= min(year_first, period), ServiceCredit.period < year_next,
    ).options(selectinload(ServiceCredit.kpi)))
    mine = _kpi_order(kpi)
    return [c for c in rows if (credit is None or c.id != credit.id) and (
        c.period < period or c.status is ServiceCreditStatus.APPROVED
        or (c.period == period and _kpi_order(c.kpi) < mine))]


@dataclass
class Proposed:
    proposed: int = 0  # new proposals
    recomputed: int = 0  # proposals computed again (changed or not)
    dropped: int = 0  # proposals whose KPI no longer breaches
    decided: int = 0  # breaches already decided: left as they are


def propose(session: Session, period: date, *, accounts: list[Account] | None = None,
            by: User | None = None) -> Proposed:
    """Propose the month's service credits of every SLA KPI that missed its target in
    ``period`` (of ``accounts``, else of every account the caller sees): idempotent."""
    query = (sa.select(KpiMeasurement).join(Kpi, Kpi.id == KpiMeasurement.kpi_id)
             .where(KpiMeasurement.period == period, Kpi.is_sla.is_(True))
             .options(selectinload(KpiMeasurement.kpi).selectinload(Kpi.contract).selectinload(Contract.scope_lines)))
    if accounts is not None:
        query = query.where(KpiMeasurement.account_id.in_([a.id for a in accounts]))
    measurements = sorted(session.scalars(query), key=lambda m: (m.kpi.contract_id, _kpi_order(m.kpi)))
    existing = {c.kpi_id: c for c in session.scalars(sa.select(ServiceCredit).where(
        ServiceCredit.period == period, ServiceCredit.kpi_id.in_([m.kpi_id for m in measurements])))}
    result = Proposed()
    for measurement in measurements:
        kpi, credit = measurement.kpi, existing.get(measurement.kpi_id)
        if credit is not None and credit.status is not ServiceCreditStatus.PROPOSED:
            result.decided += 1
            continue
        if not breached(kpi, measurement.actual):
            if credit is not None:
                audit.record(session, "service_credit.dropped", credit, actor=by,
                             data={"kpi": kpi.code, "period": period.isoformat()})
                session.delete(credit)
                session.flush()
                result.dropped += 1
            continue
        computed = compute(session, kpi.contract, kpi, period, measurement.actual, credit)
        if credit is None:
            credit = ServiceCredit(account_id=kpi.account_id, contract_id=kpi.contract_id, kpi_id=kpi.id, period=period,
                                   currency=kpi.contract.currency, status=ServiceCreditStatus.PROPOSED, reason="")
            session.add(credit)
            result.proposed += 1
        else:
            result.recomputed += 1
        changed = credit.computed_amount != computed.amount or credit.calculation != computed.calculation
        credit.calculation, credit.computed_amount, credit.amount = computed.calculation, computed.amount, computed.amount
        session.flush()
        if changed:
            audit.record(session, "service_credit.proposed", credit, actor=by,
                         data={"kpi": kpi.code, "period": period.isoformat(), "amount": str(computed.amount)})
    return result


# --- finance's decisions ---------------------------------------------------------------


def _decide(session: Session, credit: ServiceCredit, status: ServiceCreditStatus, by: User) -> None:
    """Move a proposed credit to ``status``, or 409 when someone decided it meanwhile:
    the kernel's conditional transition lets exactly one of two concurrent decisions through."""
    versioning.transition(session, credit, (ServiceCreditStatus.PROPOSED,), status, version=None,
                          conflict=_l("This service credit is already decided."), decided_by_id=by.id,
                          decided_at=utcnow())


def approve(session: Session, credit: ServiceCredit, account: Account, by: User, *, amount: Decimal | None = None,
            reason: str = "") -> CreditNote:
    """Finance approves the credit, at the computed amount or at ``amount`` with a
    reason, never above what the contract's caps leave for it (``cap_room``), and
    issues its credit note (``issue_credit_note``)."""
    reason = reason.strip()
    final = credit.computed_amount if amount is None else quantize_money(amount, credit.currency)
    if final <= 0:
        raise DomainError(_l("A credit is for a positive amount: waive it instead."), fields={"amount": "invalid"})
    if final != credit.computed_amount and not reason:
        raise DomainError(_l("Say why the amount differs from the computed one."), fields={"reason": "required"})
    room = cap_room(session, credit)
    if room is not None and final > room:
        raise DomainError(_l("The contract's caps leave at most %(amount)s for this credit.",
                             amount=money(room, credit.currency)),
                          fields={"amount": "above the contract's caps"})
    _decide(session, credit, ServiceCreditStatus.APPROVED, by)
    if final != credit.computed_amount:
        audit.record(session, "service_credit.adjusted", credit, actor=by,
                     data={"computed": str(credit.computed_amount), "amount": str(final), "reason": reason})
    credit.amount, credit.reason = final, reason
    audit.record(session, "service_credit.approved", credit, actor=by, chained=True,
                 data={"kpi": credit.kpi.code, "period": credit.period.isoformat(), "amount": str(final)})
    return issue_credit_note_for(session, credit, account, by)


def waive(session: Session, credit: ServiceCredit, by: User, *, reason: str) -> None:
    """Finance decides no credit is due (a reason is required): no credit note."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_l("Say why the credit is waived."), fields={"reason": "required"})
    _decide(session, credit, ServiceCreditStatus.WAIVED, by)
    credit.reason = reason
    audit.record(session, "service_credit.waived", credit, actor=by,
                 data={"kpi": credit.kpi.code, "period": credit.period.isoformat(), "reason": reason})


def next_credit_note_number(session: Session, year: int) -> str:
    """SC-2026-0001: the service credits' own gap-free series, per year."""
    value = next_value(session, f"credit_note:{CREDIT_NOTE_PREFIX}:{year}")
    return f"{CREDIT_NOTE_PREFIX}-{year}-{value:04d}"


def invoice_to_credit(session: Session, credit: ServiceCredit) -> Invoice | None:
    """The contract's next invoice in the credit's currency with room for it: the first
    issued (unpaid, undisputed) one for a period after the credit's month, else None."""
    candidates = session.scalars(sa.select(Invoice).where(
        Invoice.account_id == credit.account_id, Invoice.contract_id == credit.contract_id,
        Invoice.currency == credit.currency, Invoice.status == InvoiceStatus.ISSUED,
        Invoice.period_start > credit.period,
        Invoice.held_at.is_(None),  # one the client sees: a held invoice may yet be replaced
    ).options(selectinload(Invoice.credit_notes)).order_by(Invoice.issue_date, Invoice.id))
    return next((i for i in candidates if i.total - credited(i) >= credit.amount), None)


def issue_credit_note_for(session: Session, credit: ServiceCredit, account: Account, by: User) -> CreditNote:
    """The approved credit's credit note (against the next invoice with room, else
    standalone), its document in the account's languages, and the client told."""
    today = account.today()
    number = next_credit_note_number(session, today.year)
    reason = credit_note_reason(credit)
    invoice = invoice_to_credit(session, credit)
    if invoice is not None:
        note = issue_credit_note(session, invoice, by, number=number, amount=credit.amount, reason=reason,
                                 issue_date=today)
    else:
        note = CreditNote(account_id=credit.account_id, invoice_id=None, number=number, issue_date=today,
                          currency=credit.currency, amount=credit.amount, reason=reason)
        session.add(note)
        session.flush()
    credit.credit_note_id = note.id
    credit.credit_note = note
    audit.record(session, "credit_note.issued", note, actor=by,
                 data={"number": number, "amount": str(note.amount), "service_credit": credit.id,
                       "invoice": invoice.number if invoice else None})
    document = credit_note_document(session, credit, note, invoice, account, by)
    credit.document_id = document.id
    session.flush()
    tell_clients(session, credit, note, account)
    return note


def set_against_new_invoices(session: Session, account_ids: Collection[int], by: User | None = None) -> list[CreditNote]:
    """Set each standalone credit note of these accounts (an approved credit that no open
    invoice had room for) against the contract's next invoice that now has room, as its
    document promises: an invoice imported, or released from finance's review, since.
    Oldest note first; an invoice takes as many as it has room for, and one credited in
    full is ``credited``. Returns the notes set. The callers: the invoice import, after it
    wrote its invoices, and the release of a held invoice."""
    if not account_ids:
        return []
    waiting = session.execute(
        sa.select(CreditNote, ServiceCredit).join(ServiceCredit, ServiceCredit.credit_note_id == CreditNote.id)
        .where(CreditNote.invoice_id.is_(None), CreditNote.account_id.in_(sorted(account_ids)))
        .order_by(CreditNote.issue_date, CreditNote.id)).all()
    applied = []
    for note, credit in waiting:
        invoice = invoice_to_credit(session, credit)
        if invoice is None:
            continue
        invoice.credit_notes.append(note)
        session.flush()
        if credited(invoice) >= invoice.total:
            invoice.status = InvoiceStatus.CREDITED
        audit.record(session, "credit_note.set_against_invoice", note, actor=by,
                     data={"number": note.number, "invoice": invoice.number, "amount": str(note.amount)})
        applied.append(note)
    return applied


def credit_note_reason(credit: ServiceCredit) -> str:
    """The note's reason as the billing system reads it (English, like imported ones)."""
    name = credit.kpi.name.get("en") or credit.kpi.code
    return f"Service credit under the SLA: {name} missed its target in {credit.period:%B %Y}."


# --- what readers see ------------------------------------------------------------------


def credits_for(session: Session, *, account_id: int | None = None, period: date | None = None,
                status: ServiceCreditStatus | None = None) -> list[ServiceCredit]:
    """The credits the caller sees (a client: approved only, by the scope's policy)."""
    query = sa.select(ServiceCredit).options(selectinload(ServiceCredit.kpi), selectinload(ServiceCredit.credit_note))
    if account_id is not None:
        query = query.where(ServiceCredit.account_id == account_id)
    if period is not None:
        query = query.where(ServiceCredit.period == period)
    if status is not None:
        query = query.where(ServiceCredit.status == status)
    return list(session.scalars(query.order_by(ServiceCredit.period.desc(), ServiceCredit.id.desc())))


def earned(session: Session, account: Account, period: date) -> dict[int, ServiceCredit]:
    """The month's approved credits by KPI id (the scorecard shows them)."""
    return {c.kpi_id: c for c in credits_for(session, account_id=account.id, period=period,
                                             status=ServiceCreditStatus.APPROVED)}
