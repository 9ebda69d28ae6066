"""What every view shares: one unit of work, sign-in by default, security headers,
navigation, and where a refused request goes back to.

The shape of a view (see CONTRIBUTING.md): load through ``security``, validate the
form, call one service, flash, redirect. The view does not commit and does not catch
the services' ``DomainError``: the blueprint commits once when the view returns, and
the error handler rolls back and answers (``portal.errors``): the form again with what
was typed (``keep_form``), or the page named by the route's ``back``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import flask
import orjson
import sqlalchemy as sa
from flask import Flask, current_app, flash, g, redirect, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from portal.errors import wants_json
from portal.extensions import db
from portal.forms import once_token
from portal.i18n import current_language
from portal.models import Role
from portal.security import FIRM_STAFF

# Endpoints open to visitors who are not signed in; everything else needs a sign-in.
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "main.set_language", "main.health", "main.readiness", "metrics",
                              # the second step of a sign-in, and the pages of the links e-mailed to users
                              "auth.two_factor_sign_in", "users.accept_invitation", "users.forgot_password",
                              "users.reset_password",
                              # a calendar app's subscription: the secret in the address stands for the user
                              "meetings.calendar_feed"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)


class Response(flask.Response):
    """A response whose text is encoded whatever it holds: a lone surrogate stored before
    the edge refused them (``portal.edge``) is written as "?" instead of failing the page."""

    def set_data(self, value: bytes | str) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        super().set_data(value)


# Dates as ``2026-11-30``; times to the second, ``2026-11-30T08:15:00Z`` in UTC (the times
# the portal reads are UTC: ``UTCDateTime``; a naive one is taken as UTC).
_TIMES = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


def _json_default(value: Any) -> Any:
    """What orjson leaves to Flask's encoder, with dates and times as orjson writes them."""
    if isinstance(value, date):
        return orjson.dumps(value, option=_TIMES).decode()[1:-1]
    return DefaultJSONProvider.default(value)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, written by orjson: the API's lists are its busiest answers, and
    orjson writes them several times faster, dates and times included (``_TIMES``, as
    ``api.common.iso_date`` and ``iso_time`` write them: a list passes its rows' dates as
    they are). Keys sorted, so the answers read as before; what orjson refuses (a lone
    surrogate stored before the edge refused them, an integer beyond 64 bits) is written
    by Flask's own encoder, with dates and times written the same way."""

    _OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | _TIMES
    default = staticmethod(_json_default)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
        except (orjson.JSONEncodeError, TypeError):
            return super().dumps(obj, **kwargs)


