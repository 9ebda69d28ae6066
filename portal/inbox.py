"""The inbox: everything that waits for one user, oldest due first.

The home page and ``GET /api/v1/inbox`` both read ``items_for``. Each kind of work is a
*collector* that asks the scoped session (``portal.security``) for what waits on the
user, so the inbox shows nothing of an account the user does not see, and nothing a
client's policy hides (a firm's draft). Every collector runs a fixed number of
statements whatever the number of accounts.

An item leaves the inbox when its work is done, because each collector asks for the
state that needs the work: a change request still pending, a plan version not yet
approved by this reviewer, a month not yet acknowledged, and so on.

Due times: a deadline that is a whole day of the account's calendar (an action item's
due date, an invoice's, a change request's effective date) is due at the last second of
that day in the account's time zone, as the portal's "overdue" has always meant (an
invoice due on the 5th is overdue on the 6th in Hanoi); ``due_on`` keeps that day, for
pages that show a date rather than a time. A request's SLA target is a moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.orm import Session, aliased, selectinload

from portal.accounts import visible_accounts
from portal.actions.service import OPEN as OPEN_ACTIONS
from portal.change_requests import service as change_requests
from portal.credits.service import DECIDERS
from portal.documents import review as document_review
from portal.i18n import localized, money, month
from portal.jobs.core import url_path
from portal.models import (
    CLIENT_ROLES,
    Account,
    ActionItem,
    CRStatus,
    Invoice,
    InvoiceStatus,
    KpiMeasurement,
    OwnerSide,
    Plan,
    PlanStatus,
    RequestStatus,
    ReviewDecision,
    Role,
    ScorecardAcknowledgement,
    ServiceCredit,
    ServiceCreditStatus,
    ServiceRequest,
    User,
    account_members,
)
from portal.models.base import utcnow
from portal.plans.labels import plan_label
from portal.service_requests.service import next_due

# Every kind of item, in the order the page lists undated items.
KINDS = (
    "change_request_approval",
    "change_request_internal_approval",
    "plan_signoff",
    "plan_review",
    "document_review",
    "request_awaiting_reply",
    "action_due",
    "scorecard_acknowledgement",
    "invoice_overdue",
    "invoice_held",
    "service_credit_approval",
)

LABELS = {
    "change_request_approval": _l("Change request to approve"),
    "change_request_internal_approval": _l("Change request to approve internally"),
    "plan_signoff": _l("Plan to sign off"),
    "plan_review": _l("Plan to review"),
    "document_review": _l("Document to review"),
    "request_awaiting_reply": _l("Request awaiting your reply"),
    "action_due": _l("Action item due"),
    "scorecard_acknowledgement": _l("Scorecard to acknowledge"),
    "invoice_overdue": _l("Overdue invoice"),
    "service_credit_approval": _l("Service credit to decide"),
    "invoice_held": _l("Invoice held for its prices"),
}

# An action item is in its owner's inbox from this many days before its due date.
ACTION_DUE_WITHIN_DAYS = 7


@dataclass(frozen=True)
class InboxItem:
    """One piece of work waiting for the user. ``kind``, ``id``, ``account_id``,
    ``title``, ``due_at`` and ``url`` are what the API gives; ``id`` is the object's
    (a scorecard, which has none, is its month as the number YYYYMM). ``title`` is in
    the reader's language. ``due_on`` is the day of a whole-day deadline."""

    kind: str
    id: int
    account_id: int
    title: str
    due_at: datetime | None
    url: str
    due_on: date | None = None

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at < now

    @property
    def label(self) -> str:
        return str(LABELS.get(self.kind, self.kind))


@dataclass
class _Context:
    session: Session
    user: User
    accounts: dict[int, Account]
    now: datetime

    def today(self, account_id: int) -> date:
        return self.accounts[account_id].today(self.now)


Collector = Callable[[_Context], Iterable[InboxItem]]
COLLECTORS: list[Collector] = []


def collector(function: Collector) -> Collector:
    """Register a kind of work (the extension point: a new kind is one more collector)."""
    COLLECTORS.append(function)
    return function


def items_for(session: Session, user: User, *, accounts: list[Account] | None = None,
              now: datetime | None = None) -> list[InboxItem]:
    """What waits for ``user``, oldest due first, undated items last (by kind, then
    oldest object first). Run it in ``user``'s scope (a request of theirs, or
    ``scoped_to(scope_for(user))``): the scope is what keeps other accounts out.
    ``accounts`` are the accounts the caller sees, when already loaded."""
    if accounts is None:
        accounts = visible_accounts(session)
    context = _Context(session, user, {a.id: a for a in accounts}, now or utcnow())
    items = [item for collect in COLLECTORS for item in collect(context) if item.account_id in context.accounts]
    order = {kind: index for index, kind in enumerate(KINDS)}
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(items, key=lambda i: (i.due_at is None, i.due_at or far, order[i.kind], i.id))


