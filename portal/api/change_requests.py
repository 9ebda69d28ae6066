"""/change-requests and their decisions, amendments; /work-orders; /documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy.orm import selectinload

from portal.api import bp
from portal.api.jobs import JobOut
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
from portal.change_requests import service
from portal.database import may_write
from portal.documents import renditions, review, service as documents
from portal.extensions import db
from portal.files import download_response
from portal.jobs import job_json
from portal.accounts import current_contract
from portal.models import (
    Account,
    Approval,
    ChangeRequest,
    Contract,
    CRStatus,
    Decision,
    Document,
    DocumentKind,
    DocumentStatus,
    LineChange,
    LineVerdict,
    ReviewVerdict,
    Role,
)
from portal.security import ISSUERS, get_or_404

Text = str | dict[Literal["en", "zh", "vi"], str]


def _texts(value: Text | None) -> dict[str, str]:
    if value is None:
        return {}
    return {"en": value} if isinstance(value, str) else dict(value)


class ChangeRequestLineIn(BaseModel):
    change: Literal["add", "remove", "modify"]
    description: Text = ""
    quantity: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    unit: str = Field(default="", max_length=60)
    unit_price: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    scope_line_id: int | None = None  # the contract line a remove or modify acts on


class ChangeRequestIn(BaseModel):
    account_id: int
    contract_id: int | None = None
    title: Text
    description: Text = ""
    in_scope: bool = False
    effective_date: date
    lines: list[ChangeRequestLineIn] = Field(min_length=1, max_length=200)


class DecisionIn(FreshProof):
    version: str = Field(min_length=64, max_length=64)
    signature_name: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=5000)


class LineDecisionIn(BaseModel):
    line: int = Field(ge=1, description="The line's number in the version, from 1 (the order of `lines`)")
    decision: Literal["approve", "reject", "counter"]
    quantity: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4,
                                     description="counter: the quantity proposed (default: the line's)")
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4,
                                       description="counter: the unit price proposed (default: the line's)")
    reason: str = Field(default="", max_length=2000, description="Required to reject a line")


class LineDecisionsIn(FreshProof):
    """A client approver's decision on every line of the version, signed with their
    typed full name: every line approved is the approval of the version; otherwise the
    change request becomes a counter-proposal (every line rejected: a rejection)."""

    version: str = Field(min_length=64, max_length=64)
    signature_name: str = Field(max_length=200)
    lines: list[LineDecisionIn] = Field(min_length=1, max_length=200)


class InternalDecisionIn(DecisionIn):
    decision: Literal["approve", "reject"]


class LanguagesIn(BaseModel):
    languages: list[Literal["en", "zh", "vi"]] = Field(min_length=1, max_length=2)
    show_source_text: bool = Field(False, description=(
        "Where a text has no translation in a language of the document, show its source text there, marked as "
        "such; otherwise (the default) the issue is refused with every such field named"))


class WorkOrderLineIn(BaseModel):
    description: Text
    quantity: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    unit: str = Field(min_length=1, max_length=60)
    unit_price: Decimal = Field(ge=0, max_digits=16, decimal_places=4)


class WorkOrderIn(LanguagesIn):
    account_id: int
    contract_id: int | None = None
    title: Text
    description: Text = ""
    po_number: str = Field(min_length=1, max_length=60)
    start_date: date
    end_date: date
    lines: list[WorkOrderLineIn] = Field(min_length=1, max_length=2000)
    acceptance_criteria: list[Text] = []


class ChangeRequestLineOut(BaseModel):
    change: str
    description: dict[str, str]
    quantity: str
    unit: str
    unit_price: str
    old_quantity: str | None
    old_unit_price: str | None
    amount: str
    scope_line_id: int | None


class ClientApprovalOut(BaseModel):
    user_id: int | None
    name: str | None
    signature_name: str
    decided_at: str


class WaitingForOut(BaseModel):
    text: str = Field(description="Who may complete the approval, in the caller's language")
    approvers: list[dict[str, int | str]] = Field(description="Named approvers who may complete it: {id, name}")
    minimum_limit: str = Field(description="Any client approver with this limit or more may complete it "
                                           "(the price impact's absolute value)")


class LineDecisionOut(BaseModel):
    line: int
    decision: Literal["approve", "reject", "counter"]
    quantity: str | None
    unit_price: str | None
    reason: str


class CounterProposalOut(BaseModel):
    decided_by: str | None
    decided_at: str
    lines: list[LineDecisionOut]


class ChangeRequestOut(BaseModel):
    id: int
    account_id: int
    contract_id: int
    number: str
    title: dict[str, str]
    description: dict[str, str]
    in_scope: bool
    effective_date: str
    status: str
    version: str | None
    version_number: int
    price_impact: str
    currency: str
    lines: list[ChangeRequestLineOut]
    submitted_at: str | None
    decided_at: str | None
    created_at: str
    client_approvals: list[ClientApprovalOut] = Field(description="The client's approvals of the current version")
    waiting_for: WaitingForOut | None = Field(
        description="Pending a second client approver (the first's limit is below the price impact): who may complete it")
    counter_proposal: CounterProposalOut | None = Field(
        description="status countered: the client's decision on each line of the current version")


class ChangeRequestList(BaseModel):
    items: list[ChangeRequestOut]
    next_cursor: str | None


class DocumentReviewOut(BaseModel):
    id: int
    decision: Literal["approve", "comment"]
    language: str
    reviewer: str | None
    comment: str
    typed_name: str
    version: str = Field(description="The SHA-256 of the draft it was given on")
    created_at: str


class DocumentOut(BaseModel):
    id: int
    account_id: int
    contract_id: int | None
    kind: str
    number: str
    revision: int = Field(description="1 for the number's first document; issuing its subject again adds one")
    label: str = Field(description="The number as people say it: AMD-2026-0003, AMD-2026-0003 rev. 2")
    status: Literal["in_review", "issued"] = Field(
        description="in_review: a draft waiting for the account's regional reviewers (the firm's only)")
    review_languages: list[str] = Field(description="The languages whose regional reviewer approves it before issue")
    title: str
    title_translations: dict[str, str] = Field(
        description="The title in each language it has one in ({\"en\": ..., \"zh\": ...}), as pages show it")
    languages: list[str]
    sha256: str
    size: int
    change_request_id: int | None
    invoice_id: int | None
    created_at: str
    issued_at: str | None
    file_url: str
    reviews: list[DocumentReviewOut] | None = Field(default=None, description="Firm users only")


class DocumentReviewIn(FreshProof):
    """A regional reviewer's decision on the draft they read, by its SHA-256. An
    approval needs a fresh sign-in (or the password), as any decision that is evidence."""

    decision: Literal["approve", "comment"]
    version: str = Field(min_length=64, max_length=64, description="The SHA-256 of the draft read (its sha256)")
    comment: str = Field(default="", max_length=10_000)
    typed_name: str = Field(default="", max_length=200, description="Optional: the reviewer's full name, typed")


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class PdfPendingOut(BaseModel):
    """The PDF is being made: the job that makes it, as ``GET /jobs/{id}`` shows it."""

    job: JobOut


def cr_json(cr: ChangeRequest) -> dict:
    return {
        "id": cr.id, "account_id": cr.account_id, "contract_id": cr.contract_id, "number": cr.number, "title": cr.title,
        "description": cr.description, "in_scope": cr.in_scope, "effective_date": iso_date(cr.effective_date),
        "status": cr.status.value, "version": cr.version, "version_number": cr.version_number,
        "price_impact": money(cr.price_impact, cr.currency), "currency": cr.currency,
        "lines": [{
            "change": line.change.value, "description": line.description, "quantity": money(line.quantity),
            "unit": line.unit, "unit_price": money(line.unit_price, cr.currency),
            "old_quantity": money(line.old_quantity), "old_unit_price": money(line.old_unit_price, cr.currency),
            "amount": money(service.line_impact(line), cr.currency), "scope_line_id": line.scope_line_id,
        } for line in cr.lines],
        "submitted_at": iso_time(cr.submitted_at), "decided_at": iso_time(cr.decided_at), "created_at": iso_time(cr.created_at),
        **_decisions_json(cr),
    }


def _decisions_json(cr: ChangeRequest) -> dict:
    """Who of the client approved the current version, who may still complete it, and a
    counter-proposal's decisions line by line."""
    approvals = service.client_approvals(cr)
    waiting = None
    if cr.status is CRStatus.PENDING_CLIENT_APPROVAL and approvals:
        standing = service.authority(db.session, cr, _account(cr.account_id))
        if standing.waiting:
            waiting = {"text": service.waiting_text(standing, cr.currency),
                       "approvers": [{"id": u.id, "name": u.name} for u in standing.waiting_for],
                       "minimum_limit": money(standing.minimum_limit, cr.currency)}
    counter = service.counter_proposal(cr) if cr.status is CRStatus.COUNTERED else None
    return {
        "client_approvals": [{"user_id": a.user_id, "name": a.user.name if a.user else None,
                              "signature_name": a.signature_name, "decided_at": iso_time(a.decided_at)}
                             for a in approvals],
        "waiting_for": waiting,
        "counter_proposal": None if counter is None else {
            "decided_by": counter.user.name if counter.user else None, "decided_at": iso_time(counter.decided_at),
            "lines": [{"line": row.number, "decision": row.decision.value, "quantity": money(row.quantity),
                       "unit_price": money(row.unit_price, cr.currency), "reason": row.reason}
                      for row in service.line_decision_rows(cr, counter)]},
    }


