"""Service requests: raising them, the conversation, SLA clocks, escalation, feedback.

Clocks: a request's first-response and resolution due times are computed when it is
raised, from the SLA target of its priority in the account's current contract, in
business time of the account's time zone (``sla``). While a request waits on the
client the clock stops; when it restarts, both due times move on by the business time
spent waiting. ``check_sla`` (``flask sla check``) escalates each breach once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit
from portal.domain import Conflict, DomainError
from portal.accounts import account_managers, current_contract, firm_team
from portal.files import CheckedFile
from portal.models import (
    Account,
    ActionItem,
    ActionSource,
    Attachment,
    Contract,
    Escalation,
    EscalationContact,
    EscalationTrigger,
    Feedback,
    OwnerSide,
    Priority,
    RequestCategory,
    RequestComment,
    RequestStatus,
    ServiceRequest,
    StoredFile,
    User,
)
from portal.models.base import utcnow
from portal.security import client_may_see
from portal.notifications import Recipient, notify
from portal.service_requests import sla

OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS, RequestStatus.WAITING_CLIENT)
DONE_STATUSES = (RequestStatus.RESOLVED, RequestStatus.CLOSED)
TOP_LEVEL = 3
LOW_RATING = 2
LOW_RATING_ACTION_DAYS = 7

# Targets when a contract names none (business minutes; 1 business day = 9 h).
DEFAULT_TARGETS = {
    Priority.URGENT: (60, 240),
    Priority.HIGH: (240, 540),
    Priority.NORMAL: (540, 1620),
    Priority.LOW: (1080, 2700),
}

# Which status may follow which, and who may set it.
FIRM_TRANSITIONS = {
    RequestStatus.OPEN: {RequestStatus.IN_PROGRESS, RequestStatus.WAITING_CLIENT, RequestStatus.RESOLVED, RequestStatus.CLOSED},
    RequestStatus.IN_PROGRESS: {RequestStatus.WAITING_CLIENT, RequestStatus.RESOLVED, RequestStatus.CLOSED},
    RequestStatus.WAITING_CLIENT: {RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.CLOSED},
    RequestStatus.RESOLVED: {RequestStatus.IN_PROGRESS, RequestStatus.CLOSED},
    RequestStatus.CLOSED: set(),
}
CLIENT_TRANSITIONS = {
    RequestStatus.RESOLVED: {RequestStatus.IN_PROGRESS, RequestStatus.CLOSED},  # reopen, or confirm
}


# --- clocks ------------------------------------------------------------------------


def calendar_for(account: Account) -> sla.BusinessCalendar:
    return sla.BusinessCalendar(timezone=account.timezone, country=account.country)


@dataclass(frozen=True)
class ServiceLevel:
    """The targets for requests of one priority: minutes to the first response and to
    resolution, counted in business hours (the account's working days) or around the
    clock; ``standard`` when the contract sets none and the portal's own apply."""

    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool = True
    standard: bool = False


PRIORITIES = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)  # most urgent first


def service_levels(contract: Contract | None) -> list[ServiceLevel]:
    """Each priority's targets under ``contract``, most urgent first: the contract's own,
    else the standard ones (``DEFAULT_TARGETS``, business hours)."""
    rows = {} if contract is None else {target.priority: target for target in contract.sla_targets}
    levels = []
    for priority in PRIORITIES:
        row = rows.get(priority)
        if row is not None:
            levels.append(ServiceLevel(priority, row.first_response_minutes, row.resolution_minutes, row.business_hours))
        else:
            first, resolution = DEFAULT_TARGETS[priority]
            levels.append(ServiceLevel(priority, first, resolution, standard=True))
    return levels


def target_for(session: Session, account: Account, priority: Priority) -> tuple[int, int, bool]:
    """(first response minutes, resolution minutes, business hours?) for ``priority``
    under the account's contract in force (``service_levels``)."""
    level = next(level for level in service_levels(current_contract(session, account))
                 if level.priority is priority)
    return level.first_response_minutes, level.resolution_minutes, level.business_hours


def next_due(request: ServiceRequest) -> datetime | None:
    """The target the request is racing now: first response, then resolution."""
    if request.status in DONE_STATUSES:
        return None
    if request.first_responded_at is None:
        return request.first_response_due_at
    return request.resolution_due_at


