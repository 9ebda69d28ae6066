"""Business plans (joint yearly, quarterly and monthly): drafting, review, the client's
sign-off, documents and progress against the plan.

The rules that make a sign-off evidence, as for change requests:

* Submitting for review freezes a *version*: the canonical JSON of what the client signs
  (type, period, currency, contract, content and the version number) and its SHA-256.
  Editing a plan under review or awaiting sign-off freezes a new version at once, so
  nothing said about the old version counts for the new one.
* Reviews (comment, approve, request changes) are about the current version; a review
  may name a section. Requesting changes sends the plan back to its author; the next
  submission is a new version, and the plan page shows what changed, field by field.
* **The firm has approved a version** when every active regional reviewer assigned to
  the account has approved that version; when no regional reviewer is assigned, when
  an account manager assigned to the account has.
* **The translation gate**: a plan goes to the client for sign-off only when every text
  is written in each of the account's document languages and no translation is older
  than its English source. Until then it stays in review (the page says why).
* The client approver of the account signs the version awaiting sign-off with their
  typed full name; the move is one conditional ``UPDATE`` (exactly one of concurrent
  signers wins), the sign-off row is unique per version, and the sign-off is a chained
  audit event, as are approvals, requests for changes and document issues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext, lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit, versioning
from portal.accounts import account_managers, assigned, client_approvers
from portal.domain import Conflict, DomainError
from portal.documents.service import (Preview, check_languages, client_party, conventions, numbering, preview,
                                      preview_number, provider, store_document, untranslated_policy)
from portal.i18n import names
from portal.models import (
    Account,
    Contract,
    Document,
    DocumentKind,
    Kpi,
    KpiDirection,
    KpiMeasurement,
    Plan,
    PlanReview,
    PlanSignoff,
    PlanStatus,
    PlanType,
    PlanVersion,
    ReviewDecision,
    Role,
    User,
)
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify
from portal.plans.content import (
    CLOSED,
    LANGUAGES,
    PARENT_TYPE,
    SECTIONS,
    Gap,
    carried_over,
    check_period,
    clean,
    period_start,
    translation_gaps,
    within,
    written_times,
)
from portal.plans.labels import plan_label
from portal.sequences import next_value
from portal.versioning import canonical_json

# Said when a plan moved on since the caller loaded it.
MOVED_ON = _l("This plan was changed or decided in the meantime. Reload it to see its current version.")
EDITABLE = (PlanStatus.DRAFT, PlanStatus.CHANGES_REQUESTED, PlanStatus.IN_REVIEW, PlanStatus.PENDING_SIGNOFF)
SUBMITTABLE = (PlanStatus.DRAFT, PlanStatus.CHANGES_REQUESTED)
UNDER_REVIEW = (PlanStatus.IN_REVIEW, PlanStatus.PENDING_SIGNOFF)
REVIEWERS = (Role.REGIONAL_REVIEWER, Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER)
# Decisions are evidence: chained in the audit log. Comments are not.
CHAINED = (ReviewDecision.APPROVE, ReviewDecision.REQUEST_CHANGES)


# --- drafting --------------------------------------------------------------------------


def _contract_for(session: Session, account: Account, plan_type: PlanType, period: str) -> Contract:
    from portal.accounts import current_contract

    contract = current_contract(session, account, period_start(plan_type, period))
    if contract is None:
        raise DomainError(_l("This account has no contract yet."), fields={"account_id": "no contract"})
    return contract


def _kpi_codes(contract: Contract | None) -> frozenset[str]:
    return frozenset(k.code for k in contract.kpis) if contract else frozenset()


def create_plan(session: Session, account: Account, by: User, *, plan_type: PlanType, period: str,
                content: dict[str, Any] | None = None, parent: Plan | None = None) -> Plan:
    """A draft plan for ``account`` under the contract in force at the period's start.
    With a ``parent`` (the yearly plan of a quarterly one, the quarterly of a monthly)
    and no ``content`` of its own, it starts with the parent's objectives and KPIs."""
    period = check_period(plan_type, period)
    times: dict[str, Any] = {}
    if parent is not None:
        if parent.account_id != account.id or PARENT_TYPE.get(plan_type) is not parent.plan_type \
                or not within(period, parent.period):
            raise DomainError(_l("A quarterly plan starts from the yearly plan of its year, a monthly plan from the "
                                 "quarterly plan of its quarter."), fields={"parent_id": "not a parent of this plan"})
        if content is None:
            content, times = carried_over(parent.content, parent.text_written_at or {})
    contract = _contract_for(session, account, plan_type, period)
    content = clean(content or {}, contract.currency, _kpi_codes(contract))
    exists = sa.select(Plan.id).where(Plan.account_id == account.id, Plan.plan_type == plan_type, Plan.period == period)
    if session.scalar(exists) is not None:
        raise Conflict(_l("This account already has a plan for %(period)s.", period=period),
                       fields={"period": "a plan exists for this period"})
    now = utcnow()
    plan = Plan(account_id=account.id, contract_id=contract.id, plan_type=plan_type, period=period,
                parent_id=parent.id if parent else None, status=PlanStatus.DRAFT, currency=contract.currency,
                content=content, text_written_at=written_times(content if times else {}, times, content, now),
                version_number=0, created_by_id=by.id)
    session.add(plan)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # created at the same moment by a colleague
        raise Conflict(_l("This account already has a plan for %(period)s.", period=period),
                       fields={"period": "a plan exists for this period"}) from None
    audit.record(session, "plan.created", plan, actor=by, data={"plan_type": plan_type.value, "period": period})
    return plan


