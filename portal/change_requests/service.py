"""Change requests: drafting, pricing, versions, the approval chain and implementation.

What makes an approval evidence (a version frozen by hash, one winner of concurrent
decisions, the typed name, the chained audit event) is ``portal.versioning``'s. The
change request's own rules:

* Submitting freezes a *version* of everything the client approves. Editing a submitted
  CR freezes a new version at once, so a decision on the old one can no longer land.
* The unique constraint on (CR, version, stage) of ``approvals`` is the second wall.
* Above the account's threshold an admin other than the CR's author approves first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit, versioning
from portal.accounts import account_managers
from portal.domain import Conflict, DomainError
from portal.models import (
    Account,
    Approval,
    ApprovalStage,
    ChangeRequest,
    ChangeRequestLine,
    ChangeRequestVersion,
    Contract,
    CRStatus,
    Decision,
    LineChange,
    Role,
    ScopeLine,
    User,
)
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify
from portal.sequences import next_value
from portal.versioning import canonical_json

STORED = Decimal("0.0001")  # the scale the database keeps decimals at
EDITABLE = (CRStatus.DRAFT, CRStatus.REJECTED, CRStatus.PENDING_INTERNAL_APPROVAL, CRStatus.PENDING_CLIENT_APPROVAL)
PENDING = (CRStatus.PENDING_INTERNAL_APPROVAL, CRStatus.PENDING_CLIENT_APPROVAL)
# Said when a CR moved on since the caller loaded it.
MOVED_ON = _l("This change request was decided or changed in the meantime. Reload it to see its current version.")


@dataclass
class LineInput:
    """One line as a form or the API gives it."""

    change: LineChange
    description: dict[str, str]
    unit: str
    quantity: Decimal
    unit_price: Decimal
    scope_line_id: int | None = None


# --- pricing and versions ------------------------------------------------------------


def line_impact(line: ChangeRequestLine) -> Decimal:
    """What a line adds to (or takes from) the contract's price."""
    new = line.quantity * line.unit_price
    if line.change is LineChange.ADD:
        return new
    if line.change is LineChange.REMOVE:
        return -new
    return new - (line.old_quantity or Decimal(0)) * (line.old_unit_price or Decimal(0))


def price_impact(lines: list[ChangeRequestLine]) -> Decimal:
    return sum((line_impact(line) for line in lines), Decimal(0))


def _exact(value: Decimal | None) -> Decimal | None:
    """Decimals at their stored scale, so that a version hashed before a flush equals
    the same version recomputed from the database ("38.00" and "38.0000" agree)."""
    return None if value is None else Decimal(value).quantize(STORED)


def canonical_content(cr: ChangeRequest, version_number: int) -> dict[str, Any]:
    """Everything the client approves, and nothing else. The version number is part of
    it, so a resubmission of the same content is a new version with its own hash (a
    decision on the old one cannot count for it)."""
    return {
        "version": version_number,
        "number": cr.number,
        "contract": cr.contract.number,
        "title": cr.title,
        "description": cr.description,
        "in_scope": cr.in_scope,
        "effective_date": cr.effective_date,
        "currency": cr.currency,
        "lines": [
            {
                "change": line.change,
                "description": line.description,
                "unit": line.unit,
                "quantity": _exact(line.quantity),
                "unit_price": _exact(line.unit_price),
                "old_quantity": _exact(line.old_quantity),
                "old_unit_price": _exact(line.old_unit_price),
                "amount": _exact(line_impact(line)),
            }
            for line in cr.lines
        ],
        "price_impact": _exact(price_impact(cr.lines)),
    }


def scope_after(contract: Contract, cr: ChangeRequest) -> list[dict[str, Any]]:
    """The contract's scope as it would be with the CR implemented (for the page that
    shows before and after)."""
    removed = {line.scope_line_id for line in cr.lines if line.change in (LineChange.REMOVE, LineChange.MODIFY)}
    after = [
        {"service": s.service, "unit": s.unit, "quantity": s.quantity, "unit_price": s.unit_price, "changed": None}
        for s in contract.active_scope_lines if s.id not in removed
    ]
    for line in cr.lines:
        if line.change in (LineChange.ADD, LineChange.MODIFY):
            after.append({"service": line.description, "unit": line.unit, "quantity": line.quantity,
                          "unit_price": line.unit_price, "changed": line.change})
    return after