def is_overdue(request: ServiceRequest, now: datetime | None = None) -> bool:
    due = next_due(request)
    return due is not None and request.status is not RequestStatus.WAITING_CLIENT and due < (now or utcnow())


def _pause(request: ServiceRequest, now: datetime) -> None:
    request.waiting_since = now


def _resume(session: Session, request: ServiceRequest, account: Account, now: datetime) -> None:
    """Move both due times on by the (business) time spent waiting on the client."""
    if request.waiting_since is None:
        return
    _first, _resolution, business = target_for(session, account, request.priority)
    calendar = calendar_for(account)
    if business:
        waited = sla.business_minutes_between(calendar, request.waiting_since, now)
        shift = lambda due: sla.add_business_minutes(calendar, due, waited)  # noqa: E731
    else:
        waited = int((now - request.waiting_since).total_seconds() // 60)
        shift = lambda due: sla.add_wall_minutes(due, waited)  # noqa: E731
    if request.first_responded_at is None and request.first_response_due_at:
        request.first_response_due_at = shift(request.first_response_due_at)
    if request.resolution_due_at:
        request.resolution_due_at = shift(request.resolution_due_at)
    request.waiting_since = None


# --- people ------------------------------------------------------------------------


def escalation_contacts(session: Session, account: Account, level: int) -> list[EscalationContact]:
    """The firm's people at ``level`` of the account's matrix: who an escalation to that
    level reaches (the client's own contacts at each level are the client's to call)."""
    return list(session.scalars(
        sa.select(EscalationContact)
        .where(EscalationContact.account_id == account.id, EscalationContact.level == level,
               EscalationContact.side == OwnerSide.FIRM)
        .order_by(EscalationContact.id)
    ))


def _contact_recipients(session: Session, contacts: list[EscalationContact]) -> list[Recipient]:
    user_ids = [c.user_id for c in contacts if c.user_id]
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return [Recipient.of_contact(c, users.get(c.user_id)) for c in contacts]


def _firm_side(request: ServiceRequest, session: Session, account: Account) -> list[Recipient]:
    if request.assignee is not None:
        return [Recipient.of_user(request.assignee)]
    return [Recipient.of_user(u) for u in account_managers(session, account)]


def _client_side(request: ServiceRequest) -> list[Recipient]:
    return [Recipient.of_user(request.created_by)] if request.created_by and request.created_by.is_client else []


def _link(request: ServiceRequest) -> str:
    from portal.notifications import link

    return link(f"/requests/{request.id}")


def _action_link(action: ActionItem) -> str:
    from portal.notifications import link

    return link(f"/actions/{action.id}")


# --- changes -----------------------------------------------------------------------


def _attach(session: Session, request: ServiceRequest, files: list[CheckedFile], by: User, comment: RequestComment | None) -> None:
    for checked in files:
        stored = StoredFile(account_id=request.account_id, filename=checked.filename, content_type=checked.content_type,
                            size=checked.size, sha256=checked.sha256, data=checked.data)
        session.add(stored)
        session.flush()
        request.attachments.append(Attachment(account_id=request.account_id, file_id=stored.id, uploaded_by_id=by.id,
                                              comment_id=comment.id if comment else None))


def create_request(
    session: Session,
    account: Account,
    by: User,
    *,
    category: RequestCategory,
    subject: str,
    description: str,
    priority: Priority,
    files: list[CheckedFile] = (),
    invoice_id: int | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """Raise a request; its SLA clocks start now. Notifies the account manager."""
    now = now or utcnow()
    first, resolution, business = target_for(session, account, priority)
    calendar = calendar_for(account)
    managers = account_managers(session, account)
    request = ServiceRequest(
        account_id=account.id, category=category, subject=subject.strip(), description=description.strip(),
        priority=priority, status=RequestStatus.OPEN, created_by_id=by.id, escalation_level=1,
        assignee_id=managers[0].id if managers else None, invoice_id=invoice_id, created_at=now, updated_at=now,
        first_response_due_at=sla.due_at(calendar, now, first, business),
        resolution_due_at=sla.due_at(calendar, now, resolution, business),
    )
    session.add(request)
    session.flush()
    _attach(session, request, list(files), by, None)
    session.flush()
    audit.record(session, "request.created", request, actor=by, data={"priority": priority.value, "category": category.value})
    notify(session, "request_created", [Recipient.of_user(m) for m in managers if m.id != by.id], account_id=account.id,
           request=request, account=account, url=_link(request))
    return request


def add_comment(
    session: Session, request: ServiceRequest, account: Account, by: User, body: str, *,
    internal: bool = False, files: list[CheckedFile] = (), now: datetime | None = None,
) -> RequestComment:
    """Add to the thread. The firm's first public reply stops the first-response clock;
    a client reply to a request waiting on the client restarts the clock. Internal
    notes are the firm's only and notify nobody on the client side."""
    now = now or utcnow()
    if request.status is RequestStatus.CLOSED:
        raise Conflict(_l("This request is closed."))
    if internal and not by.is_firm:
        internal = False
    comment = RequestComment(account_id=request.account_id, request_id=request.id, author_id=by.id,
                             body=body.strip(), internal=internal, created_at=now)
    session.add(comment)
    session.flush()
    _attach(session, request, list(files), by, comment)
    if by.is_firm and not internal and request.first_responded_at is None:
        request.first_responded_at = now
        if request.status is RequestStatus.OPEN:
            request.status = RequestStatus.IN_PROGRESS
    if by.is_client and request.status is RequestStatus.WAITING_CLIENT:
        _resume(session, request, account, now)
        request.status = RequestStatus.IN_PROGRESS
    request.updated_at = now
    session.flush()
    if not internal:
        recipients = _firm_side(request, session, account) if by.is_client else _client_side(request)
        notify(session, "request_reply", [r for r in recipients if r.user_id != by.id], account_id=account.id,
               request=request, comment=comment, author=by, url=_link(request))
    return comment


def change_status(session: Session, request: ServiceRequest, account: Account, by: User, status: RequestStatus,
                  now: datetime | None = None) -> None:
    """Move the request along its workflow, pausing or restarting the clock."""
    now = now or utcnow()
    allowed = (FIRM_TRANSITIONS if by.is_firm else CLIENT_TRANSITIONS).get(request.status, set())
    if status not in allowed:
        raise Conflict(_l("A request cannot go from this status to that one."))
    old = request.status
    if old is RequestStatus.WAITING_CLIENT:
        _resume(session, request, account, now)
    if status is RequestStatus.WAITING_CLIENT:
        _pause(request, now)
    if status is RequestStatus.RESOLVED:
        request.resolved_at = now
    if status is RequestStatus.CLOSED:
        request.closed_at = now
        request.resolved_at = request.resolved_at or now
    if old in DONE_STATUSES and status is RequestStatus.IN_PROGRESS:  # reopened
        request.resolved_at = None
    request.status, request.updated_at = status, now
    session.flush()
    audit.record(session, "request.status_changed", request, actor=by, data={"from": old.value, "to": status.value})
    recipients = _client_side(request) if by.is_firm else _firm_side(request, session, account)
    notify(session, "request_status", [r for r in recipients if r.user_id != by.id], account_id=account.id,
           request=request, old_status=old, url=_link(request))


def assign(session: Session, request: ServiceRequest, account: Account, by: User, assignee: User) -> None:
    if assignee not in firm_team(session, account):
        raise DomainError(_l("Requests can only be assigned to the account's team."))
    request.assignee_id = assignee.id
    request.assignee = assignee
    session.flush()
    audit.record(session, "request.assigned", request, actor=by, data={"assignee": assignee.email})


def escalate(session: Session, request: ServiceRequest, account: Account, by: User | None, *,
             trigger: EscalationTrigger, reason: str = "", now: datetime | None = None) -> Escalation | None:
    """Raise the request one level of the escalation matrix and tell the people there.

    A client escalates by hand with a reason; a breach escalates automatically. At the
    top level an automatic escalation changes nothing (None); a manual one is refused."""
    now = now or utcnow()
    if request.status in DONE_STATUSES:
        raise Conflict(_l("A resolved or closed request cannot be escalated."))
    if request.escalation_level >= TOP_LEVEL:
        if trigger is EscalationTrigger.CLIENT:
            raise Conflict(_l("This request is already at the highest escalation level."))
        return None
    escalation = Escalation(account_id=request.account_id, request_id=request.id, from_level=request.escalation_level,
                            to_level=request.escalation_level + 1, trigger=trigger, reason=reason.strip(),
                            created_by_id=by.id if by else None, created_at=now)
    request.escalation_level = escalation.to_level
    request.updated_at = now
    session.add(escalation)
    session.flush()
    audit.record(session, "request.escalated", request, actor=by,
                 data={"from": escalation.from_level, "to": escalation.to_level, "trigger": trigger.value, "reason": reason})
    contacts = escalation_contacts(session, account, escalation.to_level)
    notify(session, "request_escalated", _contact_recipients(session, contacts) + _firm_side(request, session, account),
           account_id=account.id, request=request, escalation=escalation, url=_link(request))
    return escalation


def _claim_breach(session: Session, request: ServiceRequest, column, now: datetime) -> bool:
    """Record the breach with a conditional UPDATE: of two overlapping `sla check`
    runs, only one records it and escalates."""
    result = session.execute(
        sa.update(ServiceRequest).where(ServiceRequest.id == request.id, column.is_(None))
        .values({column.key: now}).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    setattr(request, column.key, now)
    return True


def check_sla(session: Session, now: datetime | None = None) -> list[Escalation]:
    """Escalate every request whose target was breached and not yet escalated for.
    Idempotent: a breach is recorded once and escalates once. Requests waiting on the
    client are paused and not checked."""
    now = now or utcnow()
    escalations: list[Escalation] = []
    first_breach = sa.and_(
        ServiceRequest.first_responded_at.is_(None),
        ServiceRequest.first_response_due_at < now,
        ServiceRequest.first_response_breached_at.is_(None),
    )
    resolution_breach = sa.and_(ServiceRequest.resolution_due_at < now, ServiceRequest.resolution_breached_at.is_(None))
    breached = session.scalars(
        sa.select(ServiceRequest)
        .where(ServiceRequest.status.in_((RequestStatus.OPEN, RequestStatus.IN_PROGRESS)), sa.or_(first_breach, resolution_breach))
        .options(selectinload(ServiceRequest.account))
        .order_by(ServiceRequest.id)
    ).all()
    for request in breached:
        triggers = []
        if request.first_responded_at is None and request.first_response_due_at < now and request.first_response_breached_at is None:
            if _claim_breach(session, request, ServiceRequest.first_response_breached_at, now):
                triggers.append(EscalationTrigger.FIRST_RESPONSE_BREACH)
        if request.resolution_due_at < now and request.resolution_breached_at is None:
            if _claim_breach(session, request, ServiceRequest.resolution_breached_at, now):
                triggers.append(EscalationTrigger.RESOLUTION_BREACH)
        for trigger in triggers:
            escalation = escalate(session, request, request.account, None, trigger=trigger, now=now)
            if escalation is not None:
                escalations.append(escalation)
    return escalations


# --- feedback ----------------------------------------------------------------------


def give_feedback(session: Session, account: Account, by: User, *, rating: int, comment: str = "",
                  request: ServiceRequest | None = None, now: datetime | None = None) -> Feedback:
    """Record a rating (1-5). A low rating (2 or less) opens an action item for the
    account manager, due in 7 days, and tells them. ``now`` dates the rating and that
    item."""
    now = now or utcnow()
    if not 1 <= rating <= 5:
        raise DomainError(_l("A rating is from 1 to 5."))
    if request is not None:
        if request.status not in DONE_STATUSES:
            raise Conflict(_l("Feedback on a request is given once it is resolved."))
        if session.scalar(sa.select(Feedback.id).where(Feedback.request_id == request.id)) is not None:
            raise Conflict(_l("Feedback on this request has already been given."))
    feedback = Feedback(account_id=account.id, request_id=request.id if request else None, user_id=by.id,
                        rating=rating, comment=comment.strip(), created_at=now)
    try:
        with session.begin_nested():
            session.add(feedback)
    except sa.exc.IntegrityError:  # a concurrent rating of the same request won
        raise Conflict(_l("Feedback on this request has already been given.")) from None
    audit.record(session, "feedback.given", feedback, actor=by, data={"rating": rating})
    if rating <= LOW_RATING:
        managers = account_managers(session, account)
        owner = managers[0] if managers else None
        today = account.today(now)
        action = ActionItem(
            account_id=account.id, title=str(_l("Follow up low feedback (%(rating)d/5)", rating=rating)),
            description=feedback.comment, owner_side=OwnerSide.FIRM, owner_id=owner.id if owner else None,
            owner_name=owner.name if owner else "", source=ActionSource.FEEDBACK,
            due_date=today + timedelta(days=LOW_RATING_ACTION_DAYS),
            request_id=request.id if request else None, feedback_id=feedback.id, created_by_id=by.id,
            created_at=now,
        )
        session.add(action)
        session.flush()
        notify(session, "feedback_low", [Recipient.of_user(m) for m in managers], account_id=account.id,
               feedback=feedback, account=account, action=action, request=request,
               url=_link(request) if request else _action_link(action))
    return feedback


def awaiting_feedback(session: Session, user: User) -> list[ServiceRequest]:
    """Resolved requests this client user raised and has not rated yet."""
    rated = sa.select(Feedback.request_id).where(Feedback.request_id.is_not(None))
    return list(session.scalars(
        sa.select(ServiceRequest)
        .where(ServiceRequest.created_by_id == user.id, ServiceRequest.status.in_(DONE_STATUSES),
               ServiceRequest.id.not_in(rated))
        .order_by(ServiceRequest.resolved_at.desc())
        .limit(5)
    ))


def csat_by_month(session: Session, accounts: list[Account], months: int = 12, today: date | None = None) -> list[dict]:
    """Per account and local month (the last ``months`` of them, this one included):
    number of ratings, average, and CSAT (the share rated 4 or 5). The months end with
    ``today``'s, by default each account's own local today."""
    result = []
    for account in accounts:
        on = today or account.today()
        year, month = divmod(on.year * 12 + on.month - 1 - (months - 1), 12)
        since, _end = account.month_window(date(year, month + 1, 1))
        rows = session.execute(
            sa.select(Feedback.created_at, Feedback.rating)
            .where(Feedback.account_id == account.id, Feedback.created_at >= since)
        ).all()
        by_month: dict[date, list[int]] = {}
        for created_at, rating in rows:
            by_month.setdefault(account.local_date(created_at).replace(day=1), []).append(rating)
        for month_start, ratings in sorted(by_month.items(), reverse=True):
            result.append({
                "account": account, "month": month_start, "count": len(ratings),
                "average": sum(ratings) / len(ratings),
                "csat": sum(1 for r in ratings if r >= 4) / len(ratings),
            })
    return result


# --- reading -----------------------------------------------------------------------


def visible_comments(request: ServiceRequest, user: User) -> list[RequestComment]:
    """The thread as ``user`` may read it (the models' policy: internal notes are the
    firm's only). In a client's request the scope has left them out already."""
    return [c for c in request.comments if client_may_see(user, c)]


def visible_attachments(request: ServiceRequest, user: User) -> list[Attachment]:
    """The files ``user`` may open: not those of an internal note, for a client."""
    return [a for a in request.attachments if client_may_see(user, a)]


def next_due_expression() -> sa.ColumnElement:
    """``next_due`` in SQL, for sorting and filtering the queue."""
    return sa.case(
        (ServiceRequest.first_responded_at.is_(None), ServiceRequest.first_response_due_at),
        else_=ServiceRequest.resolution_due_at,
    )


def queue_query(*, account_id: int | None = None, status: str | None = None, priority: str | None = None,
                category: str | None = None, overdue: bool = False, sort: str = "sla",
                now: datetime | None = None) -> sa.Select:
    """The requests list with the queue's filters (the scope limits it to the caller's
    accounts). ``status`` may be a status or ``active`` (not resolved or closed)."""
    now = now or utcnow()
    query = sa.select(ServiceRequest).options(selectinload(ServiceRequest.account), selectinload(ServiceRequest.assignee))
    if account_id:
        query = query.where(ServiceRequest.account_id == account_id)
    if status == "active":
        query = query.where(ServiceRequest.status.in_(OPEN_STATUSES))
    elif status in RequestStatus.__members__.values() or status in {s.value for s in RequestStatus}:
        query = query.where(ServiceRequest.status == RequestStatus(status))
    if priority in {p.value for p in Priority}:
        query = query.where(ServiceRequest.priority == Priority(priority))
    if category in {c.value for c in RequestCategory}:
        query = query.where(ServiceRequest.category == RequestCategory(category))
    due = next_due_expression()
    if overdue:
        query = query.where(ServiceRequest.status.in_((RequestStatus.OPEN, RequestStatus.IN_PROGRESS)), due < now)
    if sort == "newest":
        return query.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
    done_last = sa.case((ServiceRequest.status.in_(DONE_STATUSES), 1), else_=0)
    return query.order_by(done_last, due.asc(), ServiceRequest.id.desc())