def edit(session: Session, plan: Plan, account: Account, by: User, content: dict[str, Any]) -> Plan:
    """Replace the plan's content. Texts keep the time they were written unless they
    change. A plan under review or awaiting sign-off is frozen again at once: a new
    version, which the reviewers review afresh."""
    if plan.status not in EDITABLE:
        raise Conflict(_l("A signed-off plan cannot be changed."))
    content = clean(content, plan.currency, _kpi_codes(plan.contract))
    _claim(session, plan)
    if canonical_json(content) == canonical_json(plan.content):
        return plan  # nothing changed: the version under review stands
    plan.text_written_at = written_times(plan.content, plan.text_written_at or {}, content, utcnow())
    plan.content = content
    session.flush()
    audit.record(session, "plan.edited", plan, actor=by)
    if plan.status in UNDER_REVIEW:
        _freeze(session, plan, account, by)
    return plan


def _claim(session: Session, plan: Plan) -> None:
    versioning.claim(session, plan, conflict=MOVED_ON)


# --- versions --------------------------------------------------------------------------


def canonical_content(plan: Plan, version_number: int) -> dict[str, Any]:
    """Everything the client signs, and nothing else. The version number is part of it,
    so a resubmission of the same content is a new version with its own hash."""
    return {
        "version": version_number,
        "plan_type": plan.plan_type,
        "period": plan.period,
        "currency": plan.currency,
        "contract": plan.contract.number if plan.contract else None,
        "content": {section: plan.content.get(section) or [] for section in SECTIONS},
    }


def _freeze(session: Session, plan: Plan, account: Account, by: User | None) -> PlanVersion:
    frozen = versioning.freeze(plan, lambda number: canonical_content(plan, number))
    version = PlanVersion(account_id=plan.account_id, number=frozen.number, content_hash=frozen.hash,
                          content=frozen.content, created_by_id=by.id if by else None)
    plan.versions.append(version)
    plan.version, plan.version_number, plan.status = frozen.hash, frozen.number, PlanStatus.IN_REVIEW
    session.flush()
    audit.record(session, "plan.submitted", plan, actor=by, data={"version": frozen.hash, "number": frozen.number})
    _notify(session, "plan_review_requested", reviewers_to_notify(session, account), plan, account, by)
    return version


def submit_for_review(session: Session, plan: Plan, by: User | None) -> PlanVersion:
    """Freeze the plan's content as a new version (content hash) and notify its
    reviewers: the account's regional reviewers and account managers."""
    session.flush()  # a plan just added gets its id and defaults
    if plan.status not in SUBMITTABLE:
        raise Conflict(_l("This plan is already in review or signed off."))
    if not plan.content.get("objectives"):
        raise DomainError(_l("Write at least one objective."), fields={"objectives": "required"})
    _claim(session, plan)
    account = session.scalar(sa.select(Account).where(Account.id == plan.account_id))
    return _freeze(session, plan, account, by)


def latest_version(plan: Plan) -> PlanVersion | None:
    return plan.versions[-1] if plan.versions else None


def version_content(version: PlanVersion) -> dict[str, Any]:
    return version.content.get("content") or {}


# --- the firm's approval and the translation gate --------------------------------------