def end_of_day(day: date, account: Account) -> datetime:
    """The last second of ``day`` in the account's time zone, in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(account.timezone)).astimezone(timezone.utc)


def _due_on(day: date, account: Account) -> dict:
    return {"due_at": end_of_day(day, account), "due_on": day}


# --- change requests -------------------------------------------------------------------


@collector
def _change_requests(context: _Context) -> Iterable[InboxItem]:
    """A client approver's CRs pending client approval; an administrator's pending
    internal approval (not those they wrote). Due by the effective date."""
    for cr in change_requests.pending_for(context.session, context.user):
        kind = ("change_request_approval" if cr.status is CRStatus.PENDING_CLIENT_APPROVAL
                else "change_request_internal_approval")
        account = context.accounts.get(cr.account_id)
        if account is None:
            continue
        yield InboxItem(kind, cr.id, cr.account_id, f"{cr.number} · {localized(cr.title)}",
                        url=url_path("change_requests.detail", change_request_id=cr.id),
                        **_due_on(cr.effective_date, account))


# --- plans -----------------------------------------------------------------------------


def _plan_title(plan: Plan) -> str:
    return f"{plan_label('type', plan.plan_type)} {plan.period}"


@collector
def _plan_signoffs(context: _Context) -> Iterable[InboxItem]:
    """Plans awaiting the client approver's sign-off."""
    if context.user.role is not Role.CLIENT_APPROVER:
        return
    plans = context.session.scalars(sa.select(Plan).where(Plan.status == PlanStatus.PENDING_SIGNOFF))
    for plan in plans:
        yield InboxItem("plan_signoff", plan.id, plan.account_id, _plan_title(plan), None,
                        url_path("plans.detail", plan_id=plan.id))


@collector
def _plan_reviews(context: _Context) -> Iterable[InboxItem]:
    """Plans in review whose current version waits for this user's approval: every
    regional reviewer assigned to the account, or, where it has none, its account
    managers until one of them approves (``plans.service.firm_approval``'s rule)."""
    user = context.user
    if user.role not in (Role.REGIONAL_REVIEWER, Role.ACCOUNT_MANAGER):
        return
    plans = list(context.session.scalars(sa.select(Plan).where(Plan.status == PlanStatus.IN_REVIEW)
                                         .options(selectinload(Plan.reviews))))
    if not plans:
        return
    # The accounts (of these plans) that have an active regional reviewer, in one statement.
    with_reviewers = set(context.session.scalars(
        sa.select(account_members.c.account_id).join(User, User.id == account_members.c.user_id)
        .where(account_members.c.account_id.in_({p.account_id for p in plans}),
               User.role == Role.REGIONAL_REVIEWER, User.active).distinct()))
    for plan in plans:
        approved = {r.reviewer_id for r in plan.reviews
                    if r.decision is ReviewDecision.APPROVE and r.version_hash == plan.version}
        if user.role is Role.REGIONAL_REVIEWER:
            waits = user.id not in approved
        else:
            waits = plan.account_id not in with_reviewers and not approved
        if waits:
            yield InboxItem("plan_review", plan.id, plan.account_id, _plan_title(plan), None,
                            url_path("plans.detail", plan_id=plan.id))


# --- documents -------------------------------------------------------------------------


@collector
def _document_reviews(context: _Context) -> Iterable[InboxItem]:
    """Drafts waiting for this regional reviewer's approval before they are issued."""
    for document in document_review.waiting_for(context.session, context.user):
        title = f"{document.label} · {localized(document, 'title')}" if document.title else document.label
        yield InboxItem("document_review", document.id, document.account_id, title, None,
                        url_path("documents.detail", document_id=document.id))


# --- requests --------------------------------------------------------------------------


@collector
def _requests_awaiting_reply(context: _Context) -> Iterable[InboxItem]:
    """On the client's side, requests waiting for the client that the user raised (or
    that the firm raised for the client: then any of its users may answer). On the
    firm's side, open requests of the user's (assigned to them, or unassigned on an
    account they manage) that have no public answer yet or whose last public word is
    the client's: due by the SLA target the request is racing."""
    user, session = context.user, context.session
    if user.is_client:
        creator = aliased(User)
        query = (sa.select(ServiceRequest).outerjoin(creator, creator.id == ServiceRequest.created_by_id)
                 .where(ServiceRequest.status == RequestStatus.WAITING_CLIENT,
                        sa.or_(ServiceRequest.created_by_id == user.id, creator.id.is_(None),
                               creator.role.not_in(CLIENT_ROLES))))
        for request in session.scalars(query):
            yield _request_item(request, None)
        return
    mine = ServiceRequest.assignee_id == user.id
    if user.role is Role.ACCOUNT_MANAGER:
        mine = sa.or_(mine, ServiceRequest.assignee_id.is_(None))
    query = (sa.select(ServiceRequest)
             .where(ServiceRequest.status.in_((RequestStatus.OPEN, RequestStatus.IN_PROGRESS)), mine)
             .options(selectinload(ServiceRequest.comments)))
    requests = list(session.scalars(query))
    authors = {c.author_id for r in requests for c in r.comments if c.author_id}
    clients = set(session.scalars(sa.select(User.id).where(User.id.in_(authors), User.role.in_(CLIENT_ROLES)))) \
        if authors else set()
    for request in requests:
        public = [c for c in request.comments if not c.internal]
        if request.first_responded_at is None or (public and public[-1].author_id in clients):
            yield _request_item(request, next_due(request))