def unit_of_work(view: Callable) -> Callable:
    """Commit what the view did, once, when it returns. An exception (a refused rule, a
    lost database, a bug) goes to the error handlers instead, which roll it all back.

    A form that creates something carries a one-time token (``forms.OnceForm``): the
    page it led to is kept with the work, so the same form sent again (a double click, a
    resubmit after a 503) goes to that page and creates nothing more."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        once = _once_key()
        if once is not None and (done := _sent_before(once)) is not None:
            return done
        try:
            result = view(*args, **kwargs)
        except HTTPException as refusal:
            if getattr(refusal, "keep_work", False):  # a refusal that recorded something: a failed sign-in
                db.session.commit()
            raise
        if once is not None and not _remember(once, result):
            db.session.rollback()  # a twin of this form won the race: keep its work, not ours
            return _sent_before(once)
        _commit()
        return result

    return wrapped


def _commit() -> None:
    """Commit the request's work (the unit of work's one commit). A read in autocommit
    (``database.reads_only`` on PostgreSQL) has nothing left to commit, each statement having
    committed as it ran: the commit and its bookkeeping are spared, unless the view
    changed ORM objects after all, which are then flushed and committed as anywhere."""
    session = db.session
    if g.get("_autocommitted") and not (session.new or session.dirty or session.deleted):
        return
    session.commit()


ONCE_FIELD = "once"


def _once_key() -> str | None:
    token = request.form.get(ONCE_FIELD) if request.method == "POST" and request.mimetype != "application/json" else None
    if not token or not current_user.is_authenticated or not 16 <= len(token) <= 64:
        return None
    return f"form:{token}"


def _sent_before(key: str):
    """The page a form with this token already led to, or None."""
    from portal.models import IdempotencyKey

    stored = db.session.scalar(sa.select(IdempotencyKey.response).where(
        IdempotencyKey.user_id == current_user.id, IdempotencyKey.key == key, IdempotencyKey.status_code.is_not(None)))
    if stored is None:
        return None
    flash(_("This form was sent already: here is what it did."), "info")
    return redirect(stored["location"])


def _remember(key: str, result: Any) -> bool:
    """Keep where a form that did its work led (a redirect); False when a twin sent at
    the same moment kept its own first."""
    from portal.models import IdempotencyKey

    response = current_app.make_response(result)
    if not 300 <= response.status_code < 400:
        return True  # shown again (a mistake, "add a line"): it may be sent again
    record = IdempotencyKey(user_id=current_user.id, key=key, request_hash=hashlib.sha256(request.path.encode()).hexdigest(),
                            status_code=response.status_code, response={"location": response.location})
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except sa.exc.IntegrityError:
        return False
    return True


class Blueprint(flask.Blueprint):
    """A feature's blueprint: each of its views is one ``unit_of_work``.

    A route that acts on an object without a form page of its own names the page a
    refusal goes back to, with the same path values: ``@bp.route("/plans/<int:plan_id>/submit",
    methods=["POST"], back="plans.detail")``."""

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Callable | None = None,
                     provide_automatic_options: bool | None = None, **options: Any) -> None:
        back = options.pop("back", None)
        if view_func is not None:
            view_func = unit_of_work(view_func)
            view_func.refused_back = back
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def keep_form(form: Any, render: Callable[[], Any]) -> Callable[[], Any]:
    """Should a service refuse this request, answer with ``render()``: the form again,
    with what was typed and each problem beside its field (``render`` finds the refusal
    itself in ``g.refusal``: an import lists its problems by row). Returns ``render``."""
    g.refused_form = (form, render)
    return render


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: tuple[Role, ...]


ALL_ROLES = tuple(Role)
NAV: list[NavItem] = [
    NavItem("main.home", _l("Home"), ALL_ROLES),
    NavItem("main.accounts", _l("Accounts"), FIRM_STAFF),
    NavItem("portfolio.index", _l("Portfolio"), (Role.ACCOUNT_MANAGER, Role.ADMIN)),
    NavItem("requests.index", _l("Requests"), ALL_ROLES),
    NavItem("change_requests.index", _l("Change requests"), ALL_ROLES),
    NavItem("documents.index", _l("Documents"), ALL_ROLES),
    NavItem("documents.to_review", _l("Documents to review"), (Role.REGIONAL_REVIEWER,)),
    NavItem("billing.index", _l("Invoices"), ALL_ROLES),
    NavItem("scorecards.index", _l("Scorecards"), ALL_ROLES),
    NavItem("credits.index", _l("Service credits"), (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)),
    NavItem("pipeline.index", _l("Pipeline"), (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)),
    NavItem("actions.index", _l("Actions"), ALL_ROLES),
    NavItem("plans.index", _l("Plans"), ALL_ROLES),
    NavItem("meetings.index", _l("Meetings"), ALL_ROLES),
    NavItem("requests.csat", _l("CSAT"), (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)),
    NavItem("users.index", _l("Users"), (Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER)),
    NavItem("admin.users", _l("Users"), (Role.ADMIN,)),
    NavItem("admin.audit_log", _l("Audit log"), (Role.ADMIN,)),
]


def navigation() -> list[tuple[str, str, bool]]:
    """(url, label, active) for what the signed-in user's role may open. Built once per
    role, page kind and language, translated, and kept on the app: every page shows it."""
    if not current_user.is_authenticated:
        return []
    key = (current_user.role, request.endpoint, request.blueprint, request.script_root, current_language())
    built = current_app.extensions.setdefault("portal_navigation", {})
    items = built.get(key)
    if items is None:
        items = built[key] = [
            (url_for(item.endpoint), str(item.label), _is_active(item.endpoint))
            for item in NAV
            if current_user.role in item.roles and item.endpoint in current_app.view_functions
        ]
    return items


def _is_active(endpoint: str) -> bool:
    """The page's own item; else the first item of its feature (a request's page:
    Requests, not CSAT; a user's page: Users, not Audit log)."""
    if request.endpoint == endpoint:
        return True
    if any(item.endpoint == request.endpoint for item in NAV):  # another item is the page's own
        return False
    feature = next((item.endpoint for item in NAV
                    if item.endpoint.split(".")[0] == request.blueprint and item.endpoint != "main.home"), None)
    return endpoint == feature


def init_app(app: Flask) -> None:
    app.response_class = Response
    app.json = JSONProvider(app)
    app.jinja_env.globals.update(navigation=navigation, once_token=once_token)

    @app.before_request
    def require_sign_in():
        if request.blueprint == "api" or request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return app.login_manager.unauthorized()
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # Each is added unless the view set its own: one pass over the few headers a
        # response has, rather than one per security header.
        present = {name.lower() for name in headers.keys()}
        for name, value in SECURITY_HEADERS + (HSTS if request.is_secure else ()):
            if name.lower() not in present:
                headers.add(name, value)
        user = g.get("_login_user")
        if request.endpoint != "static" and (wants_json() or (user is not None and user.is_authenticated)):
            # Signed-in answers are never stored, unless the view chose to let this
            # browser alone keep them (``private``: a chart of a given data version).
            if not response.cache_control.private:
                headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response