@dataclass
class FirmApproval:
    """Who must approve the current version for the firm, and who has."""

    rule: str  # "reviewers": every assigned regional reviewer; "account_manager": one of them
    required: list[User]
    approved_by: set[int] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        ids = {user.id for user in self.required}
        if self.rule == "reviewers":
            return bool(ids) and ids <= self.approved_by
        return bool(ids & self.approved_by)

    def counts(self, user: User) -> bool:
        """Whether ``user``'s approval is one the plan waits for."""
        return any(required.id == user.id for required in self.required)

    def who_approves(self) -> str:
        """Said to a firm user whose approval does not count: whose does."""
        if not self.required:
            return _l("No one approves this plan for the firm yet: an administrator assigns a regional reviewer or an "
                      "account manager to the account.")
        return _l("The firm's approval of this plan is given by %(names)s. Comment or request changes instead.",
                  names=names(self.required))


def firm_approval(session: Session, plan: Plan, account: Account) -> FirmApproval:
    """The firm's approval of ``plan``'s current version (see the module's rules)."""
    approved = {r.reviewer_id for r in plan.reviews
                if r.decision is ReviewDecision.APPROVE and r.version_hash == plan.version and plan.version}
    reviewers = assigned(session, account, Role.REGIONAL_REVIEWER)
    if reviewers:
        return FirmApproval("reviewers", reviewers, approved)
    return FirmApproval("account_manager", assigned(session, account, Role.ACCOUNT_MANAGER), approved)


def gaps(plan: Plan, account: Account, content: dict[str, Any] | None = None) -> list[Gap]:
    """Missing and stale translations into the account's document languages."""
    return translation_gaps(plan.content if content is None else content, plan.text_written_at or {},
                            account.document_languages or ["en"])


def _gate(plan: Plan, account: Account) -> None:
    missing = gaps(plan, account)
    if missing:
        raise Conflict(_l("Every text must be translated, and no translation older than its English text, "
                          "before the client signs off."),
                       fields={f"{gap.path}.{gap.language}": gap.kind for gap in missing})


def reviewers_to_notify(session: Session, account: Account) -> list[User]:
    return assigned(session, account, Role.REGIONAL_REVIEWER) + assigned(session, account, Role.ACCOUNT_MANAGER)


# --- reviews and the sign-off ----------------------------------------------------------


def _transition(session: Session, plan: Plan, from_statuses: Iterable[PlanStatus], to_status: PlanStatus, *,
                version: str) -> None:
    versioning.transition(session, plan, from_statuses, to_status, version=version, conflict=MOVED_ON)


def review(session: Session, plan: Plan, account: Account, by: User, *, decision: ReviewDecision, body: str = "",
           language: str | None = None, section: str | None = None, version: str | None = None,
           internal: bool | None = None) -> PlanReview:
    """A review of the current version by a regional reviewer, an account manager or
    the client approver: a comment (optionally on a section), an approval (the firm's
    reviewers; the client signs off instead) or a request for changes, which sends
    the plan back to its author.

    A firm reviewer's remark is ``internal`` (the firm's only) unless they share it
    (``internal=False``); a client's is always shared. An approval is the firm's
    decision, which the client reads: it is shared, and an internal remark given
    with it is kept beside it as an internal comment."""
    if by.role not in REVIEWERS:
        raise DomainError(_l("Only reviewers, account managers and the client's approver review a plan."), status=403)
    body, language, section = body.strip(), language or by.language, section or None
    if decision is ReviewDecision.APPROVE and by.is_client:
        raise DomainError(_l("The client approves a plan by signing it off."),
                          fields={"decision": "the client signs off instead"})
    if decision is not ReviewDecision.APPROVE and not body:
        raise DomainError(_l("Write your comment first."), fields={"body": "required"})
    if language not in LANGUAGES:
        raise DomainError(_l("Some fields are not valid."), fields={"language": "one of en, zh, vi"})
    if section is not None and section not in SECTIONS:
        raise DomainError(_l("Some fields are not valid."), fields={"section": "unknown section"})
    if plan.status is PlanStatus.DRAFT or plan.version is None:
        raise Conflict(_l("This plan has not been submitted for review yet."))
    if plan.status is PlanStatus.SIGNED_OFF:
        raise Conflict(_l("This plan is signed off."))
    if version is not None and version != plan.version:
        raise Conflict(_l("This plan has a newer version. Reload it and review that one."))
    seen = plan.version
    if decision is ReviewDecision.REQUEST_CHANGES:
        _transition(session, plan, UNDER_REVIEW, PlanStatus.CHANGES_REQUESTED, version=seen)
    else:
        if decision is ReviewDecision.APPROVE:
            if plan.status is not PlanStatus.IN_REVIEW:
                raise Conflict(_l("Only a plan in review can be approved."))
            approval = firm_approval(session, plan, account)
            if not approval.counts(by):
                # An approval that would not count (an account manager's, where the
                # account's regional reviewers decide) is refused rather than recorded.
                raise DomainError(approval.who_approves(), status=403,
                                  fields={"decision": "not an approver of this plan"})
        _claim(session, plan)
    internal = by.is_firm and (True if internal is None else internal)
    remark = ""
    if decision is ReviewDecision.APPROVE and internal:
        internal, body, remark = False, "", body
    entry = PlanReview(account_id=plan.account_id, plan_id=plan.id, version_hash=seen, reviewer_id=by.id,
                       decision=decision, section=section, body=body, language=language, internal=internal,
                       created_at=utcnow())
    data = {"period": plan.period, "version": seen, "section": section}
    if decision is ReviewDecision.APPROVE:  # a decision: once per reviewer and version, chained
        versioning.record_decision(session, plan, entry, action="plan.approve", by=by, ip=None, data=data,
                                   conflict=_l("You have already approved this version."))
        plan.reviews.append(entry)
    else:
        plan.reviews.append(entry)
        session.flush()
        audit.record(session, f"plan.{decision.value}", plan, actor=by, chained=decision in CHAINED, data=data)
    if remark:
        plan.reviews.append(PlanReview(account_id=plan.account_id, plan_id=plan.id, version_hash=seen,
                                       reviewer_id=by.id, decision=ReviewDecision.COMMENT, section=section,
                                       body=remark, language=language, internal=True, created_at=utcnow()))
    session.flush()
    _notify(session, "plan_reviewed", _authors(session, plan, account), plan, account, by, review=entry)
    if decision is ReviewDecision.APPROVE:
        _send_for_signoff_if_ready(session, plan, account, by)
    return entry


