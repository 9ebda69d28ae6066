"""Administration: users, and the audit log."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.admin import service
from portal.admin.forms import AuditLogFilterForm, ToggleUserForm, UserForm
from portal.exports import table_response
from portal.extensions import db
from portal.forms import choices
from portal.accounts import visible_accounts
from portal.models import Account, AuditEvent, Role, User
from portal.security import get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("admin", __name__)


@bp.route("/users", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def users():
    accounts = visible_accounts(db.session)
    form = UserForm()
    form.account.choices = choices([(0, "—")] + [(a.id, a.name) for a in accounts])
    page = keep_form(form, lambda: _users_page(form, accounts))
    if form.validate_on_submit():
        account = get_or_404(db.session, Account, form.account.data) if form.account.data else None
        user = service.create_user(
            db.session, email=form.email.data, name=form.name.data, role=Role(form.role.data),
            password=form.password.data, account=account, language=form.language.data,
            timezone=form.timezone.data,
        )
        flash(_("User %(email)s created.", email=user.email), "success")
        return redirect(url_for("admin.users"))
    return page()


def _users_page(form: UserForm, accounts: list[Account]):
    users = db.session.scalars(sa.select(User).order_by(User.role, User.email)).all()
    return render_template("admin/users.html", users=users, form=form, toggle=ToggleUserForm(),
                           account_names={a.id: a.name for a in accounts})


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@require_role(Role.ADMIN)
def toggle_user(user_id: int):
    form = ToggleUserForm()
    if form.validate_on_submit():
        user = get_or_404(db.session, User, user_id)
        service.set_user_active(db.session, user, not user.active)
        flash(_("%(email)s is now enabled.", email=user.email) if user.active
              else _("%(email)s is now disabled and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.users"))


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
