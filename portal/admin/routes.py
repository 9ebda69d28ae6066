"""Administration: users."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from portal.admin import service
from portal.admin.forms import ToggleUserForm, UserForm
from portal.extensions import db
from portal.forms import choices
from portal.accounts import visible_accounts
from portal.models import Account, Role, User
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
