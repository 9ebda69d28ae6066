"""Pages of the people around an account: the firm's team on it (the administrator),
its escalation matrix (the administrator and its account managers), and the client's
stakeholders and the interaction log (the firm's people on the account)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from docgen.formatting import quantize_money
from portal.accounts import TEAM_ROLES, escalation_matrix, firm_people, team
from portal.extensions import db
from portal.forms import choices, fill_texts, texts
from portal.models import Account, DecisionRole, Interaction, InteractionKind, OwnerSide, Role, Stakeholder, User
from portal.people import service
from portal.people.forms import ApprovalLimitsForm, EscalationMatrixForm, InteractionForm, StakeholderForm, TeamForm
from portal.security import FIRM_STAFF, ISSUERS, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("people", __name__)

PAGE_SIZE = 50


def _account(account_id: int) -> Account:
    return get_or_404(db.session, Account, account_id)


def _to_account(account: Account, anchor: str):
    return redirect(url_for("main.account", account_id=account.id, _anchor=anchor))


# --- the team ------------------------------------------------------------------------


def _team_choices(form: TeamForm, members: list[User]) -> None:
    """Each role's active firm users, and the members of that role (a disabled member
    stays listed, so that saving the page does not drop them unseen)."""
    users = db.session.scalars(sa.select(User).where(User.role.in_(TEAM_ROLES), User.active).order_by(User.name)).all()
    for role in TEAM_ROLES:
        listed = {u.id: u for u in [*users, *members] if u.role is role}
        form[role.value].choices = choices(
            (u.id, u.name if u.active else _("%(name)s (disabled)", name=u.name)) for u in listed.values())


@bp.route("/accounts/<int:account_id>/team", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_team(account_id: int):
    account = _account(account_id)
    members = team(db.session, account, active_only=False)
    form = TeamForm()
    _team_choices(form, members)
    if request.method == "GET":
        for role in TEAM_ROLES:
            form[role.value].data = [u.id for u in members if u.role is role]
    page = keep_form(form, lambda: render_template("people/team.html", form=form, account=account))
    if form.validate_on_submit():
        chosen = [service.TeamMember(user_id, role) for role in TEAM_ROLES for user_id in form[role.value].data or []]
        service.set_team(db.session, account, current_user, chosen)
        flash(_("The team of %(account)s is saved.", account=account.name), "success")
        return _to_account(account, "team")
    return page()


# --- the client's approval limits ---------------------------------------------------------


@bp.route("/accounts/<int:account_id>/approval-limits", methods=["GET", "POST"])
@require_role(Role.ADMIN, Role.ACCOUNT_MANAGER)
def approval_limits(account_id: int):
    """The client's delegation of authority: each client approver's limit on a change
    request's price impact, and the approver the account names as its higher authority."""
    account = _account(account_id)
    approvers = service.account_approvers(db.session, account)
    form = ApprovalLimitsForm()
    form.higher_authority.choices = choices([(0, _("None"))] + [(u.id, u.name) for u in approvers])
    if request.method == "GET":
        for user in approvers:
            limit = None if user.approval_limit is None else quantize_money(user.approval_limit, account.currency)
            form.limits.append_entry({"user_id": user.id, "limit": limit})
        form.higher_authority.data = next((u.id for u in approvers if u.higher_authority), 0)
    page = keep_form(form, lambda: render_template("people/approval_limits.html", form=form, account=account,
                                                   approvers={u.id: u for u in approvers}))
    if form.validate_on_submit():
        limits = [service.ApprovalLimit(int(row.user_id.data or 0), row.limit.data) for row in
                  (entry.form for entry in form.limits)]
        service.set_approval_limits(db.session, account, current_user, limits, form.higher_authority.data or None)
        flash(_("The approval limits of %(account)s are saved.", account=account.name), "success")
        return redirect(url_for("people.approval_limits", account_id=account.id))
    return page()


# --- the escalation matrix ---------------------------------------------------------------


def _contacts(form: EscalationMatrixForm) -> list[service.ContactInput]:
    return [service.ContactInput(level=row.level.data, side=OwnerSide(row.side.data), name=row.name.data or "",
                                 email=row.email.data or "", title=texts(row, "title"), phone=row.phone.data or "")
            for row in form.kept_rows()]


