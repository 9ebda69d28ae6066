"""JSON API v1 under /api/v1: bearer tokens only, errors as ``{"error": {...}}``.

Each resource is one module that registers its routes on ``bp`` with
``common.route``, which also describes them for ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from flask import g, request

from portal.auth import service as auth_service
from portal.extensions import db, login_manager
from portal.web import Blueprint

bp = Blueprint("api", __name__)


@bp.before_request
def authenticate_bearer() -> None:
    """Only ``Authorization: Bearer`` identifies an API caller; the session cookie is
    ignored here (the API is exempt from CSRF, so it must not honour cookies)."""
    user = None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = auth_service.load_token_user(db.session, token.strip())
    g._login_user = user or login_manager.anonymous_user()


from portal.api import (  # noqa: E402  (modules register routes on bp)
    accounts,
    auth,
    change_requests,
    inbox,
    invoice_imports,
    invoices,
    jobs,
    meetings,
    notifications,
    onboarding,
    openapi,
    opportunities,
    people,
    plans,
    requests,
    scorecards,
    search,
    service_credits,
    users,
    volumes,
)

__all__ = ["bp", "accounts", "auth", "change_requests", "inbox", "invoice_imports", "invoices", "jobs", "meetings", "notifications", "onboarding", "openapi", "opportunities", "people", "plans", "requests", "scorecards", "search", "service_credits", "users", "volumes"]
