"""POST /auth/token: e-mail and password (and a two-factor code) for a bearer token;
POST /auth/password-reset: "Forgot your password?"."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, Field

from portal import audit
from portal.api import bp
from portal.api.common import ApiError, authenticate, iso_time, route, second_factor, unless_throttled
from portal.auth import service, two_factor
from portal.extensions import db
from portal.users.service import request_password_reset


class TokenRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=64,
                             description="With two-factor sign-in: the authenticator app's code, or a recovery code")


class TokenResponse(BaseModel):
    token: str
    expires_at: str


class PasswordResetRequest(BaseModel):
    email: str = Field(min_length=1, max_length=254)


class PasswordResetAccepted(BaseModel):
    message: str


@route(bp, "/auth/token", "POST", "Exchange e-mail and password for a bearer token", body=TokenRequest,
       response=TokenResponse, status=201, public=True, tag="auth")
def token(body: TokenRequest):
    result = authenticate(body.email, body.password)
    if not result.ok:  # the failure the throttle counted is kept (keep_work), not rolled back
        raise ApiError(401, _("The e-mail or password is not correct."), code="invalid_credentials", keep_work=True)
    user = result.user
    if two_factor.is_enabled(db.session, user):
        if not body.totp:
            raise ApiError(401, _("Send the code of your authenticator app, or a recovery code, as totp."),
                           code="totp_required")
        if second_factor(user, body.totp) is None:
            raise ApiError(401, _("The code is not correct, or was used already."), code="invalid_totp",
                           keep_work=True)
    elif two_factor.is_required(db.session, user):
        raise ApiError(403, _("Your account requires two-factor sign-in: set it up in your settings on the web first."),
                       code="two_factor_setup_required")
    token, expires_at = service.issue_api_token(db.session, user)
    audit.record(db.session, "auth.token_issued", user, account_id=user.account_id, actor=user)
    return {"token": token, "expires_at": iso_time(expires_at)}, 201


@route(bp, "/auth/password-reset", "POST", "E-mail a link to choose a new password (202 whether or not the "
       "e-mail is known)", body=PasswordResetRequest, response=PasswordResetAccepted, status=202, public=True,
       tag="auth")
def password_reset(body: PasswordResetRequest):
    unless_throttled(lambda: request_password_reset(db.session, body.email, address=request.remote_addr or ""),
                     _("Too many requests for a new password. Please wait and try again."))
    return {"message": _("If this is the e-mail of a user, a link to choose a new password is on its way. "
                         "It works for an hour.")}, 202
