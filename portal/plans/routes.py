"""Pages for business plans: the list, drafting (a quarterly plan from the yearly one),
the plan page with its reviews, versions and what changed, the client's sign-off,
progress against the plan and the plan document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal.change_requests.forms import default_languages, language_options
from portal.documents import renditions
from portal.documents.routes import announce, numbered, preview_response
from portal.extensions import db
from portal.forms import choices, flash_errors
from portal.i18n import LANGUAGE_NAMES, current_language, localized, names
from portal.accounts import client_approvers, visible_accounts
from portal.models import Account, Document, Plan, PlanStatus, PlanType, ReviewDecision, Role
from portal.plans import service
from portal.plans.content import SECTIONS, TEXT_FIELDS, budget_total, diff, pick, translation_gaps
from portal.plans.forms import (
    ROW_FORMS,
    DocumentForm,
    NewPlanForm,
    PlanForm,
    ReviewForm,
    SignoffForm,
    SubmitForm,
    content_from,
    form_data,
    round_trip,
)
from portal.plans.labels import plan_label, plan_name
from portal.security import ISSUERS, fresh_login_or_redirect, get_or_404, require_role, sign_in_is_fresh
from portal.web import Blueprint, keep_form

bp = Blueprint("plans", __name__)


@bp.context_processor
def _helpers():
    return {"plan_label": plan_label, "pick": pick, "to_date": date.fromisoformat, "to_decimal": Decimal}


def _load(plan_id: int) -> Plan:
    return get_or_404(db.session, Plan, plan_id, selectinload(Plan.versions), selectinload(Plan.reviews),
                      selectinload(Plan.signoffs), selectinload(Plan.contract))


def _account(plan: Plan) -> Account:
    return get_or_404(db.session, Account, plan.account_id)


def _detail(plan: Plan, **anchor):
    return redirect(url_for("plans.detail", plan_id=plan.id, **anchor))


# --- the list and drafting -------------------------------------------------------------


@bp.route("/plans")
def index():
    args = request.args
    plan_type = args.get("type") if args.get("type") in {t.value for t in PlanType} else None
    status = args.get("status") if args.get("status") in {s.value for s in PlanStatus} else None
    rows = service.plans(db.session, account_id=args.get("account", type=int),
                         plan_type=PlanType(plan_type) if plan_type else None,
                         status=PlanStatus(status) if status else None)
    accounts = visible_accounts(db.session)
    return render_template("plans/index.html", rows=rows, accounts=accounts, names={a.id: a.name for a in accounts},
                           types=PlanType, statuses=PlanStatus, args=args, is_issuer=current_user.role in ISSUERS)


@bp.route("/plans/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new():
    account = get_or_404(db.session, Account, request.args.get("account", type=int))
    form = NewPlanForm()
    parents = [p for kind in (PlanType.QBP, PlanType.MBP) for p in service.parent_choices(db.session, account, kind)]
    form.parent.choices = choices([(0, "—"), *((p.id, plan_name(p)) for p in parents)])
    page = keep_form(form, lambda: render_template("plans/new.html", form=form, account=account))
    if form.validate_on_submit():
        parent = get_or_404(db.session, Plan, form.parent.data) if form.parent.data else None
        plan = service.create_plan(db.session, account, current_user, plan_type=PlanType(form.plan_type.data),
                                   period=form.period.data, parent=parent)
        flash(_("Draft saved. Write the plan, then submit it for review."), "success")
        return redirect(url_for("plans.edit", plan_id=plan.id))
    return page()


def _prepare(form: PlanForm, plan: Plan) -> PlanForm:
    kpi_choices = choices([("", "—"), *((k.code, f"{k.code} · {localized(k.name)}") for k in
                                        (plan.contract.kpis if plan.contract else []))])
    for entry in form.kpis:
        entry.form.kpi.choices = kpi_choices
    form.blanks = {}
    for section in SECTIONS:  # what rows.js clones for "Add"
        blank = ROW_FORMS[section](prefix=f"{section}-__index__-")
        if section == "kpis":
            blank.kpi.choices = kpi_choices
        form.blanks[section] = blank
    return form


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit(plan_id: int):
    plan = _load(plan_id)
    account = _account(plan)
    if plan.status not in service.EDITABLE:
        flash(_("A signed-off plan cannot be changed."), "error")
        return _detail(plan)
    form = PlanForm(data=form_data(plan.content)) if request.method == "GET" else PlanForm()
    page = keep_form(form, lambda: _form_page(form, plan, account))
    if request.method == "POST" and not round_trip(form) and form.validate_on_submit():
        under_review = plan.status in service.UNDER_REVIEW
        before = plan.version
        service.edit(db.session, plan, account, current_user, content_from(form))
        flash(_("Saved as version %(n)d and sent for review again.", n=plan.version_number)
              if under_review and plan.version != before else _("Changes saved."), "success")
        return _detail(plan)
    return page()


def _form_page(form: PlanForm, plan: Plan, account: Account):
    _prepare(form, plan)  # after "Add a KPI": the new row's choices too
    languages = account.document_languages or ["en"]
    gaps = service.gaps(plan, account)
    states = {(g.path, g.language): g.kind for g in gaps}
    return render_template("plans/form.html", form=form, plan=plan, account=account, languages=languages,
                           language_names=", ".join(LANGUAGE_NAMES[lang] for lang in languages), states=states,
                           gaps=gaps, text_fields=TEXT_FIELDS)


# --- the plan page ---------------------------------------------------------------------


@bp.route("/plans/<int:plan_id>")
def detail(plan_id: int):
    return _page(_load(plan_id))


def _page(plan: Plan, review_form: ReviewForm | None = None):
    """The plan page; ``review_form``: a review refused, shown again with its problems."""
    account = _account(plan)
    lang = current_language()
    content = service.shown_content(plan, current_user)
    languages = account.document_languages or ["en"]
    states = {(g.path, g.language): g.kind
              for g in translation_gaps(content, plan.text_written_at or {}, sorted({*languages, lang}))}
    versions = plan.versions
    shown = request.args.get("version", type=int) or (versions[-1].number if versions else None)
    compared = next((v for v in versions if v.number == shown), None)
    previous = next((v for v in versions if compared and v.number == compared.number - 1), None)
    changes = diff(service.version_content(previous), service.version_content(compared)) if previous else []
    if review_form is None:
        review_form = ReviewForm(formdata=None, version=plan.version, language=lang)
    document_form = DocumentForm(languages=default_languages(languages))
    document_form.languages.choices = language_options(languages)
    documents = db.session.scalars(sa.select(Document).where(Document.plan_id == plan.id)
                                   .order_by(Document.created_at.desc())).all()
    return render_template(
        "plans/detail.html", plan=plan, account=account, content=content, lang=lang, languages=languages,
        states=states, gaps=service.gaps(plan, account) if current_user.is_firm else [],
        approval=service.firm_approval(db.session, plan, account), progress=service.progress(db.session, plan, content, account.today()),
        compared=compared, previous=previous, changes=changes, signoff=service.current_signoff(plan),
        documents=documents, pdf_ready=renditions.made(db.session, documents), fresh=sign_in_is_fresh(), text_fields=TEXT_FIELDS,
        is_issuer=current_user.role in ISSUERS, can_review=current_user.role in service.REVIEWERS,
        approvers=client_approvers(db.session, account),
        submit_form=SubmitForm(), review_form=review_form, signoff_form=SignoffForm(version=plan.version),
        document_form=document_form, budget_total=budget_total(content),
    )


@bp.route("/plans/<int:plan_id>/submit", methods=["POST"], back="plans.detail")
@require_role(*ISSUERS)
def submit(plan_id: int):
    plan = _load(plan_id)
    if SubmitForm().validate_on_submit():
        service.submit_for_review(db.session, plan, current_user)
        flash(_("Submitted for review (version %(n)d).", n=plan.version_number), "success")
    return _detail(plan)


def _needs_fresh_login(plan: Plan):
    return fresh_login_or_redirect(_("Confirm your password before deciding on this plan."),
                                   url_for("plans.detail", plan_id=plan.id))


@bp.route("/plans/<int:plan_id>/review", methods=["POST"], back="plans.detail")
@require_role(*service.REVIEWERS)
def review(plan_id: int):
    plan = _load(plan_id)
    form = ReviewForm()
    decision = form.decision
    if decision is not ReviewDecision.COMMENT:
        stale = _needs_fresh_login(plan)
        if stale:
            return stale
    if not form.validate_on_submit():
        flash(_("Reload the plan and write your review again."), "error")
        return _detail(plan)
    keep_form(form, lambda: _page(plan, form))  # refused: the page again, what was written kept
    account = _account(plan)
    entry = service.review(db.session, plan, account, current_user, decision=decision, body=form.body.data or "",
                           language=form.language.data or current_language(), section=form.section.data or None,
                           version=form.version.data, internal=not form.shared.data)
    flash(_what_next(plan, account, entry), "success")
    return _detail(plan, _anchor="reviews")


def _what_next(plan: Plan, account: Account, entry) -> str:
    """What the review did, and what happens to the plan now."""
    if entry.decision is ReviewDecision.REQUEST_CHANGES:
        return _("Changes requested. The plan goes back to its author; its next version comes back to you for review.")
    if entry.decision is ReviewDecision.COMMENT:
        if current_user.is_client:
            return _("Your comment is sent to the plan's authors.")
        return _("Your comment is recorded. Only the firm reads it.") if entry.internal \
            else _("Your comment is recorded. The client reads it too.")
    if plan.status is PlanStatus.PENDING_SIGNOFF:
        return _("Approved. The plan now waits for the client's sign-off.")
    approval = service.firm_approval(db.session, plan, account)
    waiting = [user for user in approval.required if user.id not in approval.approved_by]
    if approval.rule == "reviewers" and waiting:
        return _("Approved. The plan now waits for the approval of %(names)s.", names=names(waiting))
    return _("Approved. The client can sign off once every text is translated: %(n)d to do.",
             n=len(service.gaps(plan, account)))


@bp.route("/plans/<int:plan_id>/signoff", methods=["POST"], back="plans.detail")
@require_role(Role.CLIENT_APPROVER)
def signoff(plan_id: int):
    plan = _load(plan_id)
    stale = _needs_fresh_login(plan)
    if stale:
        return stale
    form = SignoffForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _detail(plan)
    service.sign_off(db.session, plan, _account(plan), current_user, version=form.version.data,
                     signature_name=form.signature_name.data, ip=request.remote_addr or "",
                     user_agent=request.user_agent.string)
    flash(_("You signed off %(plan)s %(period)s.", plan=plan_label("type", plan.plan_type), period=plan.period),
          "success")
    return _detail(plan)


@bp.route("/plans/<int:plan_id>/document", methods=["POST"], back="plans.detail")
@require_role(*ISSUERS)
def document(plan_id: int):
    plan = _load(plan_id)
    account = _account(plan)
    form = DocumentForm()
    form.languages.choices = language_options(account.document_languages)
    keep_form(form, lambda: detail(plan_id))  # refused: the page again, the choices kept
    if form.validate_on_submit() and form.preview.data:
        return preview_response(service.preview_document(plan, account, current_user, form.languages.data.split("+"),
                                                         form.show_source_text.data))
    if form.validate_on_submit():
        issued = service.issue_document(db.session, plan, account, current_user, form.languages.data.split("+"),
                                        form.show_source_text.data)
        announce(issued, _("Document %(number)s issued.", number=numbered(issued)))
    return _detail(plan)