def _send_for_signoff_if_ready(session: Session, plan: Plan, account: Account, by: User) -> None:
    if not firm_approval(session, plan, account).complete or gaps(plan, account):
        return
    _transition(session, plan, (PlanStatus.IN_REVIEW,), PlanStatus.PENDING_SIGNOFF, version=plan.version)
    audit.record(session, "plan.approved_by_firm", plan, actor=by, data={"version": plan.version})
    _notify(session, "plan_awaiting_signoff", client_approvers(session, account), plan, account, by)


def sign_off(session: Session, plan: Plan, account: Account, by: User, *, version: str, signature_name: str,
             ip: str = "", user_agent: str = "") -> PlanSignoff:
    """The client approver's sign-off of ``version`` with their typed full name.
    ``Conflict`` when the plan no longer awaits sign-off or the version is not the
    current one."""
    if by.role is not Role.CLIENT_APPROVER or by.account_id != plan.account_id:
        raise DomainError(_l("Only the client's approver signs off a plan."), status=403)
    signature_name = versioning.check_signature(signature_name, by)
    if plan.status is PlanStatus.PENDING_SIGNOFF and version == plan.version:
        _gate(plan, account)  # the account's languages may have changed since
    _transition(session, plan, (PlanStatus.PENDING_SIGNOFF,), PlanStatus.SIGNED_OFF, version=version)
    signoff = PlanSignoff(account_id=plan.account_id, plan_id=plan.id, version_hash=version, user_id=by.id,
                          signature_name=signature_name, ip=ip[:45], user_agent=user_agent[:300], signed_at=utcnow())
    versioning.record_decision(
        session, plan, signoff, action="plan.signed_off", by=by, ip=ip,
        data={"plan_type": plan.plan_type.value, "period": plan.period, "version": version,
              "signature_name": signoff.signature_name},
        conflict=_l("This plan was signed off in the meantime."))
    _notify(session, "plan_signed_off", reviewers_to_notify(session, account) + _authors(session, plan, account),
            plan, account, by, signoff=signoff)
    return signoff


def current_signoff(plan: Plan) -> PlanSignoff | None:
    """The sign-off of the plan's current version, if there is one."""
    return next((s for s in plan.signoffs if s.version_hash == plan.version), None)


# --- reading ---------------------------------------------------------------------------

def shown_content(plan: Plan, user: User) -> dict[str, Any]:
    """What ``user`` reads: the firm its working copy, the client the last version
    sent for review (changes in progress stay with the firm)."""
    version = latest_version(plan)
    if user.is_client and version is not None:
        return version_content(version)
    return plan.content


