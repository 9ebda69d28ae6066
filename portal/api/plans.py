"""/plans: drafting (the firm), reading (everyone), reviews, the client's sign-off and
the plan document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.change_requests import DocumentOut, LanguagesIn, document_json
from portal.api.common import (
    PAGE_QUERY,
    ApiError,
    FreshProof,
    iso_time,
    money,
    paginate,
    require_fresh_sign_in,
    route,
)
from portal.extensions import db
from portal.models import Account, Plan, PlanReview, PlanStatus, PlanType, ReviewDecision, Role
from portal.plans import service
from portal.plans.content import SECTIONS, budget_total
from portal.security import ISSUERS, get_or_404

Text = str | dict[Literal["en", "zh", "vi"], str]
Figure = Decimal | str


class KpiIn(BaseModel):
    name: Text
    baseline: Figure | None = None
    target: Figure
    unit: str = Field(default="", max_length=20)
    kpi: str | None = Field(default=None, max_length=40, description="the code of a contract KPI, for its actuals")


class InitiativeIn(BaseModel):
    title: Text
    owner: str = Field(max_length=200)
    due: date | None = None
    status: Literal["planned", "in_progress", "on_track", "at_risk", "blocked", "done", "cancelled"] = "planned"


class BudgetLineIn(BaseModel):
    item: Text
    amount: Decimal = Field(ge=0, max_digits=19, decimal_places=4)


class RiskIn(BaseModel):
    risk: Text
    mitigation: Text
    owner: str = Field(default="", max_length=200)


class ContentIn(BaseModel):
    objectives: list[Text] = Field(default=[], max_length=200)
    kpis: list[KpiIn] = Field(default=[], max_length=200)
    initiatives: list[InitiativeIn] = Field(default=[], max_length=200)
    budget: list[BudgetLineIn] = Field(default=[], max_length=200)
    risks: list[RiskIn] = Field(default=[], max_length=200)


class PlanIn(ContentIn):
    account_id: int
    plan_type: Literal["jbp", "qbp", "mbp"]
    period: str = Field(max_length=10, description="FY2027, 2027-Q1 or 2027-03, by plan_type")
    parent_id: int | None = Field(default=None, description="the yearly plan of a quarterly one, the quarterly of a "
                                                            "monthly; without objectives and KPIs, its own are carried over")


class PlanPatch(BaseModel):
    """Sections given replace the plan's; sections left out stay as they are."""

    objectives: list[Text] | None = Field(default=None, max_length=200)
    kpis: list[KpiIn] | None = Field(default=None, max_length=200)
    initiatives: list[InitiativeIn] | None = Field(default=None, max_length=200)
    budget: list[BudgetLineIn] | None = Field(default=None, max_length=200)
    risks: list[RiskIn] | None = Field(default=None, max_length=200)


class ReviewIn(FreshProof):
    decision: Literal["comment", "approve", "request_changes"]
    body: str = Field(default="", max_length=10_000)
    language: Literal["en", "zh", "vi"] | None = None
    section: Literal["objectives", "kpis", "initiatives", "budget", "risks"] | None = None
    version: str | None = Field(default=None, min_length=64, max_length=64,
                                description="the version reviewed; 409 when it is no longer the current one")
    internal: bool | None = Field(
        default=None, description="a firm user's remark for the firm only, which the client never reads (default for "
                                  "the firm: true); a client's review, and an approval, are always shared")


class SignoffIn(FreshProof):
    version: str = Field(min_length=64, max_length=64)
    signature_name: str = Field(max_length=200)


class ReviewOut(BaseModel):
    id: int
    account_id: int
    plan_id: int
    version: str | None
    decision: str
    section: str | None
    body: str
    language: str
    internal: bool
    reviewer: dict | None
    created_at: str


