"""Pages for service requests: the client's list and the firm's queue, raising a
request, the thread, status, assignment, escalation and feedback."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.pipeline import pages as pipeline
from portal.files import check_uploads, download_response, uploads_from_request
from portal.forms import choices
from portal.i18n import label
from portal.accounts import escalation_matrix, firm_team, visible_accounts
from portal.models import Account, EscalationTrigger, Priority, RequestCategory, RequestStatus, Role, ServiceRequest, User
from portal.security import get_or_404, require_role
from portal.service_requests import service
from portal.service_requests.forms import AssignForm, CommentForm, EscalateForm, FeedbackForm, RequestForm, StatusForm
from portal.web import Blueprint, keep_form

bp = Blueprint("requests", __name__)

RAISERS = (Role.CLIENT_VIEWER, Role.CLIENT_APPROVER, Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)
HANDLERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)
CLIENTS = (Role.CLIENT_VIEWER, Role.CLIENT_APPROVER)
PAGE_SIZE = 50


def _load(request_id: int) -> ServiceRequest:
    return get_or_404(db.session, ServiceRequest, request_id, selectinload(ServiceRequest.comments),
                      selectinload(ServiceRequest.attachments), selectinload(ServiceRequest.escalations))


def _account(service_request: ServiceRequest) -> Account:
    return get_or_404(db.session, Account, service_request.account_id)


@bp.route("")
def index():
    args = request.args
    page = max(1, args.get("page", 1, type=int))
    query = service.queue_query(
        account_id=args.get("account", type=int), status=args.get("status", "active"), priority=args.get("priority"),
        category=args.get("category"), overdue=bool(args.get("overdue")), sort=args.get("sort", "sla"),
    )
    rows = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    awaiting = service.awaiting_feedback(db.session, current_user) if current_user.is_client else []
    return render_template(
        "requests/index.html", requests=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
        accounts=visible_accounts(db.session), args=args, awaiting=awaiting, is_overdue=service.is_overdue,
        next_due=service.next_due, statuses=RequestStatus, priorities=Priority, categories=RequestCategory,
    )


@bp.route("/new", methods=["GET", "POST"])
@require_role(*RAISERS)
def new():
    form = RequestForm()
    accounts = visible_accounts(db.session)
    form.account.choices = choices((a.id, a.name) for a in accounts)
    if current_user.is_client:
        form.account.data = current_user.account_id
    page = keep_form(form, lambda: render_template("requests/new.html", form=form,
                                                   show_account=not current_user.is_client))
    if form.validate_on_submit():
        account = get_or_404(db.session, Account, form.account.data)
        created = service.create_request(
            db.session, account, current_user, category=RequestCategory(form.category.data),
            subject=form.subject.data, description=form.description.data,
            priority=Priority(form.priority.data), files=check_uploads(uploads_from_request()),
        )
        flash(_("Your request has been submitted."), "success")
        return redirect(url_for("requests.detail", request_id=created.id))
    return page()


@bp.route("/<int:request_id>")
def detail(request_id: int):
    service_request = _load(request_id)
    account = _account(service_request)
    status_form = StatusForm(status=service_request.status.value)
    allowed = (service.FIRM_TRANSITIONS if current_user.is_firm else service.CLIENT_TRANSITIONS).get(service_request.status, set())
    status_form.status.choices = [c for c in status_form.status.choices if c.value in {s.value for s in allowed}]
    assign_form = AssignForm(assignee=service_request.assignee_id or 0)
    assign_form.assignee.choices = choices((u.id, u.name) for u in firm_team(db.session, account))
    rated = any(f.request_id == service_request.id for f in _feedback_of(service_request))
    return render_template(
        "requests/detail.html", req=service_request, account=account,
        comments=service.visible_comments(service_request, current_user),
        attachments=service.visible_attachments(service_request, current_user),
        matrix=_matrix(account), comment_form=CommentForm(), status_form=status_form, assign_form=assign_form,
        escalate_form=EscalateForm(), feedback_form=FeedbackForm(), rated=rated,
        next_due=service.next_due(service_request), overdue=service.is_overdue(service_request),
        can_handle=current_user.role in HANDLERS, can_escalate=current_user.role in CLIENTS,
        pipeline=pipeline.for_request(db.session, service_request, current_user),
    )


def _matrix(account: Account):
    return escalation_matrix(db.session, account)


def _feedback_of(service_request: ServiceRequest):
    from portal.models import Feedback

    return db.session.scalars(sa.select(Feedback).where(Feedback.request_id == service_request.id)).all()


@bp.route("/<int:request_id>/comments", methods=["POST"], back="requests.detail")
@require_role(*RAISERS)
def comment(request_id: int):
    service_request = _load(request_id)
    form = CommentForm()
    if not form.validate_on_submit():
        flash(_("Write a reply before sending."), "error")
        return redirect(url_for("requests.detail", request_id=request_id))
    service.add_comment(db.session, service_request, _account(service_request), current_user, form.body.data,
                        internal=form.internal.data and current_user.is_firm,
                        files=check_uploads(uploads_from_request()))
    flash(_("Your reply has been added."), "success")
    return redirect(url_for("requests.detail", request_id=request_id, _anchor="thread"))


@bp.route("/<int:request_id>/status", methods=["POST"], back="requests.detail")
@require_role(*RAISERS)
def change_status(request_id: int):
    service_request = _load(request_id)
    form = StatusForm()
    if form.validate_on_submit():
        service.change_status(db.session, service_request, _account(service_request), current_user,
                              RequestStatus(form.status.data))
        flash(_("The status is now: %(status)s.", status=label("request_status", form.status.data)), "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/assign", methods=["POST"], back="requests.detail")
@require_role(*HANDLERS)
def assign(request_id: int):
    service_request = _load(request_id)
    account = _account(service_request)
    form = AssignForm()
    form.assignee.choices = choices((u.id, u.name) for u in firm_team(db.session, account))
    if form.validate_on_submit():
        assignee = db.session.scalar(sa.select(User).where(User.id == form.assignee.data))
        service.assign(db.session, service_request, account, current_user, assignee)
        flash(_("Assigned to %(name)s.", name=assignee.name), "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/escalate", methods=["POST"], back="requests.detail")
@require_role(*CLIENTS)
def escalate(request_id: int):
    service_request = _load(request_id)
    form = EscalateForm()
    if not form.validate_on_submit():
        flash(_("Say why the request needs escalating."), "error")
        return redirect(url_for("requests.detail", request_id=request_id))
    escalation = service.escalate(db.session, service_request, _account(service_request), current_user,
                                  trigger=EscalationTrigger.CLIENT, reason=form.reason.data)
    flash(_("Escalated to level %(level)d.", level=escalation.to_level), "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/feedback", methods=["POST"], back="requests.detail")
@require_role(*CLIENTS)
def request_feedback(request_id: int):
    service_request = _load(request_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        service.give_feedback(db.session, _account(service_request), current_user, rating=form.rating.data,
                              comment=form.comment.data or "", request=service_request)
        flash(_("Thank you for your feedback."), "success")
    else:
        flash(_("Choose a rating from 1 to 5."), "error")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/attachments/<int:attachment_id>")
def attachment(request_id: int, attachment_id: int):
    service_request = _load(request_id)
    found = next((a for a in service.visible_attachments(service_request, current_user) if a.id == attachment_id), None)
    if found is None:
        abort(404)
    stored = found.file
    return download_response(stored.filename, stored.content_type, stored.data)


@bp.route("/feedback", methods=["GET", "POST"])
@require_role(*CLIENTS)
def feedback():
    """Feedback on the service as a whole, at any time."""
    form = FeedbackForm()
    if form.validate_on_submit():
        account = get_or_404(db.session, Account, current_user.account_id)
        service.give_feedback(db.session, account, current_user, rating=form.rating.data, comment=form.comment.data or "")
        flash(_("Thank you for your feedback."), "success")
        return redirect(url_for("main.home"))
    return render_template("requests/feedback.html", form=form)


@bp.route("/csat")
@require_role(*HANDLERS)
def csat():
    accounts = visible_accounts(db.session)
    return render_template("requests/csat.html", rows=service.csat_by_month(db.session, accounts), accounts=accounts)
