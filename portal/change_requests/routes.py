"""Pages for change requests: the tracker, drafting with lines, the approval chain,
implementation and issuing the amendment."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal.change_requests import service
from portal.change_requests.forms import (
    AcceptCounterForm,
    AmendmentForm,
    ApproveForm,
    ChangeRequestForm,
    ImplementForm,
    InternalDecisionForm,
    LineDecisionsForm,
    LineForm,
    RejectForm,
    SubmitForm,
    WithdrawForm,
    default_languages,
    language_options,
)
from portal.documents import renditions
from portal.documents.routes import announce, numbered, preview_response
from portal.documents.service import issue_amendment, preview_amendment
from portal.exports import table_response
from portal.extensions import db
from portal.pipeline import pages as pipeline
from portal.forms import choices, fill_texts, flash_errors, texts
from portal.i18n import current_language, label, localized, money
from portal.units import counted
from portal.accounts import client_approvers, current_contract, visible_accounts
from portal.models import Account, ChangeRequest, Contract, CRStatus, Decision, Document, LineChange, LineVerdict, Role
from portal.security import ISSUERS, fresh_login_or_redirect, get_or_404, require_role, sign_in_is_fresh
from portal.web import Blueprint, keep_form

bp = Blueprint("change_requests", __name__)
LINES_PREFIX = "by_line"  # the line-by-line form shares the page with the approval form


def _load(change_request_id: int) -> ChangeRequest:
    return get_or_404(db.session, ChangeRequest, change_request_id,
                      selectinload(ChangeRequest.lines), selectinload(ChangeRequest.approvals),
                      selectinload(ChangeRequest.versions), selectinload(ChangeRequest.contract))


def _account(cr: ChangeRequest) -> Account:
    return get_or_404(db.session, Account, cr.account_id)


def _detail(cr: ChangeRequest):
    return redirect(url_for("change_requests.detail", change_request_id=cr.id))


# --- lists -------------------------------------------------------------------------


@bp.route("/change-requests")
def index():
    status = request.args.get("status") or None
    account_id = request.args.get("account", type=int)
    wanted = CRStatus(status) if status in {s.value for s in CRStatus} else None
    if status == "pending":  # the account cards' count: waiting for a decision, at either stage
        wanted = service.PENDING
    rows = service.tracker(db.session, status=wanted, account_id=account_id)
    accounts = visible_accounts(db.session)
    return render_template("change_requests/index.html", rows=rows, accounts=accounts, statuses=CRStatus,
                           args=request.args, contract=None, is_issuer=current_user.role in ISSUERS,
                           names={a.id: a.name_in(current_language()) for a in accounts})


@bp.route("/contracts/<int:contract_id>/change-requests")
def tracker(contract_id: int):
    """The Change Request Note tracker of one contract, also as CSV or XLSX."""
    contract = get_or_404(db.session, Contract, contract_id)
    status = request.args.get("status")
    wanted = CRStatus(status) if status in {s.value for s in CRStatus} else None
    rows = service.tracker(db.session, contract=contract, status=wanted)
    fmt = request.args.get("format")
    if fmt:
        return table_response(fmt, f"{contract.number}-change-requests", *_tracker_table(rows))
    return render_template("change_requests/index.html", rows=rows, accounts=[], statuses=CRStatus,
                           args=request.args, contract=contract, is_issuer=current_user.role in ISSUERS, names={})


def _tracker_table(rows: list[ChangeRequest]):
    header = [_("Number"), _("Title"), _("Status"), _("Scope"), _("Price impact"), _("Currency"), _("Effective date"),
              _("Submitted"), _("Decided"), _("Implemented"), _("Approved by"), _("Version")]
    table = []
    for cr in rows:
        approvers = ", ".join(a.signature_name for a in service.client_approvals(cr))
        table.append([
            cr.number, localized(cr.title), label("cr_status", cr.status), _("In scope") if cr.in_scope else _("Out of scope"),
            cr.price_impact, cr.currency, cr.effective_date, _day(cr.submitted_at), _day(cr.decided_at),
            _day(cr.implemented_at), approvers, cr.version or "",
        ])
    return header, table


def _day(value):
    from portal.i18n import when

    return when(value, "short") if value else ""


# --- drafting ----------------------------------------------------------------------


def _line_choices(contract: Contract):
    """The contract's lines as the picker reads them: "Payroll, 4,200 payslips × ¥14.50"."""
    return choices([(0, "—")] + [(s.id, _("%(service)s, %(quantity)s × %(unit_price)s", service=localized(s.service),
                                           quantity=counted(s.quantity, s.unit),
                                           unit_price=money(s.unit_price, contract.currency)))
                                 for s in contract.active_scope_lines])


