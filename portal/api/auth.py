"""POST /auth/token: e-mail and password for a bearer token."""

from __future__ import annotations

from flask_babel import gettext as _
from pydantic import BaseModel, Field

from portal import audit
from portal.api import bp
from portal.api.common import ApiError, authenticate, iso_time, route
from portal.auth import service
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
    result = authenticate(body.email, body.password)
    if not result.ok:  # the failure the throttle counted is kept (keep_work), not rolled back
        raise ApiError(401, _("The e-mail or password is not correct."), code="invalid_credentials", keep_work=True)
    token, expires_at = service.issue_api_token(db.session, result.user)
    audit.record(db.session, "auth.token_issued", result.user, account_id=result.user.account_id, actor=result.user)
    return {"token": token, "expires_at": iso_time(expires_at)}, 201