# --- drafting --------------------------------------------------------------------------


def _clean_text(value: dict[str, str]) -> dict[str, str]:
    return {lang: unicodedata.normalize("NFC", text.strip()) for lang, text in value.items() if text and text.strip()}


def _build_lines(session: Session, contract: Contract, lines: list[LineInput]) -> list[ChangeRequestLine]:
    if not lines:
        raise DomainError(_l("Add at least one line."), fields={"lines": "required"})
    active = {s.id: s for s in contract.active_scope_lines}
    built = []
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        if line.quantity < 0 or line.unit_price < 0:
            raise DomainError(_l("Quantities and prices cannot be negative."), fields={where: "negative"})
        if any(value != value.quantize(STORED) for value in (line.quantity, line.unit_price)):
            # What is approved must be what is stored: no silent rounding.
            raise DomainError(_l("Use at most 4 decimal places."), fields={where: "too many decimals"})
        row = ChangeRequestLine(account_id=contract.account_id, position=index, change=line.change,
                                description=_clean_text(line.description), unit=line.unit.strip(),
                                quantity=line.quantity, unit_price=line.unit_price)
        if line.change is LineChange.ADD:
            if not row.description or not row.unit:
                raise DomainError(_l("A new line needs a description and a unit."),
                                  fields={f"{where}.description": "required"})
        else:
            scope_line = active.get(line.scope_line_id)
            if scope_line is None:
                raise DomainError(_l("Choose the contract line to change or remove."),
                                  fields={f"{where}.scope_line_id": "not a current line of this contract"})
            row.scope_line_id = scope_line.id
            row.description = dict(scope_line.service)
            row.unit = scope_line.unit
            if line.change is LineChange.REMOVE:
                row.quantity, row.unit_price = scope_line.quantity, scope_line.unit_price
            else:
                row.old_quantity, row.old_unit_price = scope_line.quantity, scope_line.unit_price
        built.append(row)
    return built


def create_draft(
    session: Session, contract: Contract, by: User, *, title: dict[str, str], description: dict[str, str],
    in_scope: bool, effective_date: date, lines: list[LineInput],
) -> ChangeRequest:
    """A draft CR on ``contract``, numbered CR-NNNN per contract."""
    title = _clean_text(title)
    if not title:
        raise DomainError(_l("Give the change request a title."), fields={"title": "required"})
    built = _build_lines(session, contract, lines)
    number = next_value(session, f"cr:{contract.id}")
    cr = ChangeRequest(
        account_id=contract.account_id, contract=contract, number=f"CR-{number:04d}", currency=contract.currency,
        created_by=by, status=CRStatus.DRAFT, version_number=0, title=title, description=_clean_text(description),
        in_scope=in_scope, effective_date=effective_date, lines=built,
    )
    cr.price_impact = price_impact(built)
    session.add(cr)
    session.flush()
    audit.record(session, "change_request.created", cr, actor=by)
    return cr


def new_change_request(session: Session, contract: Contract, *, created_by: User | None, **fields: Any) -> ChangeRequest:
    """A draft CR whose lines the caller appends itself (the tests' factories; the demo
    drafts through ``create_draft``)."""
    number = next_value(session, f"cr:{contract.id}")
    cr = ChangeRequest(account_id=contract.account_id, contract=contract, number=f"CR-{number:04d}",
                       currency=contract.currency, created_by=created_by, status=CRStatus.DRAFT,
                       version_number=0, price_impact=Decimal(0), **fields)
    session.add(cr)
    return cr