def _prepare(form: ChangeRequestForm, contract: Contract) -> None:
    line_choices = _line_choices(contract)
    for entry in form.lines:
        entry.form.scope_line.choices = line_choices


def _lines(form: ChangeRequestForm) -> list[service.LineInput]:
    lines = []
    for entry in form.lines:
        line = entry.form
        if line.delete.data:
            continue
        lines.append(service.LineInput(
            change=LineChange(line.change.data), description=texts(line, "description"), unit=line.unit.data or "",
            quantity=line.quantity.data or Decimal(0), unit_price=line.unit_price.data or Decimal(0),
            scope_line_id=line.scope_line.data or None,
        ))
    return lines


def _round_trip(form: ChangeRequestForm) -> bool:
    """Without JavaScript, "Add a line" and "Remove" work by posting the form back."""
    if form.add_line.data:
        form.lines.append_entry()
        return True
    return False


def _form_page(form, account: Account, contract: Contract, cr: ChangeRequest | None = None):
    _prepare(form, contract)
    blank = LineForm(prefix="lines-__index__-")  # what rows.js clones for "Add a line"
    blank.scope_line.choices = _line_choices(contract)
    return render_template("change_requests/form.html", form=form, account=account, contract=contract, cr=cr,
                           blank=blank, languages=account.document_languages or ["en"])