def _request_item(request: ServiceRequest, due_at: datetime | None) -> InboxItem:
    return InboxItem("request_awaiting_reply", request.id, request.account_id,
                     _("Request #%(id)d: %(subject)s", id=request.id, subject=request.subject), due_at,
                     url_path("requests.detail", request_id=request.id))


# --- action items ----------------------------------------------------------------------


@collector
def _actions_due(context: _Context) -> Iterable[InboxItem]:
    """Open action items the user owns that are overdue or due within
    ``ACTION_DUE_WITHIN_DAYS`` days of the account's today. A client user owns only
    items the client owns."""
    user = context.user
    if not context.accounts:
        return
    horizon = max(context.today(a) for a in context.accounts) + timedelta(days=ACTION_DUE_WITHIN_DAYS)
    query = sa.select(ActionItem).where(ActionItem.owner_id == user.id, ActionItem.status.in_(OPEN_ACTIONS),
                                        ActionItem.due_date <= horizon)
    if user.is_client:
        query = query.where(ActionItem.owner_side == OwnerSide.CLIENT)
    for item in context.session.scalars(query):
        account = context.accounts.get(item.account_id)
        if account is None or item.due_date > context.today(item.account_id) + timedelta(days=ACTION_DUE_WITHIN_DAYS):
            continue
        yield InboxItem("action_due", item.id, item.account_id, localized(item, "title"),
                        url=url_path("actions.detail", action_id=item.id), **_due_on(item.due_date, account))


# --- scorecards ------------------------------------------------------------------------


@collector
def _scorecards(context: _Context) -> Iterable[InboxItem]:
    """For the client's users, the account's latest measured month while nobody of the
    client has acknowledged it (earlier months are history by then)."""
    if not context.user.is_client:
        return
    latest = (sa.select(KpiMeasurement.account_id, sa.func.max(KpiMeasurement.period).label("period"))
              .group_by(KpiMeasurement.account_id).subquery())
    acknowledged = sa.exists().where(ScorecardAcknowledgement.account_id == latest.c.account_id,
                                     ScorecardAcknowledgement.period == latest.c.period)
    for account_id, period in context.session.execute(sa.select(latest.c.account_id, latest.c.period)
                                                      .where(~acknowledged)):
        yield InboxItem("scorecard_acknowledgement", period.year * 100 + period.month, account_id,
                        _("Scorecard for %(month)s", month=month(period)), None,
                        url_path("scorecards.show", account_id=account_id, period=f"{period:%Y-%m}"))


# --- invoices --------------------------------------------------------------------------


@collector
def _overdue_invoices(context: _Context) -> Iterable[InboxItem]:
    """For the client's users, invoices past their due date and neither paid, disputed
    nor credited: to pay, or to dispute. Due on their due date."""
    if not context.user.is_client or not context.accounts:
        return
    latest_today = max(context.today(a) for a in context.accounts)
    query = sa.select(Invoice).where(Invoice.status == InvoiceStatus.ISSUED, Invoice.due_date < latest_today)
    for invoice in context.session.scalars(query):
        account = context.accounts.get(invoice.account_id)
        if account is None or invoice.due_date >= context.today(invoice.account_id):
            continue
        yield InboxItem("invoice_overdue", invoice.id, invoice.account_id,
                        f"{invoice.number} · {money(invoice.total, invoice.currency)}",
                        url=url_path("billing.detail", invoice_id=invoice.id), **_due_on(invoice.due_date, account))


# --- service credits -------------------------------------------------------------------

@collector
def _service_credits(context: _Context) -> Iterable[InboxItem]:
    """For finance and administrators, proposed service credits of the accounts they
    see, until approved or waived."""
    if context.user.role not in DECIDERS:
        return
    query = (sa.select(ServiceCredit).where(ServiceCredit.status == ServiceCreditStatus.PROPOSED)
             .options(selectinload(ServiceCredit.kpi)))
    for credit in context.session.scalars(query):
        yield InboxItem("service_credit_approval", credit.id, credit.account_id,
                        f"{credit.kpi.code} · {month(credit.period)} · {money(credit.amount, credit.currency)}", None,
                        url_path("credits.detail", credit_id=credit.id))


# --- invoices held for their prices ---------------------------------------------------

@collector
def _held_invoices(context: _Context) -> Iterable[InboxItem]:
    """For finance (and administrators), invoices held because a line's unit price is not
    the contract's: to release, or to have the billing system correct. Due on their issue
    date, when the client would have seen them."""
    if context.user.role not in (Role.FINANCE, Role.ADMIN) or not context.accounts:
        return
    for invoice in context.session.scalars(sa.select(Invoice).where(Invoice.held_at.is_not(None))):
        account = context.accounts.get(invoice.account_id)
        if account is None:
            continue
        yield InboxItem("invoice_held", invoice.id, invoice.account_id,
                        f"{invoice.number} · {money(invoice.total, invoice.currency)}",
                        url=url_path("billing.detail", invoice_id=invoice.id),
                        **_due_on(invoice.issue_date, account))
