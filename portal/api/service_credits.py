"""GET /service-credits; POST /service-credits/{id}/approve and /waive (finance)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import (
    PAGE_QUERY,
    ApiError,
    FreshProof,
    iso_date,
    iso_time,
    money,
    paginate,
    require_fresh_sign_in,
    route,
)
from portal.credits import service
from portal.extensions import db
from portal.kpis.service import parse_period
from portal.models import Account, ServiceCredit
from portal.security import get_or_404


class CreditLineOut(BaseModel):
    scope_line_id: int
    service: dict[str, str]
    monthly_charge: str
    percent: str
    amount: str


class CreditCapOut(BaseModel):
    cap: str  # month or year
    percent: str
    limit: str
    used: str
    reduction: str


class CreditNoteRef(BaseModel):
    number: str
    issue_date: str
    amount: str
    invoice_id: int | None
    document_id: int | None


class ServiceCreditOut(BaseModel):
    id: int
    account_id: int
    contract_id: int
    kpi_id: int
    kpi_code: str
    period: str
    status: str  # proposed, approved or waived (a client sees approved ones only)
    currency: str
    computed_amount: str
    amount: str
    reason: str
    lines: list[CreditLineOut]
    caps: list[CreditCapOut]
    decided_at: str | None
    credit_note: CreditNoteRef | None


class ServiceCreditList(BaseModel):
    items: list[ServiceCreditOut]
    next_cursor: str | None


class ApproveIn(FreshProof):
    amount: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=4)
    reason: str = Field(default="", max_length=2000)


class WaiveIn(FreshProof):
    reason: str = Field(min_length=1, max_length=2000)


def credit_json(credit: ServiceCredit) -> dict:
    c = credit.currency
    note = credit.credit_note
    return {
        "id": credit.id, "account_id": credit.account_id, "contract_id": credit.contract_id, "kpi_id": credit.kpi_id,
        "kpi_code": credit.kpi.code, "period": f"{credit.period:%Y-%m}", "status": credit.status.value, "currency": c,
        "computed_amount": money(credit.computed_amount, c), "amount": money(credit.amount, c), "reason": credit.reason,
        "lines": [{key: line[key] for key in CreditLineOut.model_fields} for line in credit.calculation["lines"]],
        "caps": [{key: cap[key] for key in CreditCapOut.model_fields} for cap in credit.calculation["caps"]],
        "decided_at": iso_time(credit.decided_at),
        "credit_note": None if note is None else {
            "number": note.number, "issue_date": iso_date(note.issue_date), "amount": money(note.amount, c),
            "invoice_id": note.invoice_id, "document_id": credit.document_id},
    }


@route(bp, "/service-credits", "GET", "Service credits of SLA breaches, newest first (a client sees approved ones)",
       response=ServiceCreditList, tag="service-credits",
       query={**PAGE_QUERY, "account_id": "only this account's", "period": "YYYY-MM: only this month's"})
def list_service_credits():
    query = sa.select(ServiceCredit).options(sa.orm.selectinload(ServiceCredit.kpi),
                                             sa.orm.selectinload(ServiceCredit.credit_note))
    account_id = request.args.get("account_id")
    if account_id:
        query = query.where(ServiceCredit.account_id == get_or_404(db.session, Account, account_id).id)
    if request.args.get("period"):
        period = parse_period(request.args["period"])
        if period is None:
            raise ApiError(422, _("Some fields are not valid."), fields={"period": "YYYY-MM"})
        query = query.where(ServiceCredit.period == period)
    return paginate(db.session, query, [ServiceCredit.period, ServiceCredit.id], credit_json)


@route(bp, "/service-credits/<int:credit_id>/approve", "POST",
       "Approve a proposed service credit (at another amount with a reason) and issue its credit note",
       roles=service.DECIDERS, body=ApproveIn, response=ServiceCreditOut, load={"credit_id": ServiceCredit},
       tag="service-credits")
def approve_service_credit(service_credit: ServiceCredit, body: ApproveIn):
    require_fresh_sign_in(body)
    account = get_or_404(db.session, Account, service_credit.account_id)
    service.approve(db.session, service_credit, account, current_user, amount=body.amount, reason=body.reason)
    return credit_json(service_credit)


@route(bp, "/service-credits/<int:credit_id>/waive", "POST", "Waive a proposed service credit, saying why",
       roles=service.DECIDERS, body=WaiveIn, response=ServiceCreditOut, load={"credit_id": ServiceCredit},
       tag="service-credits")
def waive_service_credit(service_credit: ServiceCredit, body: WaiveIn):
    require_fresh_sign_in(body)
    service.waive(db.session, service_credit, current_user, reason=body.reason)
    return credit_json(service_credit)
