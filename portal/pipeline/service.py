"""Opportunities: the firm's own record of more business it may win on an account.

* An opportunity is the firm's only (``FirmOnly``): clients never see one, nor its
  lines, nor its quotations, through any page, the API, search or the inbox.
* Its value follows its lines when it has any (quantity × unit price, rounded to the
  currency); without lines it is the value the user gives.
* A stage starts with its probability (``STAGE_PROBABILITY``), which the user may
  change; every move of stage is an audit event.
* A client's scope request becomes an opportunity (``from_request``); a won one becomes a
  change request draft with its lines (``to_change_request``), through the change
  request service's own ``create_draft``, and each keeps the link to the other.
* The pipeline (``pipeline``) sums the open opportunities (identified, qualified,
  proposed) per account manager and quarter of expected close, weighted by probability,
  per currency: currencies are never added together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from docgen.formatting import quantize_money
from portal import audit
from portal.change_requests import service as change_requests
from portal.domain import Conflict, DomainError
from portal.models import (
    STAGE_PROBABILITY,
    Account,
    ChangeRequest,
    Contract,
    LineChange,
    Opportunity,
    OpportunityLine,
    OpportunitySource,
    OpportunityStage,
    Plan,
    RequestCategory,
    ServiceRequest,
    User,
)
from portal.security import ISSUERS

OPEN_STAGES = (OpportunityStage.IDENTIFIED, OpportunityStage.QUALIFIED, OpportunityStage.PROPOSED)
NO_DATE = ""  # the quarter of an opportunity with no expected close


@dataclass
class LineInput:
    """One line as a form or the API gives it."""

    description: dict[str, str]
    unit: str
    quantity: Decimal
    unit_price: Decimal


def _clean(texts: dict[str, str]) -> dict[str, str]:
    return {lang: text.strip() for lang, text in (texts or {}).items() if text and text.strip()}


def _lines(lines: list[LineInput]) -> list[OpportunityLine]:
    built = []
    for position, line in enumerate(lines, start=1):
        description = _clean(line.description)
        if not description:
            raise DomainError(_l("Describe each line."), fields={f"lines.{position}.description": "required"})
        if line.quantity <= 0 or line.unit_price < 0:
            raise DomainError(_l("A line needs a positive quantity and a unit price of zero or more."),
                              fields={f"lines.{position}": "invalid"})
        built.append(OpportunityLine(position=position, description=description, unit=line.unit.strip(),
                                     quantity=line.quantity, unit_price=line.unit_price))
    return built


def lines_value(lines: list[OpportunityLine], currency: str) -> Decimal:
    """The value the lines make: each line's amount rounded to the currency, summed."""
    return sum((quantize_money(line.quantity * line.unit_price, currency) for line in lines), Decimal(0))


def _apply(opportunity: Opportunity, *, title: dict[str, str], value: Decimal | None, currency: str,
           probability: int | None, expected_close: date | None, notes: str, owner: User | None,
           lines: list[LineInput]) -> None:
    title = _clean(title)
    if not title:
        raise DomainError(_l("Give the opportunity a title."), fields={"title": "required"})
    if probability is not None and not 0 <= probability <= 100:
        raise DomainError(_l("A probability is between 0 and 100 %."), fields={"probability": "invalid"})
    if owner is not None and not (owner.active and owner.role in ISSUERS):
        raise DomainError(_l("Choose an owner from the firm's account managers."),
                          fields={"owner_id": "not a firm user who may own an opportunity"})
    built = _lines(lines)
    opportunity.title, opportunity.currency, opportunity.expected_close = title, currency.upper(), expected_close
    opportunity.notes, opportunity.owner = (notes or "").strip(), owner
    opportunity.owner_id = owner.id if owner else None
    if probability is not None:
        opportunity.probability = probability
    opportunity.lines.clear()
    opportunity.lines.extend(built)
    if built:
        opportunity.value = lines_value(built, opportunity.currency)
    else:
        opportunity.value = quantize_money(value or Decimal(0), opportunity.currency)
    if opportunity.value < 0:
        raise DomainError(_l("The value cannot be negative."), fields={"value": "invalid"})


def plan_of(session: Session, account: Account, plan_id: int | None) -> Plan | None:
    """The plan or review of ``account`` an opportunity came from (None for none), or a
    refusal naming the field when the id is no plan of the account's."""
    if not plan_id:
        return None
    plan = session.scalar(sa.select(Plan).where(Plan.id == plan_id, Plan.account_id == account.id))
    if plan is None:
        raise DomainError(_l("Choose a plan of this account."),
                          fields={"source_plan_id": "not a plan of this account"})
    return plan