def document_json(document: Document) -> dict:
    answer = {
        "id": document.id, "account_id": document.account_id, "contract_id": document.contract_id,
        "kind": document.kind.value, "number": document.number, "revision": document.revision,
        "label": document.label, "status": document.status.value, "review_languages": document.review_languages,
        "title": document.title, "title_translations": document.title_translations, "languages": document.languages,
        "sha256": document.sha256,
        "size": document.file.size, "change_request_id": document.change_request_id,
        "invoice_id": document.invoice_id,
        "created_at": iso_time(document.created_at), "issued_at": iso_time(document.issued_at),
        "file_url": f"/api/v1/documents/{document.id}/file",
    }
    if current_user.is_firm:
        answer["reviews"] = [{
            "id": r.id, "decision": "approve" if r.verdict is ReviewVerdict.APPROVED else "comment",
            "language": r.language, "reviewer": r.reviewer.name if r.reviewer else None, "comment": r.comment,
            "typed_name": r.signature_name, "version": r.version_hash, "created_at": iso_time(r.created_at),
        } for r in document.reviews]
    return answer


def _account(account_id: int) -> Account:
    return get_or_404(db.session, Account, account_id)


def _contract(account: Account, contract_id: int | None) -> Contract:
    if contract_id is None:
        contract = current_contract(db.session, account)
        if contract is None:
            raise ApiError(422, _("This account has no contract yet."), fields={"contract_id": "required"})
        return contract
    contract = get_or_404(db.session, Contract, contract_id)
    if contract.account_id != account.id:
        raise ApiError(422, _("Some fields are not valid."), fields={"contract_id": "not a contract of this account"})
    return contract