def edit(
    session: Session, cr: ChangeRequest, account: Account, by: User, *, title: dict[str, str],
    description: dict[str, str], in_scope: bool, effective_date: date, lines: list[LineInput],
) -> ChangeRequest:
    """Change a CR that is not decided. A submitted CR is frozen again at once: a new
    version, and whatever was pending on the old one can no longer be decided."""
    if cr.status not in EDITABLE:
        raise Conflict(_l("A decided change request cannot be edited."))
    title = _clean_text(title)
    if not title:
        raise DomainError(_l("Give the change request a title."), fields={"title": "required"})
    built = _build_lines(session, cr.contract, lines)
    # Claim the CR as it was loaded: a decision committed since then wins, and a
    # decision arriving now waits for this edit and then finds a new version.
    versioning.claim(session, cr, conflict=MOVED_ON)
    before = canonical_json(canonical_content(cr, cr.version_number))
    cr.lines.clear()
    session.flush()
    cr.title, cr.description, cr.in_scope, cr.effective_date = title, _clean_text(description), in_scope, effective_date
    cr.lines.extend(built)
    cr.price_impact = price_impact(built)
    session.flush()
    if canonical_json(canonical_content(cr, cr.version_number)) == before:
        return cr  # nothing changed: the pending version stands
    audit.record(session, "change_request.edited", cr, actor=by)
    if cr.status in PENDING:
        submit(session, cr, account, by)
    elif cr.status is CRStatus.REJECTED:
        cr.status = CRStatus.DRAFT
    return cr


def submit(session: Session, cr: ChangeRequest, account: Account, by: User | None) -> ChangeRequestVersion:
    """Freeze the current content as a new version and send it for approval: internal
    approval first when the price impact exceeds the account's threshold, else the
    client's. Earlier versions are voided, so nothing decided on them counts."""
    if cr.status not in EDITABLE:
        raise Conflict(_l("A decided change request cannot be submitted again."))
    if not cr.lines:
        raise DomainError(_l("Add at least one line."), fields={"lines": "required"})
    frozen = versioning.freeze(cr, lambda number: canonical_content(cr, number))
    now = utcnow()
    for old in cr.versions:
        if old.voided_at is None:
            old.voided_at = now
    version = ChangeRequestVersion(account_id=cr.account_id, number=frozen.number, content_hash=frozen.hash,
                                   canonical=frozen.canonical, created_by_id=by.id if by else None)
    cr.versions.append(version)
    cr.version, cr.version_number = frozen.hash, frozen.number
    cr.price_impact = price_impact(cr.lines)
    cr.submitted_at = now
    over_threshold = abs(cr.price_impact) > account.cr_approval_threshold
    cr.status = CRStatus.PENDING_INTERNAL_APPROVAL if over_threshold else CRStatus.PENDING_CLIENT_APPROVAL
    session.flush()
    audit.record(session, "change_request.submitted", cr, actor=by, data={"version": cr.version, "status": cr.status.value})
    if cr.status is CRStatus.PENDING_CLIENT_APPROVAL:
        _notify_client_approvers(session, cr, account)
    else:
        _notify_admins(session, cr, account)
    return version


def withdraw(session: Session, cr: ChangeRequest, by: User) -> None:
    _transition(session, cr, (CRStatus.DRAFT, *PENDING, CRStatus.REJECTED), CRStatus.WITHDRAWN, version=None)
    audit.record(session, "change_request.withdrawn", cr, actor=by)


# --- decisions -------------------------------------------------------------------------


def _transition(session: Session, cr: ChangeRequest, from_statuses, to_status: CRStatus, *, version: str | None,
                **values: Any) -> None:
    versioning.transition(session, cr, from_statuses, to_status, version=version, conflict=MOVED_ON, **values)


def _record(session: Session, cr: ChangeRequest, by: User, *, version: str, stage: ApprovalStage, decision: Decision,
            signature_name: str = "", reason: str = "", ip: str = "", user_agent: str = "") -> Approval:
    approval = Approval(account_id=cr.account_id, change_request_id=cr.id, version_hash=version, stage=stage,
                        decision=decision, user_id=by.id, signature_name=signature_name,
                        reason=reason.strip(), ip=ip[:45], user_agent=user_agent[:300], decided_at=utcnow())
    return versioning.record_decision(
        session, cr, approval, action=f"change_request.{stage.value}_{decision.value}", by=by, ip=ip,
        data={"number": cr.number, "version": version, "signature_name": approval.signature_name,
              "reason": approval.reason},
        conflict=_l("This change request was decided in the meantime."))


