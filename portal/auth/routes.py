"""Sign-in, sign-out and the user's own settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_required, login_user, logout_user

from portal import audit
from portal.auth import service, two_factor
from portal.auth.forms import (
    ChangePasswordForm,
    CodeForm,
    LoginForm,
    PreferencesForm,
    ReauthenticateForm,
    RecoveryCodesForm,
    SignOutEverywhereForm,
    TwoFactorConfirmForm,
    TwoFactorOffForm,
    TwoFactorStartForm,
)
from portal.auth.passwords import verify_password
from portal.extensions import db
from portal.models import User, UserSession
from portal.notifications.forms import EmailChoiceForm
from portal.notifications.service import settings_of as notification_settings
from portal.security import fresh_login_or_redirect, mark_fresh
from portal.users.service import update_own_details
from portal.web import PUBLIC_ENDPOINTS, Blueprint, keep_form

bp = Blueprint("auth", __name__)
T = TypeVar("T")

# In the signed session cookie between the password and the code: who, for how long.
PENDING = "two_factor_pending"
PENDING_SECONDS = 300
# Set for a session whose user must set up two-factor sign-in before anything else.
SETUP_DUE = "two_factor_setup_due"
SETUP_OPEN = PUBLIC_ENDPOINTS | {"auth.two_factor_settings", "auth.reauthenticate", "auth.logout"}


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


def throttled(attempt: Callable[[], T], message: str | None = None) -> tuple[T | None, int, dict]:
    """(what ``attempt`` answered, 200, no headers); or, when the e-mail or the address has
    tried too often, (None, 429, Retry-After) and a flash saying so (``message``, with the
    minutes to wait as ``%(minutes)d``; by default about failed sign-ins)."""
    try:
        return attempt(), 200, {}
    except service.SignInThrottled as refusal:
        minutes = max(1, refusal.retry_after // 60)
        flash(message % {"minutes": minutes} if message else
              _("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.", minutes=minutes), "error")
        return None, 429, {"Retry-After": str(refusal.retry_after)}


def _credentials(email: str, password: str):
    """(the user these credentials sign in or None, the page's status, its headers):
    401 for wrong ones, 429 with Retry-After and a flash when the e-mail or the address
    has failed too often."""
    result, status, headers = throttled(
        lambda: service.authenticate(db.session, email, password, request.remote_addr or ""))
    if result is None:
        return None, status, headers
    return (result.user, 200, {}) if result.ok else (None, 401, {})


def _code(user: User, code: str):
    """(the proof ``code`` gave or None, status, headers), as ``_credentials``; a wrong
    code counts as a failed sign-in and says so."""
    proof, status, headers = throttled(
        lambda: two_factor.check(db.session, user, code, address=request.remote_addr or ""))
    if proof is None and status == 200:
        flash(_("The code is not correct. Check the time on your phone and try the next code."), "error")
        status = 401
    return proof, status, headers


def _recovery_codes_left(user: User, proof: two_factor.Proof | None) -> None:
    if proof is two_factor.Proof.RECOVERY_CODE:
        flash(_("You used a recovery code: %(n)d are left. Make new ones in your settings when few are left.",
                n=two_factor.recovery_codes_left(db.session, user)), "info")


def sign_in(user: User, *, remember: bool = False, next_url: str | None = None):
    """The answer to a proven password (or a link that just set it): the user's session
    starts; or, when they use two-factor sign-in, the page that asks for their code
    first. A user of whom the admin requires it, and who has not set it up, is sent to
    set it up before anything else (and is not remembered until then)."""
    if two_factor.is_enabled(db.session, user):
        session.clear()
        session[PENDING] = {"user_id": user.id, "remember": remember, "next": next_url, "at": int(time.time())}
        return redirect(url_for("auth.two_factor_sign_in"))
    due = two_factor.is_required(db.session, user)
    _start_session(user, remember=remember and not due)
    if due:
        session[SETUP_DUE] = True
        flash(_("Your account requires two-factor sign-in: set it up to continue."), "info")
        return redirect(url_for("auth.two_factor_settings"))
    return redirect(next_url or url_for("main.home"))


def _start_session(user: User, *, remember: bool) -> None:
    session.clear()  # a new session: no fixation, a new CSRF token
    service.start_session(db.session, user, remember=remember, ip=request.remote_addr or "",
                          user_agent=request.user_agent.string)
    login_user(user, remember=remember, fresh=True)
    mark_fresh()
    audit.record(db.session, "auth.signed_in", user, account_id=user.account_id, actor=user)


@bp.before_app_request
def two_factor_setup_first():
    """A user who must set up two-factor sign-in sees nothing else until they have (or
    until the admin no longer requires it)."""
    if session.get(SETUP_DUE) and request.endpoint not in SETUP_OPEN and request.blueprint != "api":
        if current_user.is_authenticated and two_factor.setup_due(db.session, current_user):
            return redirect(url_for("auth.two_factor_settings"))
        session.pop(SETUP_DUE, None)
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        user, status, headers = _credentials(form.email.data, form.password.data)
        if user is not None:
            return sign_in(user, remember=form.remember.data, next_url=safe_next(request.args.get("next")))
        if status == 401:
            flash(_("The e-mail or password is not correct."), "error")
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


def _pending_user() -> User | None:
    """The user who gave their password in the last minutes and is to give a code."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.scalar(sa.select(User).where(User.id == pending.get("user_id")))
    return user if user is not None and user.active else None


@bp.route("/login/code", methods=["GET", "POST"])
def two_factor_sign_in():
    user = _pending_user()
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        proof, status, headers = _code(user, form.code.data)
        if proof is not None:
            pending = session[PENDING]
            _start_session(user, remember=bool(pending.get("remember")))
            _recovery_codes_left(user, proof)
            return redirect(safe_next(pending.get("next")) or url_for("main.home"))
    return render_template("auth/two_factor_sign_in.html", form=form), status, headers


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
    """Confirm the password (and the code, with two-factor sign-in) before a decision
    that needs a fresh sign-in. Wrong ones count as failed sign-ins: a copied
    remember-me cookie allows no guessing."""
    form = ReauthenticateForm()
    needs_code = two_factor.is_enabled(db.session, current_user)
    status, headers = 200, {}
    if form.validate_on_submit():
        user, status, headers = _credentials(current_user.email, form.password.data)
        if status == 401:
            flash(_("The password is not correct."), "error")
        proof = None
        if user is not None and needs_code:
            if form.code.data:
                proof, status, headers = _code(user, form.code.data)
            else:
                status = 401
                form.code.errors.append(_("Enter the code from your authenticator app, or a recovery code."))
            user = user if proof is not None else None
        if user is not None and user.id == current_user.id:
            confirm_login()
            mark_fresh()
            _recovery_codes_left(user, proof)
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/reauthenticate.html", form=form, needs_code=needs_code), status, headers


@bp.route("/account", methods=["GET", "POST"])
@login_required
def settings():
    preferences = PreferencesForm(prefix="pref", user=current_user)
    password = ChangePasswordForm(prefix="pw")
    everywhere = SignOutEverywhereForm(prefix="all")
    if preferences.submit.data and preferences.validate_on_submit():
        update_own_details(db.session, current_user, name=preferences.name.data, locale=preferences.language.data,
                           timezone=preferences.timezone.data)
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
        "auth/settings.html", preferences=preferences, password=password, everywhere=everywhere, sessions=sessions,
        two_factor_on=two_factor.is_enabled(db.session, current_user),
        email_choices=EmailChoiceForm.for_user(current_user, notification_settings(db.session, current_user)),
    )


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_settings():
    """Two-factor sign-in of the signed-in user: set it up (a QR code for the app, then a
    first code), make new recovery codes, or turn it off. Each needs a fresh sign-in;
    recovery codes are shown once, in the answer that made them."""
    start, confirm, renew, turn_off = TwoFactorStartForm(), TwoFactorConfirmForm(), RecoveryCodesForm(), TwoFactorOffForm()
    if request.method == "POST":
        stale = fresh_login_or_redirect(_("Confirm your password before changing two-factor sign-in."),
                                        url_for("auth.two_factor_settings"))
        if stale:
            return stale
    page = keep_form(confirm, lambda: _two_factor_page(confirm))
    if start.start.data and start.validate_on_submit():
        two_factor.start(db.session, current_user)
        return redirect(url_for("auth.two_factor_settings"))
    if confirm.confirm.data and confirm.validate_on_submit():
        codes = two_factor.confirm(db.session, current_user, confirm.code.data)
        session.pop(SETUP_DUE, None)
        flash(_("Two-factor sign-in is on."), "success")
        return render_template("auth/recovery_codes.html", codes=codes)
    if renew.renew.data and renew.validate_on_submit():
        codes = two_factor.new_recovery_codes(db.session, current_user)
        audit.record(db.session, "auth.recovery_codes_renewed", current_user, account_id=current_user.account_id)
        flash(_("New recovery codes are made; the earlier ones no longer work."), "success")
        return render_template("auth/recovery_codes.html", codes=codes)
    if turn_off.turn_off.data and turn_off.validate_on_submit():
        two_factor.turn_off(db.session, current_user, current_user)
        flash(_("Two-factor sign-in is off."), "success")
        return redirect(url_for("auth.settings"))
    return page()


def _two_factor_page(confirm: TwoFactorConfirmForm):
    user = current_user
    current = two_factor.authenticator(db.session, user)
    enabled = current is not None and current.confirmed_at is not None
    qr = secret = None
    if current is not None and not enabled:
        qr = two_factor.qr_code(two_factor.provisioning_uri(user, current.secret))
        secret = " ".join(current.secret[i:i + 4] for i in range(0, len(current.secret), 4))
    return render_template(
        "auth/two_factor.html", current=current, enabled=enabled, qr=qr, secret=secret, confirm=confirm,
        start=TwoFactorStartForm(), renew=RecoveryCodesForm(), turn_off=TwoFactorOffForm(),
        required=two_factor.is_required(db.session, user),
        codes_left=two_factor.recovery_codes_left(db.session, user) if enabled else 0,
    )
