"""GET /scorecards and the Master Action Registry: GET/POST /actions, PATCH /actions/{id}."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from docgen.formatting import plain_decimal
from portal.accounts import todays
from portal.actions import service as actions
from portal.api import bp
from portal.api.common import PAGE_QUERY, ApiError, iso_date, iso_time, paginate, route
from portal.extensions import db
from portal.i18n import localized
from portal.kpis import service as kpis
from portal.models import Account, ActionItem, ActionSource, ActionStatus, OwnerSide, User
from portal.security import ISSUERS, get_or_404


def ratio(value) -> str | None:
    return None if value is None else format(value, "f")


class ScorecardKpi(BaseModel):
    code: str
    name: str
    unit: str
    target: str
    actual: str | None
    attainment: str | None
    status: Literal["green", "amber", "red"] | None


class ScorecardOut(BaseModel):
    account_id: int
    period: str
    kpis: list[ScorecardKpi]
    kpis_met_ratio: str | None
    overall_attainment: str | None


@route(bp, "/scorecards", "GET", "A month's KPI scorecard of an account", response=ScorecardOut, tag="scorecards",
       query={"account_id": "the account (required for firm users; a client's own by default)", "period": "YYYY-MM"})
def get_scorecard():
    account_id = request.args.get("account_id", type=int) or (current_user.account_id if current_user.is_client else None)
    fields = {}
    if account_id is None:
        fields["account_id"] = "required"
    period = kpis.parse_period(request.args.get("period"))
    if period is None:
        fields["period"] = "YYYY-MM"
    if fields:
        raise ApiError(422, _("Some fields are not valid."), fields=fields)
    account = get_or_404(db.session, Account, account_id)
    card = kpis.scorecard(db.session, account, period)
    return {
        "account_id": account.id, "period": f"{period:%Y-%m}",
        "kpis": [{"code": row.kpi.code, "name": localized(row.kpi.name), "unit": row.kpi.unit,
                  "target": plain_decimal(row.target), "actual": plain_decimal(row.actual),
                  "attainment": ratio(row.attainment), "status": row.status if row.status != "none" else None}
                 for row in card.rows],
        "kpis_met_ratio": ratio(card.kpis_met_ratio), "overall_attainment": ratio(card.overall_attainment),
    }


# An action item's title in other languages than the one it is written in: its readers
# in those languages see it (``{"zh": ..., "vi": ...}``).
TitleTranslations = dict[Literal["en", "zh", "vi"], Annotated[str, Field(max_length=200)]]


class ActionIn(BaseModel):
    account_id: int
    title: str = Field(min_length=1, max_length=200)
    title_translations: TitleTranslations = Field(default_factory=dict)
    description: str = Field(default="", max_length=5000)
    owner_side: Literal["firm", "client"] = "firm"
    owner_id: int | None = None
    owner_name: str = Field(default="", max_length=200)
    source: Literal["meeting", "escalation", "kpi", "review", "feedback"] = "meeting"
    due_date: date | None = None
    extension_reason: str = Field(default="", max_length=500)
    kpi_id: int | None = None


class ActionPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    title_translations: TitleTranslations | None = None
    description: str | None = Field(default=None, max_length=5000)
    owner_side: Literal["firm", "client"] | None = None
    owner_id: int | None = None
    owner_name: str | None = Field(default=None, max_length=200)
    due_date: date | None = None
    extension_reason: str = Field(default="", max_length=500)
    status: Literal["open", "in_progress", "done", "cancelled"] | None = None


class ActionOut(BaseModel):
    id: int
    account_id: int
    title: str
    title_translations: dict[str, str]
    description: str
    owner_side: str
    owner_name: str
    source: str
    due_date: str
    status: str
    closed_on: str | None
    overdue: bool
    kpi_id: int | None
    created_at: str


class ActionList(BaseModel):
    items: list[ActionOut]
    next_cursor: str | None


def action_json(item: ActionItem, today: date) -> dict:
    return {
        "id": item.id, "account_id": item.account_id, "title": item.title,
        "title_translations": dict(item.title_translations or {}), "description": item.description,
        "owner_side": item.owner_side.value, "owner_name": item.owner_name, "source": item.source.value,
        "due_date": iso_date(item.due_date), "status": item.status.value, "closed_on": iso_date(item.closed_on),
        "overdue": actions.is_overdue(item, today), "kpi_id": item.kpi_id, "created_at": iso_time(item.created_at),
    }


def _owner(owner_id: int | None) -> User | None:
    """The user named as the owner; whether they may own the item is the service's rule."""
    if owner_id is None:
        return None
    owner = db.session.scalar(sa.select(User).where(User.id == owner_id))
    if owner is None:
        raise ApiError(422, _("Some fields are not valid."), fields={"owner_id": "no such user"})
    return owner


@route(bp, "/actions", "GET", "Master Action Registry items, newest first", response=ActionList, tag="actions",
       query={**PAGE_QUERY, "status": "open, in_progress, done or cancelled"})
def list_actions():
    query = sa.select(ActionItem)
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in ActionStatus}:
            raise ApiError(422, _("Some fields are not valid."), fields={"status": "unknown status"})
        query = query.where(ActionItem.status == ActionStatus(status))
    days = todays(list(db.session.scalars(sa.select(Account))))
    return paginate(db.session, query, [ActionItem.created_at, ActionItem.id],
                    lambda item: action_json(item, days[item.account_id]))


@route(bp, "/actions", "POST", "Raise an action item", roles=ISSUERS, body=ActionIn, response=ActionOut, status=201,
       tag="actions")
def create_action(body: ActionIn):
    account = get_or_404(db.session, Account, body.account_id)
    item = actions.create(
        db.session, account, current_user, title=body.title, description=body.description,
        owner_side=OwnerSide(body.owner_side), owner=_owner(body.owner_id), owner_name=body.owner_name,
        source=ActionSource(body.source), due_date=body.due_date, extension_reason=body.extension_reason,
        kpi_id=body.kpi_id, title_translations=dict(body.title_translations),
    )
    return action_json(item, account.today()), 201


@route(bp, "/actions/<int:action_id>", "PATCH", "Change an action item (only the fields given)", roles=ISSUERS,
       body=ActionPatch, response=ActionOut, load={"action_id": ActionItem}, tag="actions")
def update_action(action_item: ActionItem, body: ActionPatch):
    account = get_or_404(db.session, Account, action_item.account_id)
    given = body.model_fields_set
    actions.update(
        db.session, action_item, account, current_user,
        title=body.title if "title" in given else None,
        description=body.description if "description" in given else None,
        owner_side=OwnerSide(body.owner_side) if body.owner_side else None,
        owner=_owner(body.owner_id) if "owner_id" in given else None,
        owner_name=body.owner_name if "owner_name" in given else None,
        due_date=body.due_date, extension_reason=body.extension_reason,
        status=ActionStatus(body.status) if body.status else None,
        title_translations=dict(body.title_translations) if body.title_translations is not None else None,
    )
    return action_json(action_item, account.today())