def create(session: Session, account: Account, by: User, *, title: dict[str, str], currency: str,
           value: Decimal | None = None, stage: OpportunityStage = OpportunityStage.IDENTIFIED,
           probability: int | None = None, expected_close: date | None = None,
           source: OpportunitySource = OpportunitySource.IDEA, source_request: ServiceRequest | None = None,
           source_plan: Plan | None = None, notes: str = "", owner: User | None = None,
           lines: list[LineInput] | None = None) -> Opportunity:
    """A new opportunity on ``account``, its probability the stage's unless given."""
    opportunity = Opportunity(account_id=account.id, stage=stage, probability=STAGE_PROBABILITY[stage], source=source,
                              source_request_id=source_request.id if source_request else None,
                              source_plan_id=source_plan.id if source_plan else None, created_by_id=by.id)
    _apply(opportunity, title=title, value=value, currency=currency, probability=probability,
           expected_close=expected_close, notes=notes, owner=owner if owner is not None else by, lines=lines or [])
    session.add(opportunity)
    session.flush()
    audit.record(session, "opportunity.created", opportunity, actor=by,
                 data={"stage": stage.value, "value": str(opportunity.value), "currency": opportunity.currency})
    return opportunity


def edit(session: Session, opportunity: Opportunity, by: User, *, title: dict[str, str], currency: str,
         value: Decimal | None, probability: int | None, expected_close: date | None, notes: str,
         owner: User | None, lines: list[LineInput]) -> Opportunity:
    """Change an opportunity that is still open (a won or lost one is history)."""
    if opportunity.stage not in OPEN_STAGES:
        raise Conflict(_l("A won or lost opportunity cannot be edited."))
    _apply(opportunity, title=title, value=value, currency=currency, probability=probability,
           expected_close=expected_close, notes=notes, owner=owner, lines=lines)
    session.flush()
    audit.record(session, "opportunity.edited", opportunity, actor=by,
                 data={"value": str(opportunity.value), "probability": opportunity.probability})
    return opportunity


def move_stage(session: Session, opportunity: Opportunity, stage: OpportunityStage, by: User, *,
               probability: int | None = None) -> Opportunity:
    """Move to ``stage`` with its probability (or ``probability``): an audit event each."""
    if opportunity.change_request is not None:
        raise Conflict(_l("This opportunity is already a change request."))
    if probability is not None and not 0 <= probability <= 100:
        raise DomainError(_l("A probability is between 0 and 100 %."), fields={"probability": "invalid"})
    before = opportunity.stage
    if before is stage and probability in (None, opportunity.probability):
        return opportunity
    opportunity.stage = stage
    opportunity.probability = STAGE_PROBABILITY[stage] if probability is None else probability
    session.flush()
    audit.record(session, "opportunity.stage_changed", opportunity, actor=by,
                 data={"from": before.value, "to": stage.value, "probability": opportunity.probability})
    return opportunity


def from_request(session: Session, request: ServiceRequest, account: Account, by: User) -> Opportunity:
    """An opportunity from a client's scope request: its subject (in the requester's
    language) and description, in the account's currency, owned by whoever makes it."""
    if request.category is not RequestCategory.SCOPE:
        raise DomainError(_l("Only a scope request can become an opportunity."))
    existing = session.scalar(sa.select(Opportunity).where(Opportunity.source_request_id == request.id))
    if existing is not None:
        raise Conflict(_l("This request is already an opportunity."))
    # The subject as the client wrote it, in the language they use the portal in.
    language = request.created_by.language if request.created_by is not None else "en"
    return create(session, account, by, title={language: request.subject}, currency=account.currency,
                  source=OpportunitySource.CLIENT_REQUEST, source_request=request, notes=request.description)


