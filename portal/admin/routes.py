"""Administration: users, and the audit log."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.admin import service
from portal.admin.forms import AuditLogFilterForm, EditUserForm, ToggleUserForm, TwoFactorPolicyForm
from portal.auth import two_factor
from portal.auth.routes import SETUP_DUE
from portal.exports import table_response
from portal.extensions import db
from portal.forms import choices
from portal.accounts import visible_accounts
from portal.models import AuditEvent, Role, User
from portal.i18n import timezone_choices
from portal.security import get_or_404, require_role
from portal.users import service as users_service
from portal.users.routes import inviting
from portal.web import Blueprint, keep_form

bp = Blueprint("admin", __name__)


@bp.route("/users", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def users():
    return inviting("admin/users.html", lambda: db.session.scalars(sa.select(User).order_by(User.role, User.email)).all(),
                    toggle=ToggleUserForm())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_user(user_id: int):
    user = get_or_404(db.session, User, user_id)
    accounts = visible_accounts(db.session)
    form = EditUserForm(obj=user, data=None if request.method == "POST" else {"accounts": sorted(user.account_ids)})
    form.timezone.choices = timezone_choices(user.timezone)
    form.accounts.choices = choices((a.id, a.name) for a in accounts)
    page = keep_form(form, lambda: render_template(
        "admin/edit_user.html", form=form, user=user, turn_off=ToggleUserForm(),
        two_factor_on=two_factor.is_enabled(db.session, user)))
    if form.validate_on_submit():
        chosen = [a for a in accounts if a.id in set(form.accounts.data)]
        users_service.update_user(db.session, user, current_user, name=form.name.data, role=Role(form.role.data),
                            language=form.language.data, timezone=form.timezone.data, accounts=chosen)
        flash(_("%(email)s is saved.", email=user.email), "success")
        return redirect(url_for("admin.users"))
    return page()


@bp.route("/users/<int:user_id>/two-factor", methods=["POST"], back="admin.edit_user")
@require_role(Role.ADMIN)
def turn_off_two_factor(user_id: int):
    """For a user who lost their phone and their recovery codes."""
    user = get_or_404(db.session, User, user_id)
    if ToggleUserForm().validate_on_submit():
        two_factor.turn_off(db.session, user, current_user)
        flash(_("Two-factor sign-in of %(email)s is off.", email=user.email), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"], back="admin.users")
@require_role(Role.ADMIN)
def toggle_user(user_id: int):
    form = ToggleUserForm()
    if form.validate_on_submit():
        user = get_or_404(db.session, User, user_id)
        service.set_user_active(db.session, user, not user.active, current_user)
        flash(_("%(email)s is now enabled.", email=user.email) if user.active
              else _("%(email)s is now disabled and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.route("/two-factor", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def two_factor_policy():
    """Which roles and accounts must use two-factor sign-in."""
    accounts = visible_accounts(db.session)
    roles, account_ids = two_factor.requirements(db.session)
    form = TwoFactorPolicyForm(data=None if request.method == "POST" else
                               {"roles": sorted(r.value for r in roles), "accounts": sorted(account_ids)})
    form.accounts.choices = choices((a.id, a.name) for a in accounts)
    if form.validate_on_submit():
        signed_out = two_factor.require(db.session, current_user, roles={Role(r) for r in form.roles.data},
                                        account_ids=set(form.accounts.data))
        if any(u.id == current_user.id for u in signed_out):
            session[SETUP_DUE] = True
        flash(_("Saved. %(n)d users who must now use two-factor sign-in were signed out; they set it up at their "
                "next sign-in.", n=len(signed_out)), "success")
        return redirect(url_for("admin.two_factor_policy"))
    return render_template("admin/two_factor.html", form=form)


@bp.route("/audit")
@require_role(Role.ADMIN)
def audit_log():
    names = {a.id: a.name for a in visible_accounts(db.session)}
    form = AuditLogFilterForm(formdata=request.args)
    form.account.choices = choices([(0, _("All accounts")), *names.items()])
    form.action.choices = choices([("", _("All"))] + [(a, a) for a in audit.audit_actions(db.session)])
    number = max(1, request.args.get("page", 1, type=int))
    page = keep_form(form, lambda: _audit_log_page(form, names, [], False, number))
    if not form.validate():
        return page()
    fmt = request.args.get("format")
    if fmt:
        events = db.session.scalars(audit.audit_log_query(current_user, form.filters()))
        return table_response(fmt, "audit-log", _audit_log_header(), (_audit_log_row(e, names) for e in events))
    events, more = audit.audit_log_page(db.session, current_user, form.filters(), number)
    return _audit_log_page(form, names, events, more, number)


def _audit_log_page(form: AuditLogFilterForm, names: dict[int, str], events: list[AuditEvent], more: bool, number: int):
    query = {k: v for k, v in request.args.items() if k not in ("page", "format")}
    return render_template("admin/audit.html", form=form, names=names, events=events, more=more, page=number,
                           query=query, chain=audit.verify_chain(db.session), signing_key=audit.keyring().signing_id)


def _audit_log_header() -> list[str]:
    return [_("Time (UTC)"), _("Account"), _("Actor"), _("Action"), _("Object"), _("IP address"), _("Details"),
            _("Chain link"), _("Key id"), _("Hash")]


def _audit_log_row(event: AuditEvent, names: dict[int, str]) -> list:
    return [event.created_at.isoformat(), names.get(event.account_id, ""), event.actor_email, event.action,
            f"{event.object_type} {event.object_id or ''}".strip(), event.ip,
            json.dumps(event.data, ensure_ascii=False, sort_keys=True), event.chain_seq, event.key_id, event.hash]
