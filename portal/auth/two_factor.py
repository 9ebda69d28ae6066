"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238), or one of ten
single-use recovery codes.

Any user may turn it on; the admin may require it of a role or of the users of an
account (``TwoFactorRequirement``). A user who has it gives a code after the password,
when signing in on the web or asking for an API token, and again with the password when a
decision needs a fresh sign-in. A code is accepted once: the authenticator keeps the time
step of the last code it accepted and takes only later ones (a conditional update, so
two requests racing with one code cannot both win). Recovery codes are stored as
SHA-256 and spent the same way.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.auth import throttle
from portal.auth.service import SignInThrottled, revoke_all_sessions
from portal.domain import Conflict, DomainError
from portal.models import Authenticator, RecoveryCode, Role, TwoFactorRequirement, User, account_members
from portal.models.base import utcnow

RECOVERY_CODES = 10
# Crockford's base32 alphabet: no I, L, O or U to misread; 16 of them make 80 bits.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
DRIFT = 1  # time steps (of 30 s) a phone's clock may be off, either way


class Proof(enum.StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


def authenticator(session: Session, user: User) -> Authenticator | None:
    """The user's authenticator, confirmed or still being set up."""
    return session.scalar(sa.select(Authenticator).where(Authenticator.user_id == user.id))


def is_enabled(session: Session, user: User) -> bool:
    """Whether the user signs in with a code as well as the password."""
    return session.scalar(sa.select(sa.exists().where(Authenticator.user_id == user.id,
                                                      Authenticator.confirmed_at.is_not(None))))


def is_required(session: Session, user: User) -> bool:
    """Whether the admin requires two-factor sign-in of this user: of their role, their
    account (a client user), or an account they are assigned to (a firm user)."""
    return session.scalar(sa.select(sa.exists().where(sa.or_(
        TwoFactorRequirement.role == user.role, TwoFactorRequirement.account_id.in_(sorted(user.account_ids))))))


def setup_due(session: Session, user: User) -> bool:
    """Required of the user, who has not turned it on yet."""
    return is_required(session, user) and not is_enabled(session, user)


# --- turning it on and off -------------------------------------------------------------------


def start(session: Session, user: User) -> Authenticator:
    """The secret the user's app is to scan: a new one, or the one shown before and not
    yet confirmed (reloading the page keeps the QR code)."""
    current = authenticator(session, user)
    if current is not None and current.confirmed_at is not None:
        raise Conflict(_l("Two-factor sign-in is on already."))
    if current is None:
        current = Authenticator(user_id=user.id, secret=pyotp.random_base32())
        session.add(current)
        session.flush()
    return current


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"])


def qr_code(uri: str) -> str:
    """The QR code of ``uri`` as a ``data:`` URI of an SVG image, drawn here (no service
    sees the secret); the page's CSP allows images from ``data:``."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def confirm(session: Session, user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with a first code from the app; return the recovery
    codes, shown this once."""
    current = start(session, user)
    if not _take_totp(session, current, _normalise(code)):
        raise DomainError(_l("The code is not correct. Check the time on your phone and try the next code."),
                          fields={"code": "wrong code"})
    current.confirmed_at = utcnow()
    codes = new_recovery_codes(session, user)
    audit.record(session, "auth.two_factor_enabled", user, account_id=user.account_id)
    return codes


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten new recovery codes (the earlier ones stop working), to show once."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(4))
             for _ in range(RECOVERY_CODES)]
    session.add_all([RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes])
    session.flush()
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def turn_off(session: Session, user: User, actor: User) -> None:
    """Turn two-factor sign-in off: the user themselves, unless it is required of them;
    or the admin, for a user who lost their phone and their recovery codes (they are then
    asked to set it up again at their next sign-in if it is required)."""
    if actor.id == user.id and is_required(session, user):
        raise DomainError(_l("Two-factor sign-in is required for your account: it cannot be turned off."),
                          status=403)
    session.execute(sa.delete(Authenticator).where(Authenticator.user_id == user.id))
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(session, "auth.two_factor_disabled", user, account_id=user.account_id)