def plans(session: Session, *, account_id: int | None = None, plan_type: PlanType | None = None,
          status: PlanStatus | None = None) -> list[Plan]:
    """The plans the caller may see (the scope keeps drafts from clients), newest period first."""
    query = sa.select(Plan).order_by(Plan.period.desc(), Plan.id.desc())
    if account_id is not None:
        query = query.where(Plan.account_id == account_id)
    if plan_type is not None:
        query = query.where(Plan.plan_type == plan_type)
    if status is not None:
        query = query.where(Plan.status == status)
    return list(session.scalars(query))


def parent_choices(session: Session, account: Account, plan_type: PlanType) -> list[Plan]:
    """The plans a new plan of ``plan_type`` may start from."""
    wanted = PARENT_TYPE.get(plan_type)
    if wanted is None:
        return []
    return list(session.scalars(sa.select(Plan).where(Plan.account_id == account.id, Plan.plan_type == wanted)
                                .order_by(Plan.period.desc())))


# --- progress against the plan ---------------------------------------------------------


@dataclass
class KpiProgress:
    kpi: dict[str, Any]  # the plan's row
    contract_kpi: Kpi | None
    actual: Decimal | None = None
    period: date | None = None  # the month of the actual
    attainment: Decimal | None = None
    status: str = "none"  # green, amber, red; none without an actual


@dataclass
class Progress:
    kpis: list[KpiProgress]
    initiatives: dict[str, int]  # status → count
    overdue: list[int]  # indexes of open initiatives past their due date


def progress(session: Session, plan: Plan, content: dict[str, Any], today: date) -> Progress:
    """The plan's KPIs with the latest actual of the contract KPI each names, against
    the plan's target (attainment and red/amber/green as on the scorecard), and its
    initiatives by status, those past their due date on ``today`` (the account's) overdue."""
    from portal.kpis.service import RATIO, status

    by_code = {k.code: k for k in plan.contract.kpis} if plan.contract else {}
    latest = _latest_actuals(session, [k for k in by_code.values()])
    rows = []
    for row in content.get("kpis") or []:
        kpi = by_code.get(row.get("kpi") or "")
        line = KpiProgress(row, kpi)
        measured = latest.get(kpi.id) if kpi else None
        if measured is not None:
            line.actual, line.period = measured.actual, measured.period
            target = Decimal(row["target"])
            if kpi.direction is KpiDirection.HIGHER:
                value = measured.actual / target if target else Decimal(1)
            else:
                value = target / measured.actual if measured.actual else Decimal(1)
            line.attainment = value.quantize(RATIO, ROUND_HALF_UP)
            line.status = status(kpi, line.attainment)
        rows.append(line)
    counts: dict[str, int] = {}
    overdue = []
    for index, initiative in enumerate(content.get("initiatives") or []):
        counts[initiative.get("status") or "planned"] = counts.get(initiative.get("status") or "planned", 0) + 1
        if initiative.get("due") and initiative.get("status") not in CLOSED and date.fromisoformat(initiative["due"]) < today:
            overdue.append(index)
    return Progress(rows, counts, overdue)


def _latest_actuals(session: Session, kpis: list[Kpi]) -> dict[int, KpiMeasurement]:
    if not kpis:
        return {}
    newest = (sa.select(KpiMeasurement.kpi_id, sa.func.max(KpiMeasurement.period).label("period"))
              .where(KpiMeasurement.kpi_id.in_([k.id for k in kpis])).group_by(KpiMeasurement.kpi_id).subquery())
    rows = session.scalars(sa.select(KpiMeasurement).join(
        newest, sa.and_(KpiMeasurement.kpi_id == newest.c.kpi_id, KpiMeasurement.period == newest.c.period)))
    return {m.kpi_id: m for m in rows}


# --- documents -------------------------------------------------------------------------


def document_number(session: Session, plan: Plan) -> str:
    """JBP-FY2027-01: unique in the firm per type and period, gap-free under concurrency."""
    prefix = plan.plan_type.value.upper()
    value = next_value(session, f"doc:{prefix}:{plan.period}")
    return f"{prefix}-{plan.period}-{value:02d}"