@bp.route("/change-requests/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new():
    """A new draft for the account asked for (``?account=``); without one, the page
    asks which account (the tracker's "New change request" comes here)."""
    if request.args.get("account") is None:
        accounts = visible_accounts(db.session)
        if len(accounts) == 1:
            return redirect(url_for("change_requests.new", account=accounts[0].id))
        return render_template("change_requests/choose_account.html", accounts=accounts)
    account = get_or_404(db.session, Account, request.args.get("account", type=int))
    contract = current_contract(db.session, account)
    if contract is None:
        flash(_("This account has no contract yet."), "error")
        return redirect(url_for("main.account", account_id=account.id))
    form = ChangeRequestForm()
    _prepare(form, contract)
    page = keep_form(form, lambda: _form_page(form, account, contract))
    if request.method == "POST" and not _round_trip(form) and form.validate_on_submit():
        cr = service.create_draft(db.session, contract, current_user, title=texts(form, "title"),
                                  description=texts(form, "description"), in_scope=form.in_scope.data == "in",
                                  effective_date=form.effective_date.data, lines=_lines(form))
        flash(_("Draft %(number)s saved. Submit it when it is ready for approval.", number=cr.number), "success")
        return _detail(cr)
    return page()


@bp.route("/change-requests/<int:change_request_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit(change_request_id: int):
    cr = _load(change_request_id)
    account = _account(cr)
    if cr.status not in service.EDITABLE:
        flash(_("A decided change request cannot be edited."), "error")
        return _detail(cr)
    form = ChangeRequestForm(obj=None)
    if request.method == "GET":
        fill_texts(form, "title", cr.title)
        fill_texts(form, "description", cr.description)
        form.in_scope.data = "in" if cr.in_scope else "out"
        form.effective_date.data = cr.effective_date
        while len(form.lines) < len(cr.lines):
            form.lines.append_entry()
        for entry, line in zip(form.lines, cr.lines):
            entry.form.change.data = line.change.value
            entry.form.scope_line.data = line.scope_line_id or 0
            fill_texts(entry.form, "description", line.description)
            entry.form.unit.data, entry.form.quantity.data, entry.form.unit_price.data = line.unit, line.quantity, line.unit_price
    _prepare(form, cr.contract)
    page = keep_form(form, lambda: _form_page(form, account, cr.contract, cr))
    if request.method == "POST" and not _round_trip(form) and form.validate_on_submit():
        was_pending = cr.status in service.PENDING
        service.edit(db.session, cr, account, current_user, title=texts(form, "title"),
                     description=texts(form, "description"), in_scope=form.in_scope.data == "in",
                     effective_date=form.effective_date.data, lines=_lines(form))
        flash(_("Saved as version %(n)d; it replaces the version awaiting approval.", n=cr.version_number)
              if was_pending else _("Changes saved."), "success")
        return _detail(cr)
    return page()


# --- the page and its decisions ----------------------------------------------------


@bp.route("/change-requests/<int:change_request_id>")
def detail(change_request_id: int):
    cr = _load(change_request_id)
    account = _account(cr)
    contract = db.session.scalar(sa.select(Contract).where(Contract.id == cr.contract_id)
                                 .options(selectinload(Contract.scope_lines)))
    amendment = AmendmentForm(languages=default_languages(account.document_languages))
    amendment.languages.choices = language_options(account.document_languages)
    documents = db.session.scalars(sa.select(Document).where(Document.change_request_id == cr.id)
                                   .order_by(Document.created_at.desc())).all()
    line_form = LineDecisionsForm(version=cr.version, prefix=LINES_PREFIX)
    while len(line_form.lines) < len(cr.lines):
        line_form.lines.append_entry()
    counter = service.counter_proposal(cr)
    standing = service.authority(db.session, cr, account)
    return render_template(
        "change_requests/detail.html", cr=cr, account=account, contract=contract,
        line_form=line_form, accept_form=AcceptCounterForm(), counter=counter,
        counter_rows=service.line_decision_rows(cr, counter) if counter else [],
        authority=standing, waiting_text=service.waiting_text(standing, cr.currency),
        over_limit=current_user.role is Role.CLIENT_APPROVER and not service.covers(current_user, cr.price_impact),
        before=contract.active_scope_lines, after=service.scope_after(contract, cr),
        impacts={line.id: service.line_impact(line) for line in cr.lines},
        approval=service.client_approval(cr), documents=documents, pdf_ready=renditions.made(db.session, documents), fresh=sign_in_is_fresh(),
        submit_form=SubmitForm(), withdraw_form=WithdrawForm(), implement_form=ImplementForm(),
        approve_form=ApproveForm(version=cr.version), reject_form=RejectForm(version=cr.version),
        internal_form=InternalDecisionForm(version=cr.version), amendment_form=amendment,
        is_issuer=current_user.role in ISSUERS, approvers=client_approvers(db.session, account),
        opportunity=pipeline.for_change_request(db.session, cr, current_user),
    )


@bp.route("/change-requests/<int:change_request_id>/submit", methods=["POST"], back="change_requests.detail")
@require_role(*ISSUERS)
def submit(change_request_id: int):
    cr = _load(change_request_id)
    if SubmitForm().validate_on_submit():
        service.submit(db.session, cr, _account(cr), current_user)
        flash(_("Submitted for approval (version %(n)d).", n=cr.version_number), "success")
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/withdraw", methods=["POST"], back="change_requests.detail")
@require_role(*ISSUERS)
def withdraw(change_request_id: int):
    cr = _load(change_request_id)
    if WithdrawForm().validate_on_submit():
        service.withdraw(db.session, cr, current_user)
        flash(_("The change request is withdrawn."), "success")
    return _detail(cr)


def _needs_fresh_login(cr: ChangeRequest):
    return fresh_login_or_redirect(_("Confirm your password before deciding on a change request."),
                                   url_for("change_requests.detail", change_request_id=cr.id))


def _refused(cr: ChangeRequest, form):
    """The answer to a signed decision that cannot be taken: a sign-in that is not
    fresh, or a form with errors (flashed); None when it can."""
    stale = _needs_fresh_login(cr)
    if stale:
        return stale
    if not form.validate_on_submit():
        flash_errors(form)
        return _detail(cr)
    return None


def _client_ip() -> str:
    return request.remote_addr or ""


@bp.route("/change-requests/<int:change_request_id>/internal-decision", methods=["POST"],
          back="change_requests.detail")
@require_role(Role.ADMIN)
def internal_decision(change_request_id: int):
    cr = _load(change_request_id)
    stale = _needs_fresh_login(cr)
    if stale:
        return stale
    form = InternalDecisionForm()
    if form.validate_on_submit():
        decision = Decision.APPROVED if form.approve.data else Decision.REJECTED
        service.decide_internally(db.session, cr, _account(cr), current_user, version=form.version.data,
                                  decision=decision, reason=form.reason.data or "", ip=_client_ip(),
                                  user_agent=request.user_agent.string)
        flash(_("Approved. The change request now waits for the client's decision.") if decision is Decision.APPROVED
              else _("Rejected. The change request goes back to its author."), "success")
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/approve", methods=["POST"], back="change_requests.detail")
@require_role(Role.CLIENT_APPROVER)
def approve(change_request_id: int):
    cr = _load(change_request_id)
    form = ApproveForm()
    refused = _refused(cr, form)
    if refused:
        return refused
    service.decide(db.session, cr, _account(cr), current_user, version=form.version.data, decision=Decision.APPROVED,
                   signature_name=form.signature_name.data, ip=_client_ip(), user_agent=request.user_agent.string)
    _flash_approved(cr)
    return _detail(cr)


def _flash_approved(cr: ChangeRequest) -> None:
    if cr.status is CRStatus.APPROVED:
        flash(_("You approved %(number)s. The firm now issues the contract amendment, which you will find under "
                "Documents.", number=cr.number), "success")
    else:
        flash(_("Your approval of %(number)s is recorded. Its price impact is above your approval limit, so a "
                "second approver of your company approves it too.", number=cr.number), "success")


@bp.route("/change-requests/<int:change_request_id>/line-decisions", methods=["POST"], back="change_requests.detail")
@require_role(Role.CLIENT_APPROVER)
def line_decisions(change_request_id: int):
    """The client approver's decision line by line, signed as an approval is."""
    cr = _load(change_request_id)
    form = LineDecisionsForm(prefix=LINES_PREFIX)
    refused = _refused(cr, form)
    if refused:
        return refused
    decisions = [service.LineDecisionInput(line=number, decision=LineVerdict(entry.form.decision.data),
                                           quantity=entry.form.quantity.data, unit_price=entry.form.unit_price.data,
                                           reason=entry.form.reason.data or "")
                 for number, entry in enumerate(form.lines, 1)]
    service.decide_lines(db.session, cr, _account(cr), current_user, version=form.version.data, lines=decisions,
                         signature_name=form.signature_name.data, ip=_client_ip(),
                         user_agent=request.user_agent.string)
    if cr.status is CRStatus.COUNTERED:
        flash(_("Your decisions on %(number)s are sent: the firm accepts your counter-proposal or revises the "
                "change request.", number=cr.number), "success")
    elif cr.status is CRStatus.REJECTED:
        flash(_("You rejected %(number)s. The firm is told, and may send you a revised version.", number=cr.number),
              "success")
    else:
        _flash_approved(cr)
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/accept-counter", methods=["POST"], back="change_requests.detail")
@require_role(*ISSUERS)
def accept_counter(change_request_id: int):
    """The firm accepts the client's counter-proposal: a new version, sent for approval."""
    cr = _load(change_request_id)
    if AcceptCounterForm().validate_on_submit():
        service.accept_counter(db.session, cr, _account(cr), current_user)
        flash(_("Counter-proposal accepted: version %(n)d is sent for approval.", n=cr.version_number), "success")
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/reject", methods=["POST"], back="change_requests.detail")
@require_role(Role.CLIENT_APPROVER)
def reject(change_request_id: int):
    cr = _load(change_request_id)
    stale = _needs_fresh_login(cr)
    if stale:
        return stale
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for the rejection."), "error")
        return _detail(cr)
    service.decide(db.session, cr, _account(cr), current_user, version=form.version.data, decision=Decision.REJECTED,
                   reason=form.reason.data, ip=_client_ip(), user_agent=request.user_agent.string)
    flash(_("You rejected %(number)s. The firm is told, and may send you a revised version.", number=cr.number),
          "success")
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/implement", methods=["POST"], back="change_requests.detail")
@require_role(*ISSUERS)
def implement(change_request_id: int):
    cr = _load(change_request_id)
    if ImplementForm().validate_on_submit():
        service.implement(db.session, cr, current_user)
        flash(_("Implemented: the contract's scope and annual value are updated."), "success")
    return _detail(cr)


@bp.route("/change-requests/<int:change_request_id>/amendment", methods=["POST"], back="change_requests.detail")
@require_role(*ISSUERS)
def amendment(change_request_id: int):
    cr = _load(change_request_id)
    account = _account(cr)
    form = AmendmentForm()
    form.languages.choices = language_options(account.document_languages)
    keep_form(form, lambda: detail(change_request_id))  # refused: the page again, the choices kept
    if form.validate_on_submit() and form.preview.data:
        return preview_response(preview_amendment(cr, account, current_user, form.languages.data.split("+"),
                                                  form.show_source_text.data))
    if form.validate_on_submit():
        document = issue_amendment(db.session, cr, account, current_user, form.languages.data.split("+"),
                                   form.show_source_text.data)
        announce(document, _("Amendment %(number)s issued.", number=numbered(document)))
    return _detail(cr)