# --- change requests -----------------------------------------------------------------


@route(bp, "/change-requests", "GET", "Change requests, newest first", response=ChangeRequestList,
       query={**PAGE_QUERY, "status": "a CR status"}, tag="change requests")
def list_change_requests():
    query = sa.select(ChangeRequest).options(selectinload(ChangeRequest.approvals).selectinload(Approval.user))
    wanted = request.args.get("status")
    if wanted:
        if wanted not in {s.value for s in CRStatus}:
            raise ApiError(422, _("Some fields are not valid."), fields={"status": "unknown status"})
        query = query.where(ChangeRequest.status == CRStatus(wanted))
    return paginate(db.session, query, [ChangeRequest.created_at, ChangeRequest.id], cr_json)


@route(bp, "/change-requests/<int:change_request_id>", "GET", "A change request with its lines",
       response=ChangeRequestOut, load={"change_request_id": ChangeRequest}, tag="change requests")
def get_change_request(change_request: ChangeRequest):
    return cr_json(change_request)


@route(bp, "/change-requests", "POST", "Draft a change request", roles=ISSUERS, body=ChangeRequestIn,
       response=ChangeRequestOut, status=201, tag="change requests")
def create_change_request(body: ChangeRequestIn):
    account = _account(body.account_id)
    contract = _contract(account, body.contract_id)
    lines = [service.LineInput(change=LineChange(line.change), description=_texts(line.description), unit=line.unit,
                               quantity=line.quantity, unit_price=line.unit_price, scope_line_id=line.scope_line_id)
             for line in body.lines]
    cr = service.create_draft(db.session, contract, current_user, title=_texts(body.title),
                              description=_texts(body.description), in_scope=body.in_scope,
                              effective_date=body.effective_date, lines=lines)
    return cr_json(cr), 201


@route(bp, "/change-requests/<int:change_request_id>/submit", "POST", "Freeze a version and send it for approval",
       roles=ISSUERS, response=ChangeRequestOut, load={"change_request_id": ChangeRequest}, tag="change requests")
def submit_change_request(change_request: ChangeRequest):
    service.submit(db.session, change_request, _account(change_request.account_id), current_user)
    return cr_json(change_request)