def decide_internally(session: Session, cr: ChangeRequest, account: Account, by: User, *, version: str,
                      decision: Decision, reason: str = "", ip: str = "", user_agent: str = "") -> Approval:
    """An admin's approval (or rejection) above the threshold. The admin must be
    someone who wrote none of the CR: not its author, nor the author of any of its
    versions (an admin who edited it wrote one): a second pair of eyes."""
    if by.role is not Role.ADMIN:
        raise DomainError(_l("Only an administrator approves internally."), status=403)
    if by.id in authors(cr):
        raise DomainError(_l("Someone other than the author of the change request must approve it."), status=403)
    if decision is Decision.REJECTED and not reason.strip():
        raise DomainError(_l("Give a reason for the rejection."), fields={"reason": "required"})
    to_status = CRStatus.PENDING_CLIENT_APPROVAL if decision is Decision.APPROVED else CRStatus.REJECTED
    _transition(session, cr, (CRStatus.PENDING_INTERNAL_APPROVAL,), to_status, version=version)
    approval = _record(session, cr, by, version=version, stage=ApprovalStage.INTERNAL, decision=decision,
                       reason=reason, ip=ip, user_agent=user_agent)
    if decision is Decision.APPROVED:
        _notify_client_approvers(session, cr, account)
    else:
        _notify_decision(session, cr, account, approval)
    return approval


def decide(session: Session, cr: ChangeRequest, account: Account, by: User, *, version: str, decision: Decision,
           signature_name: str = "", reason: str = "", ip: str = "", user_agent: str = "") -> Approval:
    """The client approver's decision on ``version``: approval with their typed full
    name, or rejection with a reason. ``Conflict`` when the CR is no longer pending or
    the version is not the current one."""
    if by.role is not Role.CLIENT_APPROVER or by.account_id != cr.account_id:
        raise DomainError(_l("Only the client's approver decides on a change request."), status=403)
    if decision is Decision.APPROVED:
        signature_name = versioning.check_signature(signature_name, by)
    elif not reason.strip():
        raise DomainError(_l("Give a reason for the rejection."), fields={"reason": "required"})
    to_status = CRStatus.APPROVED if decision is Decision.APPROVED else CRStatus.REJECTED
    _transition(session, cr, (CRStatus.PENDING_CLIENT_APPROVAL,), to_status, version=version, decided_at=utcnow())
    approval = _record(session, cr, by, version=version, stage=ApprovalStage.CLIENT, decision=decision,
                       signature_name=signature_name if decision is Decision.APPROVED else "", reason=reason,
                       ip=ip, user_agent=user_agent)
    _notify_decision(session, cr, account, approval)
    return approval


def authors(cr: ChangeRequest) -> set[int]:
    """Who wrote the CR: its author and the author of each of its versions."""
    return {user_id for user_id in (cr.created_by_id, *(v.created_by_id for v in cr.versions)) if user_id}


def client_approval(cr: ChangeRequest) -> Approval | None:
    """The client's approval of the CR's current version, if there is one."""
    return next((a for a in cr.approvals if a.stage is ApprovalStage.CLIENT and a.decision is Decision.APPROVED
                 and a.version_hash == cr.version), None)


# --- implementation --------------------------------------------------------------------