@bp.route("/accounts/<int:account_id>/escalation-matrix", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit_matrix(account_id: int):
    account = _account(account_id)
    form = EscalationMatrixForm()
    if request.method == "GET":
        for contact in (c for level in escalation_matrix(db.session, account).values() for c in level):
            row = form.contacts.append_entry().form
            row.level.data, row.side.data, row.name.data = contact.level, contact.side.value, contact.name
            row.email.data, row.phone.data = contact.email, contact.phone
            fill_texts(row, "title", contact.title)
        if not form.contacts.entries:
            form.contacts.append_entry()
    page = keep_form(form, lambda: render_template("people/matrix.html", form=form, account=account,
                                                   blank=EscalationMatrixForm.blank_row()))
    if request.method == "POST" and not form.add_row() and form.validate_on_submit():
        service.replace_escalation_matrix(db.session, account, current_user, _contacts(form))
        flash(_("The escalation matrix is saved."), "success")
        return _to_account(account, "escalation")
    return page()


# --- stakeholders ----------------------------------------------------------------------------


def _owners(people: list[User]):
    """The choices of an owner among the firm's people on the account, or none ("—")."""
    return choices([(0, "—")] + [(u.id, u.name) for u in people])


def _owner_choices(form: StakeholderForm, account: Account) -> None:
    form.owner.choices = _owners(firm_people(db.session, account))


def _user(user_id: int | None) -> User | None:
    return db.session.scalar(sa.select(User).where(User.id == user_id)) if user_id else None


def _stakeholder_details(form: StakeholderForm) -> service.StakeholderDetails:
    return service.StakeholderDetails(
        name=form.name.data, title=form.title.data or "", decision_role=DecisionRole(form.decision_role.data),
        language=form.language.data, email=form.email.data or "", phone=form.phone.data or "",
        notes=form.notes.data or "", owner=_user(form.owner.data), title_translations=texts(form, "title"))


@bp.route("/accounts/<int:account_id>/stakeholders")
@require_role(*FIRM_STAFF)
def stakeholders(account_id: int):
    account = _account(account_id)
    return render_template("people/stakeholders.html", account=account,
                           stakeholders=service.stakeholders(db.session, account),
                           last_contacted=service.last_contacted(db.session, account))


@bp.route("/accounts/<int:account_id>/stakeholders/new", methods=["GET", "POST"])
@require_role(*FIRM_STAFF)
def new_stakeholder(account_id: int):
    account = _account(account_id)
    form = StakeholderForm()
    _owner_choices(form, account)
    if request.method == "GET":
        form.decision_role.data, form.owner.data = DecisionRole.INFLUENCER.value, current_user.id
        form.language.data = (account.document_languages or ["en"])[-1]
    page = keep_form(form, lambda: render_template("people/stakeholder_form.html", form=form, account=account,
                                                   stakeholder=None))
    if form.validate_on_submit():
        stakeholder = service.add_stakeholder(db.session, account, current_user, _stakeholder_details(form))
        flash(_("%(name)s is added to the stakeholders.", name=stakeholder.name), "success")
        return redirect(url_for("people.stakeholders", account_id=account.id))
    return page()


@bp.route("/stakeholders/<int:stakeholder_id>", methods=["GET", "POST"])
@require_role(*FIRM_STAFF)
def edit_stakeholder(stakeholder_id: int):
    stakeholder = get_or_404(db.session, Stakeholder, stakeholder_id)
    account = _account(stakeholder.account_id)
    form = StakeholderForm()
    _owner_choices(form, account)
    if request.method == "GET":
        for name in ("name", "title", "language", "email", "phone", "notes"):
            form[name].data = getattr(stakeholder, name)
        fill_texts(form, "title", stakeholder.title_translations)
        form.decision_role.data, form.owner.data = stakeholder.decision_role.value, stakeholder.owner_id or 0
    page = keep_form(form, lambda: render_template("people/stakeholder_form.html", form=form, account=account,
                                                   stakeholder=stakeholder))
    if form.validate_on_submit():
        service.edit_stakeholder(db.session, stakeholder, account, current_user, _stakeholder_details(form))
        flash(_("Changes saved."), "success")
        return redirect(url_for("people.stakeholders", account_id=account.id))
    return page()


# --- interactions ------------------------------------------------------------------------------


def _load_interaction(interaction_id: int) -> Interaction:
    return get_or_404(db.session, Interaction, interaction_id, selectinload(Interaction.attendees),
                      selectinload(Interaction.follow_ups))


def _interaction_choices(form: InteractionForm, account: Account) -> None:
    people = firm_people(db.session, account)
    form.firm_attendees.choices = choices((u.id, u.name) for u in people)
    form.stakeholders.choices = choices((s.id, s.name) for s in service.stakeholders(db.session, account))
    owners = _owners(people)
    for entry in form.actions:
        entry.form.owner.choices = owners


def _interaction_details(form: InteractionForm, account: Account) -> service.InteractionDetails:
    firm = db.session.scalars(sa.select(User).where(User.id.in_(form.firm_attendees.data or []))).all()
    client = db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(form.stakeholders.data or []))).all()
    return service.InteractionDetails(
        kind=InteractionKind(form.kind.data), occurred_on=form.occurred_on.data, subject=form.subject.data,
        summary=form.summary.data or "", firm_attendees=firm, stakeholders=client,
        other_attendees=(form.other_attendees.data or "").splitlines())


