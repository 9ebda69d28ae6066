"""Sign-in, server-side sessions and API tokens.

A browser session is a row in ``user_sessions``; the cookie holds only its random
token (signed by Flask). Logging out, changing the password or an admin disabling the
user revokes the rows, which ends the session wherever a copy of the cookie went.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from portal.auth import passwords, throttle
from portal.models import Account, ApiToken, User, UserSession
from portal.models.base import utcnow
from portal.models.user import hash_token
from portal.security import unscoped


class SignInThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass
class SignInResult:
    user: User | None

    @property
    def ok(self) -> bool:
        return self.user is not None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(session: Session, email: str, password: str, address: str) -> SignInResult:
    """Check credentials, with throttling. Unknown e-mail, wrong password and a
    disabled user all answer the same, in about the same time.

    Raises ``SignInThrottled`` when the e-mail or the address has failed too often."""
    email = normalise_email(email)
    wait = throttle.retry_after(session, email, address)
    if wait:
        raise SignInThrottled(wait)
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.has_password:  # an invited user without one yet: the same time too
        passwords.burn_verification_time(password)
        ok, new_hash = False, None
    else:
        ok, new_hash = passwords.verify_password(user.password_hash, password)
    if not ok or not user.active:
        throttle.record_failure(session, email, address)
        return SignInResult(None)
    if new_hash:
        user.password_hash = new_hash
    return SignInResult(user)


def start_session(session: Session, user: User, *, remember: bool, ip: str, user_agent: str) -> str:
    """Create a server-side session for ``user``; return the token the cookie keeps."""
    config = current_app.config
    token = secrets.token_urlsafe(32)
    lifetime = config["SESSION_REMEMBER_LIFETIME"] if remember else config["SESSION_ABSOLUTE_LIFETIME"]
    now = utcnow()
    record = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        remember=remember,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip=ip[:45],
        user_agent=(user_agent or "")[:300],
    )
    session.add(record)
    session.flush()
    user.session_token, user.session_id = token, record.id
    return token


# What every request of a client reads of its account (its name, the day in its time
# zone, the version of its invoices), loaded with the user. The rest (legal names,
# addresses, languages: six JSON documents) is loaded where a page asks for it, by the
# page's own query of the account or when first read.
_USER_ACCOUNT = sa.orm.joinedload(User.account).load_only(
    Account.name, Account.timezone, Account.invoices_version)

# Built once: the user behind a session token (with a client's account, which every
# page of a client shows) and what decides whether the session still holds. Only the
# user is an ORM object: reading a page needs no UserSession instance.
_SESSION_USER = (
    sa.select(User, UserSession.id, UserSession.remember, UserSession.last_seen_at, UserSession.expires_at,
              UserSession.revoked_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash"))
    .options(_USER_ACCOUNT)
)


def load_session_user(session: Session, token: str) -> tuple[User | None, bool]:
    """The user behind a session token, or None when the session has ended (revoked,
    expired, idle too long, user disabled), and whether ``last_seen_at`` was touched
    (at most once a minute, so reading pages seldom writes; the caller commits)."""
    if not token:
        return None, False
    # Identity comes before scope: the user's own account is loaded with them (one
    # query), which the account filter cannot decide before it knows who is asking.
    with unscoped():
        row = session.execute(_SESSION_USER, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None, False
    user, session_id, remember, last_seen_at, expires_at, revoked_at = row
    now = utcnow()
    if revoked_at is not None or expires_at <= now or not user.active:
        return None, False
    if not remember and now - last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]:
        return None, False
    touched = now - last_seen_at > timedelta(minutes=1)
    if touched:
        session.execute(sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    user.session_token, user.session_id = token, session_id
    return user, touched


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_all_sessions(session: Session, user: User, *, keep_token: str | None = None) -> int:
    """End every session and API token of ``user`` (but ``keep_token``'s session)."""
    now = utcnow()
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_token:
        query = query.where(UserSession.token_hash != hash_token(keep_token))
    ended = session.execute(query.values(revoked_at=now)).rowcount
    session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    return ended


def change_password(session: Session, user: User, new_password: str, *, keep_token: str | None) -> None:
    """Set a new password and end the user's other sessions."""
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    revoke_all_sessions(session, user, keep_token=keep_token)


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends every session and token at once."""
    user.active = active
    if not active:
        revoke_all_sessions(session, user)


def issue_api_token(session: Session, user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires_at))
    session.flush()
    return token, expires_at


_TOKEN_USER = (
    sa.select(User, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.created_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
    .options(_USER_ACCOUNT)
)


def load_token_user(session: Session, token: str) -> User | None:
    with unscoped():
        row = session.execute(_TOKEN_USER, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    user, expires_at, revoked_at, created_at = row
    if revoked_at is not None or expires_at <= utcnow() or not user.active:
        return None
    user.signed_in_at = created_at  # a token is minted by a sign-in: see token_is_fresh
    return user


def token_is_fresh(user: User) -> bool:
    """Whether the caller's API token was minted by a sign-in recent enough to decide
    (``FRESH_SIGN_IN``, as the web asks a remembered session to confirm the password)."""
    signed_in_at = getattr(user, "signed_in_at", None)
    return signed_in_at is not None and utcnow() - signed_in_at <= current_app.config["FRESH_SIGN_IN"]