def implement(session: Session, cr: ChangeRequest, by: User) -> None:
    """Apply an approved CR to its contract: new lines are added, removed and modified
    lines are closed (never deleted: the history stays), and the ACV becomes the sum of
    the scope lines in force."""
    _transition(session, cr, (CRStatus.APPROVED,), CRStatus.IMPLEMENTED, version=cr.version, implemented_at=utcnow())
    contract = session.scalar(sa.select(Contract).where(Contract.id == cr.contract_id)
                              .options(selectinload(Contract.scope_lines)))
    now = utcnow()
    by_id = {s.id: s for s in contract.scope_lines}
    position = max((s.position for s in contract.scope_lines), default=0)
    for line in cr.lines:
        if line.change in (LineChange.REMOVE, LineChange.MODIFY):
            old = by_id.get(line.scope_line_id)
            if old is None or old.removed_at is not None:
                raise Conflict(_l("A contract line this change request changes was changed by another one. "
                                  "Draft a new change request on the current scope."))
            old.removed_at, old.removed_by_change_request_id = now, cr.id
        if line.change in (LineChange.ADD, LineChange.MODIFY):
            position += 1
            contract.scope_lines.append(ScopeLine(
                account_id=contract.account_id, position=position, service=line.description, unit=line.unit,
                quantity=line.quantity, unit_price=line.unit_price, added_on=cr.effective_date,
                added_by_change_request_id=cr.id,
            ))
    session.flush()
    old_value = contract.annual_value
    contract.annual_value = sum((s.quantity * s.unit_price for s in contract.active_scope_lines), Decimal(0))
    session.flush()
    audit.record(session, "change_request.implemented", cr, actor=by,
                 data={"number": cr.number, "acv_before": str(old_value), "acv_after": str(contract.annual_value)})


# --- reading ---------------------------------------------------------------------------


def tracker(session: Session, contract: Contract | None = None, status: CRStatus | tuple[CRStatus, ...] | None = None,
            account_id: int | None = None) -> list[ChangeRequest]:
    """The Change Request Note tracker: every CR (of a contract) the caller may see,
    newest first (the scope keeps the firm's drafts from clients); ``status`` one
    status or several (``PENDING``)."""
    query = (sa.select(ChangeRequest)
             .options(selectinload(ChangeRequest.approvals).selectinload(Approval.user),
                      selectinload(ChangeRequest.contract))
             .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc()))
    if contract is not None:
        query = query.where(ChangeRequest.contract_id == contract.id)
    if account_id is not None:
        query = query.where(ChangeRequest.account_id == account_id)
    if status is not None:
        query = query.where(ChangeRequest.status.in_(status if isinstance(status, tuple) else (status,)))
    return list(session.scalars(query))


def pending_for(session: Session, user: User) -> list[ChangeRequest]:
    """What waits on ``user``: client approvers their account's CRs pending client
    approval; admins the CRs pending internal approval."""
    if user.role is Role.CLIENT_APPROVER:
        wanted = CRStatus.PENDING_CLIENT_APPROVAL
    elif user.role is Role.ADMIN:
        wanted = CRStatus.PENDING_INTERNAL_APPROVAL
    else:
        return []
    query = sa.select(ChangeRequest).where(ChangeRequest.status == wanted).order_by(ChangeRequest.submitted_at)
    waiting = list(session.scalars(query.options(selectinload(ChangeRequest.versions))))
    if user.role is Role.ADMIN:  # an admin never approves a CR they wrote any of
        waiting = [cr for cr in waiting if user.id not in authors(cr)]
    return waiting


# --- notifications ---------------------------------------------------------------------


def _approvers(session: Session, account: Account) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.account_id == account.id, User.role == Role.CLIENT_APPROVER,
                                                      User.active)))


def _notify_client_approvers(session: Session, cr: ChangeRequest, account: Account) -> None:
    notify(session, "cr_awaiting_approval", [Recipient.of_user(u) for u in _approvers(session, account)],
           account_id=account.id, cr=cr, account=account, url=link(f"/change-requests/{cr.id}"))


def _notify_admins(session: Session, cr: ChangeRequest, account: Account) -> None:
    admins = session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active)).all()
    notify(session, "cr_awaiting_internal_approval", [Recipient.of_user(u) for u in admins],
           account_id=account.id, cr=cr, account=account, url=link(f"/change-requests/{cr.id}"))


def _notify_decision(session: Session, cr: ChangeRequest, account: Account, approval: Approval) -> None:
    recipients = ([cr.created_by] if cr.created_by else []) + account_managers(session, account)
    notify(session, "cr_decided", [Recipient.of_user(u) for u in recipients], account_id=account.id,
           cr=cr, account=account, approval=approval, url=link(f"/change-requests/{cr.id}"))
