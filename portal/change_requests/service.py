"""Change requests: drafting, pricing, versions, the approval chain and implementation.

What makes an approval evidence (a version frozen by hash, one winner of concurrent
decisions, the typed name, the chained audit event) is ``portal.versioning``'s. The
change request's own rules:

* Submitting freezes a *version* of everything the client approves. Editing a submitted
  CR freezes a new version at once, so a decision on the old one can no longer land.
* The unique constraint on (CR, version, stage, approver) of ``approvals`` is the second
  wall: one decision per approver on a version.
* Above the account's threshold an admin other than the CR's author approves first.
* The client's own delegation of authority: a client approver approves alone up to their
  limit; above it a second client approver whose limit covers the price impact (its
  absolute value), or the account's higher authority, approves the same version too, in
  any order. The CR moves to approved once, when the approvals cover it.
* A client approver may decide line by line: approve, reject (with a reason) or counter
  (other figures). Not every line approved makes a counter-proposal (``countered``) that
  the firm accepts (a new version, decided again as a whole) or revises.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit, versioning
from portal.accounts import account_managers, client_approvers
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
    LineVerdict,
    Role,
    ScopeLine,
    User,
)
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify
from portal.sequences import next_value
from portal.versioning import canonical_json

STORED = Decimal("0.0001")  # the scale the database keeps decimals at
EDITABLE = (CRStatus.DRAFT, CRStatus.REJECTED, CRStatus.COUNTERED, CRStatus.PENDING_INTERNAL_APPROVAL,
            CRStatus.PENDING_CLIENT_APPROVAL)
PENDING = (CRStatus.PENDING_INTERNAL_APPROVAL, CRStatus.PENDING_CLIENT_APPROVAL)
# Waiting on a decision: an approval, or the firm's answer to a counter-proposal.
AWAITING_DECISION = (*PENDING, CRStatus.COUNTERED)
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


@dataclass
class LineDecisionInput:
    """A client approver's decision on one line of the version (``line`` counts from 1):
    approve; reject with a reason; counter with another quantity and/or unit price."""

    line: int
    decision: LineVerdict
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    reason: str = ""


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
    if by.id not in cr.editor_ids:
        cr.editor_ids = [*cr.editor_ids, by.id]
    if cr.status in PENDING:
        submit(session, cr, account, by)
    elif cr.status in (CRStatus.REJECTED, CRStatus.COUNTERED):
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
    _transition(session, cr, (CRStatus.DRAFT, *PENDING, CRStatus.REJECTED, CRStatus.COUNTERED), CRStatus.WITHDRAWN,
                version=None)
    audit.record(session, "change_request.withdrawn", cr, actor=by)


# --- decisions -------------------------------------------------------------------------


def _transition(session: Session, cr: ChangeRequest, from_statuses, to_status: CRStatus, *, version: str | None,
                **values: Any) -> None:
    versioning.transition(session, cr, from_statuses, to_status, version=version, conflict=MOVED_ON, **values)


def _record(session: Session, cr: ChangeRequest, by: User, *, version: str, stage: ApprovalStage, decision: Decision,
            signature_name: str = "", reason: str = "", ip: str = "", user_agent: str = "",
            line_decisions: list[dict] | None = None) -> Approval:
    approval = Approval(account_id=cr.account_id, change_request_id=cr.id, version_hash=version, stage=stage,
                        decision=decision, user_id=by.id, signature_name=signature_name,
                        reason=reason.strip(), ip=ip[:45], user_agent=user_agent[:300], decided_at=utcnow(),
                        line_decisions=line_decisions or [])
    data = {"number": cr.number, "version": version, "signature_name": approval.signature_name,
            "reason": approval.reason}
    if line_decisions:
        data["lines"] = line_decisions
    return versioning.record_decision(
        session, cr, approval, action=f"change_request.{stage.value}_{decision.value}", by=by, ip=ip, data=data,
        conflict=_l("This change request was decided in the meantime."))


def decide_internally(session: Session, cr: ChangeRequest, account: Account, by: User, *, version: str,
                      decision: Decision, reason: str = "", ip: str = "", user_agent: str = "") -> Approval:
    """An admin's approval (or rejection) above the threshold. The admin must be
    someone who wrote none of the CR (``authors``): not its author, nor whoever sent or
    edited any of its versions: a second pair of eyes."""
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


def _require_client_approver(cr: ChangeRequest, by: User) -> None:
    if by.role is not Role.CLIENT_APPROVER or by.account_id != cr.account_id:
        raise DomainError(_l("Only the client's approver decides on a change request."), status=403)


def decide(session: Session, cr: ChangeRequest, account: Account, by: User, *, version: str, decision: Decision,
           signature_name: str = "", reason: str = "", ip: str = "", user_agent: str = "",
           line_decisions: list[dict] | None = None) -> Approval:
    """The client approver's decision on ``version``: approval with their typed full
    name, or rejection with a reason. An approval above the approver's limit is
    recorded and the CR stays pending until an approver whose authority covers it
    approves too (``authority``). ``Conflict`` when the CR is no longer pending, the
    version is not the current one, or this approver already decided on it."""
    _require_client_approver(cr, by)
    if decision is Decision.APPROVED:
        signature_name = versioning.check_signature(signature_name, by)
    elif not reason.strip():
        raise DomainError(_l("Give a reason for the rejection."), fields={"reason": "required"})
    if decision is not Decision.APPROVED:
        _transition(session, cr, (CRStatus.PENDING_CLIENT_APPROVAL,), CRStatus.REJECTED, version=version,
                    decided_at=utcnow())
        approval = _record(session, cr, by, version=version, stage=ApprovalStage.CLIENT, decision=decision,
                           reason=reason, ip=ip, user_agent=user_agent, line_decisions=line_decisions)
        _notify_decision(session, cr, account, approval)
        return approval
    # Take the CR as loaded: concurrent approvals of one version queue here, so each
    # sees the approvals committed before it, and the move to approved happens once.
    if cr.status is not CRStatus.PENDING_CLIENT_APPROVAL or cr.version != version:
        raise Conflict(MOVED_ON)
    versioning.claim(session, cr, conflict=MOVED_ON)
    approval = _record(session, cr, by, version=version, stage=ApprovalStage.CLIENT, decision=decision,
                       signature_name=signature_name, reason=reason, ip=ip, user_agent=user_agent,
                       line_decisions=line_decisions)
    session.refresh(cr, ["approvals"])
    standing = authority(session, cr, account)
    if not standing.complete:
        return approval  # recorded; the CR waits for an approver whose authority covers it
    _transition(session, cr, (CRStatus.PENDING_CLIENT_APPROVAL,), CRStatus.APPROVED, version=version,
                decided_at=utcnow())
    if len(standing.approvals) > 1:
        audit.record(session, "change_request.approved_jointly", cr, actor=by,
                     data={"number": cr.number, "version": version,
                           "approvers": [a.signature_name for a in standing.approvals]})
    _notify_decision(session, cr, account, approval)
    return approval


def _line_decisions(cr: ChangeRequest, decisions: list[LineDecisionInput]) -> list[dict]:
    """The decisions as stored: one for each line of the version, in its order; a
    counter's figures are the client's (a figure not given is the line's)."""
    by_line: dict[int, LineDecisionInput] = {}
    for index, decision in enumerate(decisions):
        if not 1 <= decision.line <= len(cr.lines) or decision.line in by_line:
            raise DomainError(_l("Decide each line of the change request once."),
                              fields={f"lines.{index}.line": "not a line of this version, or given twice"})
        by_line[decision.line] = decision
    if len(by_line) != len(cr.lines):
        raise DomainError(_l("Decide each line of the change request once."), fields={"lines": "a line is missing"})
    stored = []
    for number, line in enumerate(cr.lines, 1):
        decision, where = by_line[number], f"lines.{number - 1}"
        item: dict[str, Any] = {"line": number, "decision": decision.decision.value, "reason": decision.reason.strip()}
        if decision.decision is LineVerdict.REJECT and not item["reason"]:
            raise DomainError(_l("Give a reason for each line you reject."), fields={f"{where}.reason": "required"})
        if decision.decision is LineVerdict.COUNTER:
            if line.change is LineChange.REMOVE:
                raise DomainError(_l("A removal is approved or rejected; it has no figures to counter."),
                                  fields={f"{where}.decision": "a removal cannot be countered"})
            quantity = line.quantity if decision.quantity is None else decision.quantity
            unit_price = line.unit_price if decision.unit_price is None else decision.unit_price
            if quantity < 0 or unit_price < 0:
                raise DomainError(_l("Quantities and prices cannot be negative."), fields={where: "negative"})
            if any(value != value.quantize(STORED) for value in (quantity, unit_price)):
                raise DomainError(_l("Use at most 4 decimal places."), fields={where: "too many decimals"})
            if (_exact(quantity), _exact(unit_price)) == (_exact(line.quantity), _exact(line.unit_price)):
                raise DomainError(_l("A counter-proposal gives another quantity or unit price."),
                                  fields={where: "same figures as the line"})
            item["quantity"], item["unit_price"] = format(_exact(quantity), "f"), format(_exact(unit_price), "f")
        stored.append(item)
    return stored


def decide_lines(session: Session, cr: ChangeRequest, account: Account, by: User, *, version: str,
                 lines: list[LineDecisionInput], signature_name: str, ip: str = "", user_agent: str = "") -> Approval:
    """The client approver's decision line by line on ``version``, signed with their
    typed full name. Every line approved is the ordinary approval (``decide``), every
    line rejected the ordinary rejection; otherwise the CR becomes a counter-proposal
    (``countered``) that the firm accepts (``accept_counter``) or revises."""
    _require_client_approver(cr, by)
    signature_name = versioning.check_signature(signature_name, by)
    stored = _line_decisions(cr, lines)
    verdicts = {item["decision"] for item in stored}
    if verdicts == {LineVerdict.APPROVE.value}:
        return decide(session, cr, account, by, version=version, decision=Decision.APPROVED,
                      signature_name=signature_name, ip=ip, user_agent=user_agent, line_decisions=stored)
    if verdicts == {LineVerdict.REJECT.value}:
        reason = "\n".join(f"{item['line']}. {item['reason']}" for item in stored)
        return decide(session, cr, account, by, version=version, decision=Decision.REJECTED, reason=reason, ip=ip,
                      user_agent=user_agent, line_decisions=stored)
    _transition(session, cr, (CRStatus.PENDING_CLIENT_APPROVAL,), CRStatus.COUNTERED, version=version,
                decided_at=utcnow())
    approval = _record(session, cr, by, version=version, stage=ApprovalStage.CLIENT, decision=Decision.COUNTERED,
                       signature_name=signature_name, ip=ip, user_agent=user_agent, line_decisions=stored)
    _notify_decision(session, cr, account, approval)
    return approval


def counter_proposal(cr: ChangeRequest) -> Approval | None:
    """The client's line-by-line decision that made the CR's current version a
    counter-proposal, if there is one."""
    return next((a for a in cr.approvals if a.stage is ApprovalStage.CLIENT and a.decision is Decision.COUNTERED
                 and a.version_hash == cr.version), None)


@dataclass(frozen=True)
class LineDecisionRow:
    """A line decision as pages and the API show it, beside the line it is on."""

    number: int
    line: ChangeRequestLine | None
    decision: LineVerdict
    quantity: Decimal | None
    unit_price: Decimal | None
    reason: str


def line_decision_rows(cr: ChangeRequest, approval: Approval) -> list[LineDecisionRow]:
    """``approval``'s decisions line by line, each beside its line of the version."""
    return [LineDecisionRow(item["line"], cr.lines[item["line"] - 1] if item["line"] <= len(cr.lines) else None,
                            LineVerdict(item["decision"]),
                            Decimal(item["quantity"]) if item.get("quantity") else None,
                            Decimal(item["unit_price"]) if item.get("unit_price") else None, item.get("reason", ""))
            for item in approval.line_decisions]


def accept_counter(session: Session, cr: ChangeRequest, account: Account, by: User) -> ChangeRequestVersion:
    """The firm accepts the client's counter-proposal: the approved lines, the
    countered lines at the client's figures, the rejected lines dropped, frozen as a
    new version that goes to approval as a whole (internal first above the threshold)."""
    counter = counter_proposal(cr) if cr.status is CRStatus.COUNTERED else None
    if counter is None:
        raise Conflict(_l("This change request has no counter-proposal to accept."))
    versioning.claim(session, cr, conflict=MOVED_ON)
    if versioning.content_hash(canonical_json(canonical_content(cr, cr.version_number))) != cr.version:
        raise Conflict(MOVED_ON)  # the lines are no longer those the client decided on
    decided = {item["line"]: item for item in counter.line_decisions}
    kept = []
    for number, line in enumerate(cr.lines, 1):
        item = decided[number]
        if item["decision"] == LineVerdict.REJECT.value:
            continue
        if item["decision"] == LineVerdict.COUNTER.value:
            line.quantity, line.unit_price = Decimal(item["quantity"]), Decimal(item["unit_price"])
        kept.append(line)
    cr.lines[:] = kept
    for position, line in enumerate(kept):
        line.position = position
    session.flush()
    audit.record(session, "change_request.counter_accepted", cr, actor=by,
                 data={"number": cr.number, "version": cr.version, "lines": counter.line_decisions})
    return submit(session, cr, account, by)


def authors(cr: ChangeRequest) -> set[int]:
    """Who wrote the CR: its author, whoever sent each of its versions, and whoever
    edited it, a draft included (an admin who rewrote a draft that another sent)."""
    return {user_id for user_id in (cr.created_by_id, *(v.created_by_id for v in cr.versions), *cr.editor_ids)
            if user_id}


def client_approvals(cr: ChangeRequest) -> list[Approval]:
    """The client's approvals of the CR's current version, first first."""
    return sorted((a for a in cr.approvals if a.stage is ApprovalStage.CLIENT and a.decision is Decision.APPROVED
                   and a.version_hash == cr.version), key=lambda a: (a.decided_at, a.id or 0))


def client_approval(cr: ChangeRequest) -> Approval | None:
    """The client's approval of the CR's current version that approved it (the last
    one, when the approver's limit needed a second), if there is one."""
    approvals = client_approvals(cr)
    return approvals[-1] if approvals else None


# --- the client's delegation of authority ------------------------------------------------


def covers(approver: User, amount: Decimal) -> bool:
    """Whether ``approver`` may approve a price impact of ``amount`` alone: the
    account's higher authority, an approver without a limit, or one whose limit is at
    least the amount's absolute value."""
    return approver.higher_authority or approver.approval_limit is None or abs(amount) <= approver.approval_limit


@dataclass(frozen=True)
class Authority:
    """Where the client's approval of the current version stands: who has approved,
    whether that is enough, and who else could complete it."""

    approvals: list[Approval]
    complete: bool
    # Named approvers who may complete it (the higher authority first), and the limit
    # any other client approver needs to complete it.
    waiting_for: list[User]
    minimum_limit: Decimal

    @property
    def waiting(self) -> bool:
        return bool(self.approvals) and not self.complete


def waiting_text(standing: Authority, currency: str) -> str:
    """Who may still complete the approval, in the reader's language: "Waiting for:
    王晓梅 or a client approver with a limit of ¥100,000.00 or more"."""
    from babel.lists import format_list

    from portal.i18n import current_locale, money

    limit = money(standing.minimum_limit, currency)
    if not standing.waiting_for:
        return gettext("Waiting for: a client approver with a limit of %(limit)s or more", limit=limit)
    names = format_list([u.name for u in standing.waiting_for], style="or", locale=current_locale())
    return gettext("Waiting for: %(names)s or a client approver with a limit of %(limit)s or more", names=names,
                   limit=limit)


def authority(session: Session, cr: ChangeRequest, account: Account) -> Authority:
    """The client's delegation of authority applied to the CR's current version."""
    approvals = client_approvals(cr)
    amount = abs(cr.price_impact)
    complete = any(a.user is not None and covers(a.user, amount) for a in approvals)
    approved = {a.user_id for a in approvals}
    candidates = [u for u in client_approvers(session, account) if u.id not in approved and covers(u, amount)]
    candidates.sort(key=lambda u: not u.higher_authority)
    return Authority(approvals, complete, [] if complete else candidates, amount)


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
    contract.annual_value = contract.scope_annual_value
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


def _may_complete(approver: User, cr: ChangeRequest) -> bool:
    """Whether the CR's client approval waits on ``approver``: no one approved its
    version yet, or someone did above their limit and ``approver`` (who did not) may
    complete it."""
    approved = {a.user_id for a in client_approvals(cr)}
    return not approved or (approver.id not in approved and covers(approver, cr.price_impact))


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
    waiting = list(session.scalars(query.options(selectinload(ChangeRequest.versions),
                                                 selectinload(ChangeRequest.approvals))))
    if user.role is Role.ADMIN:  # an admin never approves a CR they wrote any of
        waiting = [cr for cr in waiting if user.id not in authors(cr)]
    else:  # once one approved above their limit, it waits on those who may complete it
        waiting = [cr for cr in waiting if _may_complete(user, cr)]
    return waiting


# --- notifications ---------------------------------------------------------------------


def _notify_client_approvers(session: Session, cr: ChangeRequest, account: Account) -> None:
    notify(session, "cr_awaiting_approval", [Recipient.of_user(u) for u in client_approvers(session, account)],
           account_id=account.id, cr=cr, account=account, url=link(f"/change-requests/{cr.id}"))


def _notify_admins(session: Session, cr: ChangeRequest, account: Account) -> None:
    admins = session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active)).all()
    notify(session, "cr_awaiting_internal_approval", [Recipient.of_user(u) for u in admins],
           account_id=account.id, cr=cr, account=account, url=link(f"/change-requests/{cr.id}"))


def _notify_decision(session: Session, cr: ChangeRequest, account: Account, approval: Approval) -> None:
    recipients = ([cr.created_by] if cr.created_by else []) + account_managers(session, account)
    notify(session, "cr_decided", [Recipient.of_user(u) for u in recipients], account_id=account.id,
           cr=cr, account=account, approval=approval, url=link(f"/change-requests/{cr.id}"))