@route(bp, "/change-requests/<int:change_request_id>/internal-decision", "POST",
       "An administrator's approval above the account's threshold", roles=(Role.ADMIN,), body=InternalDecisionIn,
       response=ChangeRequestOut, load={"change_request_id": ChangeRequest}, tag="change requests")
def internal_decision(change_request: ChangeRequest, body: InternalDecisionIn):
    require_fresh_sign_in(body)
    service.decide_internally(db.session, change_request, _account(change_request.account_id), current_user,
                              version=body.version, reason=body.reason, ip=request.remote_addr or "",
                              decision=Decision.APPROVED if body.decision == "approve" else Decision.REJECTED,
                              user_agent=request.user_agent.string)
    return cr_json(change_request)


def _decide(change_request: ChangeRequest, body: DecisionIn, decision: Decision):
    require_fresh_sign_in(body)
    service.decide(db.session, change_request, _account(change_request.account_id), current_user,
                   version=body.version, decision=decision, signature_name=body.signature_name,
                   reason=body.reason, ip=request.remote_addr or "", user_agent=request.user_agent.string)
    return cr_json(change_request)


@route(bp, "/change-requests/<int:change_request_id>/approve", "POST",
       "Approve the current version with the approver's typed full name; above the approver's approval limit the "
       "approval is recorded and the change request stays pending until an approver whose authority covers it "
       "approves too (client_approvals, waiting_for)", roles=(Role.CLIENT_APPROVER,),
       body=DecisionIn, response=ChangeRequestOut, load={"change_request_id": ChangeRequest}, tag="change requests")
def approve_change_request(change_request: ChangeRequest, body: DecisionIn):
    return _decide(change_request, body, Decision.APPROVED)


@route(bp, "/change-requests/<int:change_request_id>/reject", "POST", "Reject the current version with a reason",
       roles=(Role.CLIENT_APPROVER,), body=DecisionIn, response=ChangeRequestOut,
       load={"change_request_id": ChangeRequest}, tag="change requests")
def reject_change_request(change_request: ChangeRequest, body: DecisionIn):
    return _decide(change_request, body, Decision.REJECTED)


@route(bp, "/change-requests/<int:change_request_id>/line-decisions", "POST",
       "Decide the current version line by line (approve, reject with a reason, counter with other figures) with "
       "the approver's typed full name; 409 when `version` is not the current one or the CR is no longer pending",
       roles=(Role.CLIENT_APPROVER,), body=LineDecisionsIn, response=ChangeRequestOut,
       load={"change_request_id": ChangeRequest}, tag="change requests")
def decide_change_request_lines(change_request: ChangeRequest, body: LineDecisionsIn):
    require_fresh_sign_in(body)
    lines = [service.LineDecisionInput(line=item.line, decision=LineVerdict(item.decision), quantity=item.quantity,
                                       unit_price=item.unit_price, reason=item.reason) for item in body.lines]
    service.decide_lines(db.session, change_request, _account(change_request.account_id), current_user,
                         version=body.version, lines=lines, signature_name=body.signature_name,
                         ip=request.remote_addr or "", user_agent=request.user_agent.string)
    return cr_json(change_request)


@route(bp, "/change-requests/<int:change_request_id>/accept-counter", "POST",
       "Accept the client's counter-proposal: the approved and countered lines (at the client's figures) become a "
       "new version, sent for approval as a whole", roles=ISSUERS, response=ChangeRequestOut,
       load={"change_request_id": ChangeRequest}, tag="change requests")
def accept_counter_proposal(change_request: ChangeRequest):
    service.accept_counter(db.session, change_request, _account(change_request.account_id), current_user)
    return cr_json(change_request)


@route(bp, "/change-requests/<int:change_request_id>/implement", "POST",
       "Apply an approved change request to its contract", roles=ISSUERS, response=ChangeRequestOut,
       load={"change_request_id": ChangeRequest}, tag="change requests")
def implement_change_request(change_request: ChangeRequest):
    service.implement(db.session, change_request, current_user)
    return cr_json(change_request)


@route(bp, "/change-requests/<int:change_request_id>/amendment", "POST",
       "Issue the contract amendment of an approved change request", roles=ISSUERS, body=LanguagesIn,
       response=DocumentOut, status=201, load={"change_request_id": ChangeRequest},
       tag="documents")
def issue_amendment(change_request: ChangeRequest, body: LanguagesIn):
    account = _account(change_request.account_id)
    document = documents.issue_amendment(db.session, change_request, account, current_user, list(body.languages),
                                         body.show_source_text)
    return document_json(document), 201