def to_change_request(session: Session, opportunity: Opportunity, contract: Contract, by: User, *,
                      effective_date: date | None = None) -> ChangeRequest:
    """A won opportunity as a change request draft on ``contract`` with its lines (each
    an added line): the CR keeps ``opportunity_id``, the opportunity reaches its CR."""
    if opportunity.stage is not OpportunityStage.WON:
        raise Conflict(_l("Only a won opportunity becomes a change request."))
    if opportunity.change_request is not None:
        raise Conflict(_l("This opportunity is already a change request."))
    if not opportunity.lines:
        raise DomainError(_l("Add the opportunity's lines first: a change request is made of them."))
    if contract.account_id != opportunity.account_id or contract.currency != opportunity.currency:
        raise DomainError(_l("Choose a contract of the account in the opportunity's currency."),
                          fields={"contract_id": "invalid"})
    lines = [change_requests.LineInput(change=LineChange.ADD, description=dict(line.description), unit=line.unit,
                                       quantity=line.quantity, unit_price=line.unit_price)
             for line in opportunity.lines]
    cr = change_requests.create_draft(
        session, contract, by, title=dict(opportunity.title), description=dict(opportunity.title), in_scope=False,
        effective_date=effective_date or contract.account.today() + timedelta(days=30), lines=lines)
    cr.opportunity_id = opportunity.id
    session.flush()
    session.expire(opportunity, ["change_request"])
    audit.record(session, "opportunity.change_request_drafted", opportunity, actor=by, data={"change_request": cr.number})
    return cr


def opportunity_of(session: Session, cr: ChangeRequest) -> Opportunity | None:
    """The opportunity a CR was drafted from, if the caller may see it (a client: never)."""
    if cr.opportunity_id is None:
        return None
    return session.scalar(sa.select(Opportunity).where(Opportunity.id == cr.opportunity_id))


def opportunities_for(session: Session, *, account_id: int | None = None, stage: OpportunityStage | None = None,
                      owner_id: int | None = None) -> list[Opportunity]:
    """The opportunities the caller sees, the next to close first."""
    query = sa.select(Opportunity).options(selectinload(Opportunity.owner), selectinload(Opportunity.lines))
    if account_id is not None:
        query = query.where(Opportunity.account_id == account_id)
    if stage is not None:
        query = query.where(Opportunity.stage == stage)
    if owner_id is not None:
        query = query.where(Opportunity.owner_id == owner_id)
    return list(session.scalars(query.order_by(Opportunity.expected_close.is_(None), Opportunity.expected_close,
                                               Opportunity.id)))


def quarter_of(day: date | None) -> str:
    """``2027-Q1``; ``""`` for no date."""
    return NO_DATE if day is None else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass
class Figures:
    count: int = 0
    value: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)


@dataclass
class Pipeline:
    """Open opportunities summed by (owner id, quarter, currency) and in total by
    (quarter, currency); the weighted sums rounded to the currency once per cell."""

    cells: dict[tuple[int | None, str, str], Figures] = field(default_factory=dict)
    totals: dict[tuple[str, str], Figures] = field(default_factory=dict)
    owners: dict[int | None, str] = field(default_factory=dict)

    @property
    def quarters(self) -> list[str]:
        return sorted({quarter for quarter, _currency in self.totals}, key=lambda q: (q == NO_DATE, q))

    def quarters_in(self, currency: str) -> list[str]:
        """The quarters with open opportunities in ``currency``."""
        return [quarter for quarter in self.quarters if (quarter, currency) in self.totals]

    @property
    def currencies(self) -> list[str]:
        return sorted({currency for _quarter, currency in self.totals})


def pipeline(session: Session, *, account_id: int | None = None, owner_id: int | None = None) -> Pipeline:
    """The weighted pipeline of the open opportunities the caller sees."""
    raw: dict[tuple[int | None, str, str], list[Opportunity]] = defaultdict(list)
    result = Pipeline()
    for opportunity in opportunities_for(session, account_id=account_id, owner_id=owner_id):
        if opportunity.stage not in OPEN_STAGES:
            continue
        raw[(opportunity.owner_id, quarter_of(opportunity.expected_close), opportunity.currency)].append(opportunity)
        result.owners[opportunity.owner_id] = opportunity.owner.name if opportunity.owner else ""
    totals: dict[tuple[str, str], list[Opportunity]] = defaultdict(list)
    for key, opportunities in sorted(raw.items(), key=lambda item: (str(item[0][0]), item[0][1], item[0][2])):
        result.cells[key] = _figures(opportunities, key[2])
        totals[(key[1], key[2])].extend(opportunities)
    result.totals = {key: _figures(opportunities, key[1]) for key, opportunities in sorted(totals.items())}
    return result


def _figures(opportunities: list[Opportunity], currency: str) -> Figures:
    return Figures(count=len(opportunities),
                   value=quantize_money(sum((o.value for o in opportunities), Decimal(0)), currency),
                   weighted=quantize_money(sum((o.weighted_value for o in opportunities), Decimal(0)), currency))
