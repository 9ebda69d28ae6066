"""POST /auth/token: e-mail and password for a bearer token."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, Field

from portal import audit
from portal.api import bp
from portal.api.common import ApiError, iso_time, route
from portal.auth import service
from portal.errors import error_response
from portal.extensions import db


class TokenRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    token: str
    expires_at: str


@route(bp, "/auth/token", "POST", "Exchange e-mail and password for a bearer token", body=TokenRequest,
       response=TokenResponse, status=201, public=True, tag="auth")
def token(body: TokenRequest):
    try:
        result = service.authenticate(db.session, body.email, body.password, request.remote_addr or "")
    except service.SignInThrottled as throttled:
        error = ApiError(429, _("Too many failed sign-ins. Please wait and try again."))
        error.retry_after = throttled.retry_after
        raise error from None
    if not result.ok:  # answered, not raised: raising would roll back the failure the throttle may have written
        return error_response(401, _("The e-mail or password is not correct."), code="invalid_credentials")
    token, expires_at = service.issue_api_token(db.session, result.user)
    audit.record(db.session, "auth.token_issued", result.user, account_id=result.user.account_id, actor=result.user)
    return {"token": token, "expires_at": iso_time(expires_at)}, 201
