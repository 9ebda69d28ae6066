"""Sign-in, sign-out and the user's own settings."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_required, login_user, logout_user

from portal import audit
from portal.auth import service
from portal.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    PreferencesForm,
    ReauthenticateForm,
    SignOutEverywhereForm,
)
from portal.auth.passwords import verify_password
from portal.extensions import db
from portal.models import UserSession
from portal.web import Blueprint

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in, or None.

    Only plain relative paths pass: no scheme or host (``https://evil``,
    ``javascript:``), no protocol-relative or backslash tricks (``//evil``, ``/\\evil``),
    no control characters."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    headers = {}
    if form.validate_on_submit():
        try:
            result = service.authenticate(db.session, form.email.data, form.password.data, request.remote_addr or "")
        except service.SignInThrottled as throttled:
            flash(_("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.",
                    minutes=max(1, throttled.retry_after // 60)), "error")
            status, headers = 429, {"Retry-After": str(throttled.retry_after)}
        else:
            if result.ok:
                user = result.user
                next_url = safe_next(request.args.get("next"))
                session.clear()  # a new session: no fixation, a new CSRF token
                service.start_session(
                    db.session, user, remember=form.remember.data,
                    ip=request.remote_addr or "", user_agent=request.user_agent.string,
                )
                login_user(user, remember=form.remember.data, fresh=True)
                audit.record(db.session, "auth.signed_in", user, account_id=user.account_id, actor=user)
                return redirect(next_url or url_for("main.home"))
            flash(_("The e-mail or password is not correct."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        service.end_session(db.session, current_user.get_id())
        audit.record(db.session, "auth.signed_out", current_user, account_id=current_user.account_id)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
def reauthenticate():
    """Confirm the password before a decision that needs a fresh sign-in."""
    form = ReauthenticateForm()
    if form.validate_on_submit():
        ok, _new_hash = verify_password(current_user.password_hash, form.password.data)
        if ok:
            confirm_login()
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
        flash(_("The password is not correct."), "error")
    return render_template("auth/reauthenticate.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def settings():
    preferences = PreferencesForm(prefix="pref", obj=current_user)
    password = ChangePasswordForm(prefix="pw")
    everywhere = SignOutEverywhereForm(prefix="all")
    if preferences.submit.data and preferences.validate_on_submit():
        current_user.language = preferences.language.data
        current_user.timezone = preferences.timezone.data
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.settings"))
    if password.submit.data and password.validate_on_submit():
        ok, _new_hash = verify_password(current_user.password_hash, password.current_password.data)
        if not ok:
            password.current_password.errors.append(_("The password is not correct."))
        else:
            service.change_password(db.session, current_user, password.new_password.data, keep_token=current_user.get_id())
            audit.record(db.session, "auth.password_changed", current_user, account_id=current_user.account_id)
            flash(_("Your password is changed. Your other sessions have been signed out."), "success")
            return redirect(url_for("auth.settings"))
    if everywhere.submit.data and everywhere.validate_on_submit():
        ended = service.revoke_all_sessions(db.session, current_user, keep_token=current_user.get_id())
        audit.record(db.session, "auth.signed_out_everywhere", current_user, account_id=current_user.account_id)
        flash(_("Signed out of %(n)d other sessions.", n=ended), "success")
        return redirect(url_for("auth.settings"))
    sessions = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == current_user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return render_template(
        "auth/settings.html", preferences=preferences, password=password, everywhere=everywhere, sessions=sessions
    )