class PlanOut(BaseModel):
    id: int
    account_id: int
    contract_id: int | None
    parent_id: int | None
    plan_type: str
    period: str
    status: str
    currency: str
    version: str | None
    version_number: int
    objectives: list[dict[str, str]]
    kpis: list[dict[str, Any]]
    initiatives: list[dict[str, Any]]
    budget: list[dict[str, Any]]
    budget_total: str
    risks: list[dict[str, Any]]
    translations: list[dict[str, Any]]
    firm_approval: dict[str, Any]
    reviews: list[ReviewOut]
    versions: list[dict[str, Any]]
    signoff: dict[str, Any] | None
    created_at: str
    updated_at: str


class PlanList(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _content(body: BaseModel, sections=SECTIONS) -> dict[str, Any]:
    """The body's sections in the content's shape (texts as ``{language: text}``)."""
    data = body.model_dump(mode="json", include=set(sections))
    data["objectives"] = [_text(o) for o in data.get("objectives") or []]
    for section, fields in (("kpis", ("name",)), ("initiatives", ("title",)), ("budget", ("item",)),
                            ("risks", ("risk", "mitigation"))):
        for row in data.get(section) or []:
            for name in fields:
                row[name] = _text(row[name])
    return {section: data[section] for section in sections if data.get(section) is not None}


def _text(value) -> dict[str, str]:
    return {"en": value} if isinstance(value, str) else dict(value)


def review_json(r: PlanReview) -> dict:
    return {
        "id": r.id, "account_id": r.account_id, "plan_id": r.plan_id, "version": r.version_hash,
        "decision": r.decision.value, "section": r.section, "body": r.body, "language": r.language,
        "internal": r.internal, "reviewer": {"id": r.reviewer.id, "name": r.reviewer.name} if r.reviewer else None,
        "created_at": iso_time(r.created_at),
    }


def plan_summary(plan: Plan) -> dict:
    return {
        "id": plan.id, "account_id": plan.account_id, "contract_id": plan.contract_id, "parent_id": plan.parent_id,
        "plan_type": plan.plan_type.value, "period": plan.period, "status": plan.status.value,
        "currency": plan.currency, "version": plan.version, "version_number": plan.version_number,
        "created_at": iso_time(plan.created_at), "updated_at": iso_time(plan.updated_at),
    }


def plan_json(plan: Plan) -> dict:
    account = get_or_404(db.session, Account, plan.account_id)
    content = service.shown_content(plan, current_user)
    approval = service.firm_approval(db.session, plan, account)
    signoff = service.current_signoff(plan)
    gaps = service.gaps(plan, account, content) if current_user.is_firm else []
    return {
        **plan_summary(plan),
        **{section: content.get(section) or [] for section in SECTIONS},
        "budget_total": money(budget_total(content), plan.currency),
        "translations": [{"path": g.path, "language": g.language, "problem": g.kind} for g in gaps],
        "firm_approval": {"rule": approval.rule, "complete": approval.complete,
                          "required": [{"id": u.id, "name": u.name} for u in approval.required],
                          "approved_by": sorted(approval.approved_by)},
        "reviews": [review_json(r) for r in plan.reviews],
        "versions": [{"number": v.number, "version": v.content_hash, "created_at": iso_time(v.created_at)}
                     for v in plan.versions],
        "signoff": None if signoff is None else {
            "version": signoff.version_hash, "signature_name": signoff.signature_name,
            "signed_at": iso_time(signoff.signed_at), "user_id": signoff.user_id},
    }


@route(bp, "/plans", "GET", "Business plans, newest first", response=PlanList, tag="plans",
       query={**PAGE_QUERY, "account_id": "one account's", "plan_type": "jbp, qbp or mbp", "status": "a plan status"})
def list_plans():
    query = sa.select(Plan)
    args = request.args
    filters = {"plan_type": (Plan.plan_type, PlanType), "status": (Plan.status, PlanStatus)}
    for name, (column, kind) in filters.items():
        if args.get(name):
            if args[name] not in {k.value for k in kind}:
                raise ApiError(422, _("Some fields are not valid."), fields={name: "unknown value"})
            query = query.where(column == kind(args[name]))
    if args.get("account_id"):
        query = query.where(Plan.account_id == args.get("account_id", type=int))
    return paginate(db.session, query, [Plan.created_at, Plan.id], plan_summary)


@route(bp, "/plans", "POST", "Draft a plan", roles=ISSUERS, body=PlanIn, response=PlanOut, status=201, tag="plans")
def create_plan(body: PlanIn):
    account = get_or_404(db.session, Account, body.account_id)
    parent = get_or_404(db.session, Plan, body.parent_id) if body.parent_id is not None else None
    content = _content(body)
    if parent is not None and not content.get("objectives") and not content.get("kpis"):
        content = None  # start from the parent's objectives and KPIs
    plan = service.create_plan(db.session, account, current_user, plan_type=PlanType(body.plan_type),
                               period=body.period, content=content, parent=parent)
    return plan_json(plan), 201


@route(bp, "/plans/<int:plan_id>", "GET", "A plan with its reviews, versions, sign-off and translation gaps",
       response=PlanOut, load={"plan_id": Plan}, tag="plans")
def get_plan(plan: Plan):
    return plan_json(plan)


@route(bp, "/plans/<int:plan_id>", "PATCH", "Change a plan's sections (under review: a new version)",
       roles=ISSUERS, body=PlanPatch, response=PlanOut, load={"plan_id": Plan}, tag="plans")
def patch_plan(plan: Plan, body: PlanPatch):
    given = [section for section in SECTIONS if getattr(body, section) is not None]
    content = {**plan.content, **_content(body, given)}
    service.edit(db.session, plan, get_or_404(db.session, Account, plan.account_id), current_user, content)
    return plan_json(plan)


@route(bp, "/plans/<int:plan_id>/submit", "POST", "Freeze a version and send it to the reviewers", roles=ISSUERS,
       response=PlanOut, load={"plan_id": Plan}, tag="plans")
def submit_plan(plan: Plan):
    service.submit_for_review(db.session, plan, current_user)
    return plan_json(plan)


@route(bp, "/plans/<int:plan_id>/reviews", "POST", "Comment on, approve or request changes to the current version",
       roles=service.REVIEWERS, body=ReviewIn, response=ReviewOut, status=201, load={"plan_id": Plan}, tag="plans")
def review_plan(plan: Plan, body: ReviewIn):
    if body.decision != "comment":  # approving or sending back is a decision; a comment is not
        require_fresh_sign_in(body)
    entry = service.review(db.session, plan, get_or_404(db.session, Account, plan.account_id), current_user,
                           decision=ReviewDecision(body.decision), body=body.body, language=body.language,
                           section=body.section, version=body.version, internal=body.internal)
    return review_json(entry), 201


@route(bp, "/plans/<int:plan_id>/signoff", "POST", "Sign off the version awaiting sign-off with the typed full name",
       roles=(Role.CLIENT_APPROVER,), body=SignoffIn, response=PlanOut, load={"plan_id": Plan}, tag="plans")
def sign_off_plan(plan: Plan, body: SignoffIn):
    require_fresh_sign_in(body)
    service.sign_off(db.session, plan, get_or_404(db.session, Account, plan.account_id), current_user,
                     version=body.version, signature_name=body.signature_name, ip=request.remote_addr or "",
                     user_agent=request.user_agent.string)
    return plan_json(plan)


@route(bp, "/plans/<int:plan_id>/document", "POST", "Issue the plan's latest version as a document", roles=ISSUERS,
       body=LanguagesIn, response=DocumentOut, status=201, load={"plan_id": Plan}, tag="documents")
def issue_plan_document(plan: Plan, body: LanguagesIn):
    document = service.issue_document(db.session, plan, get_or_404(db.session, Account, plan.account_id),
                                      current_user, list(body.languages), body.show_source_text)
    return document_json(document), 201
