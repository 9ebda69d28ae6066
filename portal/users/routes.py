"""The pages of users and access: inviting users (account managers and client approvers;
the admin on the admin's users page), resending and withdrawing invitations, and the
pages the e-mailed links open: accepting an invitation, "Forgot your password?" and
choosing a new one."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user

from portal.accounts import visible_accounts
from portal.auth.routes import sign_in, throttled
from portal.extensions import db
from portal.models import Account, LinkPurpose, Role, User
from portal.security import INVITERS, get_or_404, get_user_or_404, require_role
from portal.users import links, service
from portal.users.forms import ForgotPasswordForm, InvitationForm, InviteForm, SetPasswordForm
from portal.web import Blueprint, keep_form

bp = Blueprint("users", __name__)


@bp.after_request
def never_stored(response):
    """Pages of one-time links and user lists stay out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


# --- inviting ------------------------------------------------------------------------------


def _invite_form(accounts: list[Account]) -> InviteForm:
    """The invitation form with the roles and accounts the signed-in user may invite to."""
    roles = [role for role in Role if any(current_user.may_invite(role, a.id) for a in accounts)
             or current_user.may_invite(role, None)]
    return InviteForm().offer(roles, accounts, firm_option=current_user.is_admin)


def _invite_from(form: InviteForm) -> User:
    """Invite the user the valid ``form`` describes; the account is loaded in scope (404
    for one the inviter does not see)."""
    account = get_or_404(db.session, Account, form.account.data) if form.account.data else None
    return service.invite_user(db.session, current_user, email=form.email.data, name=form.name.data,
                               role=Role(form.role.data), account=account, language=form.language.data,
                               timezone=form.timezone.data or None)


def inviting(template: str, users: Callable[[], list[User]], **context):
    """A users page: its list and the invitation form, which invites the user it
    describes and comes back here."""
    accounts = visible_accounts(db.session)
    form = _invite_form(accounts)
    page = keep_form(form, lambda: render_template(
        template, form=form, users=(shown := users()), standings=service.standings(db.session, shown),
        invitation=InvitationForm(), account_names={a.id: a.name for a in accounts}, **context))
    if form.validate_on_submit():
        user = _invite_from(form)
        flash(_("Invitation sent to %(email)s.", email=user.email), "success")
        return redirect(request.path)
    return page()


@bp.route("/users", methods=["GET", "POST"])
@require_role(*INVITERS)
def index():
    if current_user.is_admin:
        return redirect(url_for("admin.users"))
    return inviting("users/index.html", lambda: db.session.scalars(
        service.users_seen_by(current_user).order_by(User.account_id, User.role, User.email)).all())


def _list_url() -> str:
    return url_for("admin.users") if current_user.is_admin else url_for("users.index")


@bp.route("/users/<int:user_id>/invitation/resend", methods=["POST"], back="users.index")
@require_role(*INVITERS)
def resend_invitation(user_id: int):
    user = get_user_or_404(db.session, current_user, user_id)
    if InvitationForm().validate_on_submit():
        service.resend_invitation(db.session, user, current_user)
        flash(_("The invitation is sent again to %(email)s, with a new link.", email=user.email), "success")
    return redirect(_list_url())


@bp.route("/users/<int:user_id>/invitation/revoke", methods=["POST"], back="users.index")
@require_role(*INVITERS)
def revoke_invitation(user_id: int):
    user = get_user_or_404(db.session, current_user, user_id)
    if InvitationForm().validate_on_submit():
        service.revoke_invitation(db.session, user, current_user)
        flash(_("The invitation of %(email)s is withdrawn: its link no longer works.", email=user.email), "success")
    return redirect(_list_url())


# --- the pages of the e-mailed links -------------------------------------------------------


def _refused(opened: links.OpenedLink, purpose: LinkPurpose):
    """The page of a link that cannot be used: why, and what to do instead."""
    return render_template("users/link_refused.html", message=opened.problem, purpose=purpose.value), opened.status


def _in_language_of(user: User) -> None:
    """Show the page in the invitee's language, unless the visitor chose one."""
    if "language" not in session:
        session["language"] = user.language
        refresh()


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    opened = links.open_link(db.session, token, LinkPurpose.INVITATION)
    if opened.problem:
        return _refused(opened, LinkPurpose.INVITATION)
    user = opened.link.user
    _in_language_of(user)
    form = SetPasswordForm()
    page = keep_form(form, lambda: render_template("users/set_password.html", form=form, user=user, invitation=True))
    if form.validate_on_submit():
        service.accept_invitation(db.session, opened.link, form.password.data)
        signed_in = sign_in(user)
        flash(_("Welcome, %(name)s: your password is set.", name=user.name), "success")
        return signed_in
    return page()


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        done, status, headers = throttled(
            lambda: service.request_password_reset(db.session, form.email.data, address=request.remote_addr or "")
            or True,
            _("Too many requests for a new password. Please wait %(minutes)d minutes and try again."))
        if done:
            flash(_("If %(email)s is the e-mail of a user, a link to choose a new password is on its way. "
                    "It works for an hour.", email=form.email.data.strip()), "info")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return render_template("users/forgot_password.html", form=form), status, headers


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    opened = links.open_link(db.session, token, LinkPurpose.PASSWORD_RESET)
    if opened.problem:
        return _refused(opened, LinkPurpose.PASSWORD_RESET)
    user = opened.link.user
    form = SetPasswordForm()
    page = keep_form(form, lambda: render_template("users/set_password.html", form=form, user=user, invitation=False))
    if form.validate_on_submit():
        service.reset_password(db.session, opened.link, form.password.data)
        signed_in = sign_in(user)
        flash(_("Your password is changed; every other session of yours has ended."), "success")
        return signed_in
    return page()

