"""What every HTML response shares: sign-in by default, security headers, navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.errors import wants_json
from portal.i18n import current_language
from portal.models import Role
from portal.security import FIRM_STAFF

# Endpoints open to visitors who are not signed in; everything else needs a sign-in.
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "main.set_language", "main.health"})

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


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: tuple[Role, ...]


ALL_ROLES = tuple(Role)
NAV: list[NavItem] = [
    NavItem("main.home", _l("Home"), ALL_ROLES),
    NavItem("main.accounts", _l("Accounts"), FIRM_STAFF),
    NavItem("requests.index", _l("Requests"), ALL_ROLES),
    NavItem("change_requests.index", _l("Change requests"), ALL_ROLES),
    NavItem("documents.index", _l("Documents"), ALL_ROLES),
    NavItem("billing.index", _l("Invoices"), ALL_ROLES),
    NavItem("scorecards.index", _l("Scorecards"), ALL_ROLES),
    NavItem("actions.index", _l("Actions"), ALL_ROLES),
    NavItem("plans.index", _l("Plans"), ALL_ROLES),
    NavItem("requests.csat", _l("CSAT"), (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)),
    NavItem("admin.users", _l("Users"), (Role.ADMIN,)),
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
    return request.endpoint == endpoint or bool(
        request.blueprint and endpoint.split(".")[0] == request.blueprint and endpoint != "main.home")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["navigation"] = navigation

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
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        user = g.get("_login_user")
        if request.endpoint != "static" and (wants_json() or (user is not None and user.is_authenticated)):
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response
