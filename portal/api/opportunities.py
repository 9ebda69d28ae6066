"""GET and POST /opportunities; POST /opportunities/{id}/stage (the firm's only)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import PAGE_QUERY, ApiError, iso_date, money, paginate, route
from portal.extensions import db
from portal.models import Account, Opportunity, OpportunitySource, OpportunityStage, Role, User
from portal.pipeline import service
from portal.security import ISSUERS, get_or_404

READERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)
Stage = Literal["identified", "qualified", "proposed", "won", "lost"]


class OpportunityLineIO(BaseModel):
    description: dict[str, str] = Field(min_length=1)
    unit: str = Field(default="", max_length=60)
    quantity: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=4)


class OpportunityOut(BaseModel):
    id: int
    account_id: int
    title: dict[str, str]
    value: str
    weighted_value: str
    currency: str
    stage: str
    probability: int
    expected_close: str | None
    source: str
    source_request_id: int | None
    source_plan_id: int | None
    owner_id: int | None
    notes: str
    change_request_id: int | None
    lines: list[OpportunityLineIO]


class OpportunityList(BaseModel):
    items: list[OpportunityOut]
    next_cursor: str | None


class OpportunityIn(BaseModel):
    account_id: int
    title: dict[str, str] = Field(min_length=1)
    currency: str = Field(min_length=3, max_length=3)
    value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    stage: Stage = "identified"
    probability: int | None = Field(default=None, ge=0, le=100)
    expected_close: date | None = None
    source: Literal["client_request", "review", "idea"] = "idea"
    source_plan_id: int | None = Field(default=None, description="The account's plan or review it came from")
    notes: str = Field(default="", max_length=20_000)
    owner_id: int | None = None
    lines: list[OpportunityLineIO] = Field(default=[], max_length=200)


class StageIn(BaseModel):
    stage: Stage
    probability: int | None = Field(default=None, ge=0, le=100)


def opportunity_json(opportunity: Opportunity) -> dict:
    c = opportunity.currency
    cr = opportunity.change_request
    return {
        "id": opportunity.id, "account_id": opportunity.account_id, "title": opportunity.title,
        "value": money(opportunity.value, c), "weighted_value": money(opportunity.weighted_value, c), "currency": c,
        "stage": opportunity.stage.value, "probability": opportunity.probability,
        "expected_close": iso_date(opportunity.expected_close),
        "source": opportunity.source.value, "source_request_id": opportunity.source_request_id,
        "source_plan_id": opportunity.source_plan_id, "owner_id": opportunity.owner_id, "notes": opportunity.notes, "change_request_id": cr.id if cr else None,
        "lines": [{"description": line.description, "unit": line.unit, "quantity": line.quantity,
                   "unit_price": line.unit_price} for line in opportunity.lines],
    }


@route(bp, "/opportunities", "GET", "The firm's opportunities (the pipeline), the newest first", roles=READERS,
       response=OpportunityList, tag="pipeline",
       query={**PAGE_QUERY, "account_id": "only this account's", "stage": "only those at this stage"})
def list_opportunities():
    query = sa.select(Opportunity).options(sa.orm.selectinload(Opportunity.lines),
                                           sa.orm.selectinload(Opportunity.change_request))
    account_id = request.args.get("account_id")
    if account_id:
        query = query.where(Opportunity.account_id == get_or_404(db.session, Account, account_id).id)
    stage = request.args.get("stage")
    if stage:
        if stage not in {s.value for s in OpportunityStage}:
            raise ApiError(422, _("Some fields are not valid."), fields={"stage": "invalid"})
        query = query.where(Opportunity.stage == stage)
    return paginate(db.session, query, [Opportunity.id], opportunity_json)


@route(bp, "/opportunities", "POST", "Record an opportunity on an account (its value follows its lines)",
       roles=ISSUERS, body=OpportunityIn, response=OpportunityOut, status=201, tag="pipeline")
def create_opportunity(body: OpportunityIn):
    account = get_or_404(db.session, Account, body.account_id)
    owner = None
    if body.owner_id is not None:
        owner = db.session.scalar(sa.select(User).where(User.id == body.owner_id))
        if owner is None:
            raise ApiError(422, _("Some fields are not valid."), fields={"owner_id": "invalid"})
    opportunity = service.create(
        db.session, account, current_user, title=body.title, currency=body.currency, value=body.value,
        stage=OpportunityStage(body.stage), probability=body.probability, expected_close=body.expected_close,
        source=OpportunitySource(body.source), source_plan=service.plan_of(db.session, account, body.source_plan_id),
        notes=body.notes, owner=owner,
        lines=[service.LineInput(description=line.description, unit=line.unit, quantity=line.quantity,
                                 unit_price=line.unit_price) for line in body.lines])
    return opportunity_json(opportunity), 201


@route(bp, "/opportunities/<int:opportunity_id>/stage", "POST",
       "Move an opportunity to a stage (its probability, or the stage's own); audited",
       roles=ISSUERS, body=StageIn, response=OpportunityOut, load={"opportunity_id": Opportunity}, tag="pipeline")
def move_opportunity(opportunity: Opportunity, body: StageIn):
    service.move_stage(db.session, opportunity, OpportunityStage(body.stage), current_user,
                       probability=body.probability)
    return opportunity_json(opportunity)