# --- work orders and documents -------------------------------------------------------


@route(bp, "/work-orders", "POST", "Issue a work order", roles=ISSUERS, body=WorkOrderIn, response=DocumentOut,
       status=201, tag="documents")
def issue_work_order(body: WorkOrderIn):
    account = _account(body.account_id)
    contract = _contract(account, body.contract_id)
    lines = [{"description": _texts(line.description), "quantity": format(line.quantity, "f"), "unit": line.unit,
              "unit_price": format(line.unit_price, "f")} for line in body.lines]
    document = documents.issue_work_order(
        db.session, account, contract, current_user, title=_texts(body.title), description=_texts(body.description),
        po_number=body.po_number, start_date=body.start_date, end_date=body.end_date, lines=lines,
        acceptance_criteria=[_texts(c) for c in body.acceptance_criteria], languages=list(body.languages),
        show_source_text=body.show_source_text,
    )
    return document_json(document), 201


@route(bp, "/documents", "GET", "Documents, newest first: every revision of each number", response=DocumentList,
       query={**PAGE_QUERY, "kind": "amendment, work_order, plan, review_pack, invoice or statement",
              "status": "in_review (drafts waiting for regional review: the firm's) or issued",
              "number": "one number: its revisions"}, tag="documents")
def list_documents():
    query = sa.select(Document)
    kind = request.args.get("kind")
    if kind:
        if kind not in {k.value for k in DocumentKind}:
            raise ApiError(422, _("Some fields are not valid."), fields={"kind": "unknown kind"})
        query = query.where(Document.kind == DocumentKind(kind))
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in DocumentStatus}:
            raise ApiError(422, _("Some fields are not valid."), fields={"status": "in_review or issued"})
        query = query.where(Document.status == DocumentStatus(status))
    if request.args.get("number"):
        query = query.where(Document.number == request.args["number"])
    return paginate(db.session, query, [Document.created_at, Document.id], document_json)


@route(bp, "/documents/<int:document_id>/review", "POST",
       "A regional reviewer approves the draft they read (by its SHA-256: the last approval it needs issues it) "
       "or comments on it; 409 when the draft changed or was decided since",
       roles=(Role.REGIONAL_REVIEWER,), body=DocumentReviewIn, response=DocumentOut, load={"document_id": Document},
       tag="documents")
def review_document(document: Document, body: DocumentReviewIn):
    account = _account(document.account_id)
    if body.decision == "approve":
        require_fresh_sign_in(body)
        review.approve(db.session, document, account, current_user, version=body.version, text=body.comment,
                       typed_name=body.typed_name, ip=request.remote_addr or "")
    else:
        review.comment(db.session, document, account, current_user, version=body.version, text=body.comment,
                       ip=request.remote_addr or "")
    db.session.refresh(document, ["reviews"])
    return document_json(document)


@route(bp, "/documents/<int:document_id>", "GET", "A document's metadata", response=DocumentOut,
       load={"document_id": Document}, tag="documents")
def get_document(document: Document):
    return document_json(document)


@route(bp, "/documents/<int:document_id>/file", "GET",
       "The document's .docx, or with ?format=pdf its PDF/A, made once per distinct file in the background: "
       "202 with Retry-After and the job making it (as GET /jobs/{id}) until it is ready",
       load={"document_id": Document}, query={"format": "docx (the default) or pdf"}, tag="documents",
       files=(documents.DOCX, renditions.PDF),
       more={202: ("The PDF is being made: ask again after Retry-After seconds, or follow the job", PdfPendingOut)})
@may_write
def get_document_file(document: Document):
    return document_file(document)


def document_file(document: Document):
    """The answer of a document's file: the .docx, or with ``?format=pdf`` its PDF, or
    until that is made 202 with Retry-After and the job making it."""
    wanted = request.args.get("format", "docx")
    if wanted == "docx":
        return download_response(f"{document.file_stem}.docx", documents.DOCX, document.file.data)
    if wanted != "pdf":
        raise ApiError(422, _("Some fields are not valid."), fields={"format": "docx or pdf"})
    pdf = renditions.pdf_of(db.session, document)
    if pdf is not None:
        return download_response(f"{document.file_stem}.pdf", renditions.PDF, pdf)
    job = renditions.ask_for_pdf(db.session, document, current_user)
    return {"job": job_json(job)}, 202, {"Retry-After": str(renditions.RETRY_AFTER_S),
                                         "Location": f"/api/v1/jobs/{job.id}"}