def _moment(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _per_language(message: str, languages: list[str], **values: Any) -> dict[str, str]:
    """A UI message in each of the document's languages."""
    texts_ = {}
    for lang in languages:
        with force_locale(lang):
            texts_[lang] = gettext(message, **values)
    return texts_


def document_input(plan: Plan, account: Account, issuer: User, number: str, languages: list[str],
                   today: date, show_source_text: bool = False) -> dict[str, Any]:
    """docgen's input for the plan's latest version, with its review history and the
    client's sign-off of that version."""
    from docgen.units import unit_text

    version = latest_version(plan)
    content = version_content(version)
    signoff = next((s for s in plan.signoffs if s.version_hash == version.content_hash), None)
    reviews = [  # the document is the client's: the firm's internal remarks stay out
        {"reviewer": r.reviewer.name if r.reviewer else "—", "decision": r.decision.value, "at": _moment(r.created_at),
         **({"body": {r.language: r.body}} if r.body else {})}
        for r in plan.reviews if not r.internal
    ]
    if signoff is not None:
        reviews.append({"reviewer": signoff.signature_name, "decision": "sign_off", "at": _moment(signoff.signed_at),
                        "body": _per_language("Version: %(hash)s", languages, hash=signoff.version_hash)})
    return {
        "kind": "plan", "languages": languages, "number": number, "date": today.isoformat(),
        "title": f"{plan.plan_type.value.upper()} {plan.period}",
        "plan_type": plan.plan_type.value, "period": plan.period, "currency": plan.currency,
        "provider": provider(issuer), "client": client_party(account, signoff.user if signoff else None),
        "objectives": content.get("objectives") or [],
        "kpis": [{"name": k["name"], "target": k["target"],
                  **({"baseline": k["baseline"]} if k.get("baseline") else {}),
                  **({"unit": unit_text(k["unit"])} if k.get("unit") else {})} for k in content.get("kpis") or []],
        "initiatives": [{"title": i["title"], "owner": i["owner"], "status": i.get("status") or "planned",
                         **({"due": i["due"]} if i.get("due") else {})} for i in content.get("initiatives") or []],
        "budget": [{"item": b["item"], "amount": b["amount"]} for b in content.get("budget") or []],
        "risks": [{"risk": r["risk"], "mitigation": r["mitigation"], **({"owner": r["owner"]} if r.get("owner") else {})}
                  for r in content.get("risks") or []],
        "reviews": reviews, **conventions(account), "untranslated": untranslated_policy(show_source_text),
    }


def _check_document(plan: Plan, account: Account, languages: list[str]) -> list[str]:
    if latest_version(plan) is None:
        raise Conflict(_l("Submit the plan for review before issuing it as a document."))
    if plan.contract is None:
        raise Conflict(_l("This plan has no contract to number its document under."))
    return check_languages(account, languages)


def preview_document(plan: Plan, account: Account, by: User, languages: list[str],
                     show_source_text: bool = False) -> Preview:
    """The document ``issue_document`` would make, without issuing it (``preview``)."""
    languages = _check_document(plan, account, languages)
    number = preview_number(plan.plan_type.value.upper(), plan.period)
    return preview(account, plan.contract,
                   document_input(plan, account, by, number, languages, account.today(), show_source_text))


def issue_document(session: Session, plan: Plan, account: Account, by: User, languages: list[str],
                   show_source_text: bool = False) -> Document:
    """Render and store the plan's latest version as a document (kind ``plan``); a text
    of the plan without a translation refuses it unless ``show_source_text``."""
    languages = _check_document(plan, account, languages)
    # A plan has one number: issued again (another version, other languages), it is
    # the next revision of that number.
    numbered = numbering(session, f"plan:{plan.id}", sa.select(Document).where(Document.plan_id == plan.id),
                         lambda: document_number(session, plan))
    data = document_input(plan, account, by, numbered.number, languages, account.today(), show_source_text)
    return store_document(session, account, plan.contract, DocumentKind.PLAN, numbered, data, by, plan_id=plan.id)


# --- notifications ---------------------------------------------------------------------


def _authors(session: Session, plan: Plan, account: Account) -> list[User]:
    return ([plan.created_by] if plan.created_by else []) + account_managers(session, account)


def _notify(session: Session, kind: str, users: Iterable[User], plan: Plan, account: Account, by: User | None,
            **context: Any) -> None:
    recipients = [Recipient.of_user(u) for u in users if u is not None and (by is None or u.id != by.id)]
    if not recipients:
        return
    notify(session, kind, recipients, account_id=account.id, plan=plan, account=account, by=by,
           plan_label=plan_label, url=link(f"/plans/{plan.id}"), **context)