# --- checking a code -------------------------------------------------------------------------


def verify(session: Session, user: User, code: str, *, now: datetime | None = None) -> Proof | None:
    """Spend ``code``: a current code of the user's app not accepted before, or an unused
    recovery code. None when it is neither (the caller counts a failed sign-in)."""
    code = _normalise(code)
    if code.isdigit() and len(code) == 6:
        current = session.scalar(sa.select(Authenticator).where(Authenticator.user_id == user.id,
                                                                Authenticator.confirmed_at.is_not(None)))
        return Proof.TOTP if current is not None and _take_totp(session, current, code, now=now) else None
    spent = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if spent != 1:
        return None
    audit.record(session, "auth.recovery_code_used", user, account_id=user.account_id, actor=user,
                 data={"left": recovery_codes_left(session, user)})
    return Proof.RECOVERY_CODE


def check(session: Session, user: User, code: str, *, address: str) -> Proof | None:
    """``verify``, throttled as signing in is: a wrong code counts as a failed sign-in of
    the user's e-mail from ``address``; raises ``SignInThrottled`` when there were too many."""
    wait = throttle.retry_after(session, user.email, address)
    if wait:
        raise SignInThrottled(wait)
    proof = verify(session, user, code)
    if proof is None:
        throttle.record_failure(session, user.email, address)
    return proof


def _take_totp(session: Session, current: Authenticator, code: str, *, now: datetime | None = None) -> bool:
    """Whether ``code`` is the app's code of a time step near now that is later than the
    last one accepted; if so, that step becomes the last accepted."""
    totp = pyotp.TOTP(current.secret)
    step = totp.timecode(now or utcnow())
    for counter in range(step - DRIFT, step + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            won = session.execute(
                sa.update(Authenticator)
                .where(Authenticator.id == current.id,
                       sa.or_(Authenticator.last_counter.is_(None), Authenticator.last_counter < counter))
                .values(last_counter=counter)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.expire(current, ["last_counter"])
            return won == 1
    return False


def _normalise(code: str) -> str:
    """What was typed, without the spaces and dashes people add, in lower case."""
    return "".join((code or "").split()).replace("-", "").lower()[:64]


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


# --- what the admin requires -------------------------------------------------------------------


def requirements(session: Session) -> tuple[set[Role], set[int]]:
    """The roles and the accounts whose users must use two-factor sign-in."""
    rows = session.scalars(sa.select(TwoFactorRequirement)).all()
    return {r.role for r in rows if r.role is not None}, {r.account_id for r in rows if r.account_id is not None}


def require(session: Session, actor: User, *, roles: set[Role], account_ids: set[int]) -> list[User]:
    """Require two-factor sign-in of exactly these roles and accounts' users. Those newly
    concerned who have not turned it on are signed out everywhere (but ``actor``'s own
    session goes on), so they set it up at their next sign-in; return them."""
    old_roles, old_accounts = requirements(session)
    session.execute(sa.delete(TwoFactorRequirement))
    session.add_all([TwoFactorRequirement(role=role) for role in sorted(roles)]
                    + [TwoFactorRequirement(account_id=account_id) for account_id in sorted(account_ids)])
    session.flush()
    audit.record(session, "auth.two_factor_required", data={
        "roles": sorted(r.value for r in roles), "accounts": sorted(account_ids)})
    new_roles, new_accounts = roles - old_roles, account_ids - old_accounts
    if not new_roles and not new_accounts:
        return []
    assigned = sa.select(account_members.c.user_id).where(account_members.c.account_id.in_(sorted(new_accounts)))
    concerned = session.scalars(sa.select(User).where(
        User.active,
        sa.or_(User.role.in_(sorted(new_roles)), User.account_id.in_(sorted(new_accounts)), User.id.in_(assigned)),
        ~sa.exists().where(Authenticator.user_id == User.id, Authenticator.confirmed_at.is_not(None)),
    )).all()
    for user in concerned:
        revoke_all_sessions(session, user, keep_token=actor.session_token if user.id == actor.id else None)
    return list(concerned)