def _follow_ups(form: InteractionForm) -> list[service.FollowUp]:
    return [service.FollowUp(title=row.title.data or "", owner_side=OwnerSide(row.owner_side.data),
                             owner=_user(row.owner.data), owner_name=row.owner_name.data or "", due_date=row.due_date.data)
            for row in form.kept_rows()]


def _interaction_form_page(form: InteractionForm, account: Account, interaction: Interaction | None):
    blank = InteractionForm.blank_row()
    blank.owner.choices = _owners(firm_people(db.session, account))
    return render_template("people/interaction_form.html", form=form, account=account, interaction=interaction,
                           blank=blank)


@bp.route("/accounts/<int:account_id>/interactions")
@require_role(*FIRM_STAFF)
def interactions(account_id: int):
    account = _account(account_id)
    page = min(max(1, request.args.get("page", 1, type=int)), 10_000)
    rows = db.session.scalars(
        sa.select(Interaction).where(Interaction.account_id == account.id)
        .options(selectinload(Interaction.attendees), selectinload(Interaction.follow_ups))
        .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return render_template("people/interactions.html", account=account, interactions=rows[:PAGE_SIZE],
                           more=len(rows) > PAGE_SIZE, page=page)


@bp.route("/accounts/<int:account_id>/interactions/new", methods=["GET", "POST"])
@require_role(*FIRM_STAFF)
def new_interaction(account_id: int):
    account = _account(account_id)
    form = InteractionForm()
    if request.method == "GET":
        form.kind.data, form.occurred_on.data = InteractionKind.MEETING.value, account.today()
        form.firm_attendees.data = [current_user.id]
    added = request.method == "POST" and form.add_row()
    _interaction_choices(form, account)
    page = keep_form(form, lambda: _interaction_form_page(form, account, None))
    if not added and form.validate_on_submit():
        interaction = service.log_interaction(db.session, account, current_user, _interaction_details(form, account),
                                              _follow_ups(form))
        flash(_("Logged: %(subject)s.", subject=interaction.subject), "success")
        return redirect(url_for("people.interaction", interaction_id=interaction.id))
    return page()


@bp.route("/interactions/<int:interaction_id>")
@require_role(*FIRM_STAFF)
def interaction(interaction_id: int):
    record = _load_interaction(interaction_id)
    return render_template("people/interaction.html", interaction=record, account=_account(record.account_id))


@bp.route("/interactions/<int:interaction_id>/edit", methods=["GET", "POST"])
@require_role(*FIRM_STAFF)
def edit_interaction(interaction_id: int):
    record = _load_interaction(interaction_id)
    account = _account(record.account_id)
    form = InteractionForm()
    if request.method == "GET":
        form.kind.data, form.occurred_on.data = record.kind.value, record.occurred_on
        form.subject.data, form.summary.data = record.subject, record.summary
        form.firm_attendees.data = [a.user_id for a in record.attendees if a.user_id]
        form.stakeholders.data = [a.stakeholder_id for a in record.attendees if a.stakeholder_id]
        form.other_attendees.data = "\n".join(a.name for a in record.attendees if not a.user_id and not a.stakeholder_id)
    added = request.method == "POST" and form.add_row()
    _interaction_choices(form, account)
    page = keep_form(form, lambda: _interaction_form_page(form, account, record))
    if not added and form.validate_on_submit():
        service.edit_interaction(db.session, record, account, current_user, _interaction_details(form, account),
                                 _follow_ups(form))
        flash(_("Changes saved."), "success")
        return redirect(url_for("people.interaction", interaction_id=record.id))
    return page()
