"""Failed sign-ins are counted per e-mail and per client address.

Counts live in a ``limits`` storage (Redis when ``REDIS_URL`` is set, so that every
worker shares them; memory otherwise, for development and tests). While that storage
cannot be reached, they are counted in the database (``login_failures``) with the same
limits: sign-in fails closed, not open. Nothing else is
rate-limited, so no request pays for a per-request limit check. Only failures count:
an office of fifty people behind one address signs in freely until someone keeps
getting a password wrong.

"Forgot your password?" is counted the same way (``PASSWORD_RESET``), every request
whether the e-mail is known or not, so its answer says nothing about the e-mail.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from limits import RateLimitItem, parse, storage, strategies
from sqlalchemy.orm import Session

from portal.models import LoginFailure
from portal.models.base import utcnow

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    counters = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["portal_throttle"] = strategies.FixedWindowRateLimiter(counters)


def _limiter() -> strategies.RateLimiter:
    return current_app.extensions["portal_throttle"]


@dataclass(frozen=True)
class Counter:
    """What is counted: its key's name and the settings that limit it per e-mail and per address."""

    name: str
    per_email: str
    per_address: str


SIGN_IN = Counter("login-fail", "LOGIN_FAILURES_PER_ACCOUNT", "LOGIN_FAILURES_PER_ADDRESS")
PASSWORD_RESET = Counter("password-reset", "PASSWORD_RESETS_PER_ACCOUNT", "PASSWORD_RESETS_PER_ADDRESS")


def _windows(email: str, address: str, counter: Counter) -> Iterator[tuple[RateLimitItem, str]]:
    config = current_app.config
    prefix = config.get("RATELIMIT_KEY_PREFIX", "")
    yield parse(config[counter.per_email]), f"{prefix}{counter.name}:email:{email.strip().lower()}"
    yield parse(config[counter.per_address]), f"{prefix}{counter.name}:addr:{address}"


def retry_after(session: Session, email: str, address: str, counter: Counter = SIGN_IN) -> int | None:
    """Seconds until another attempt is allowed, or None when it is allowed now."""
    windows = list(_windows(email, address, counter))
    try:
        limiter = _limiter()
        for item, key in windows:
            if not limiter.test(item, key):
                reset_at, _remaining = limiter.get_window_stats(item, key)
                return max(1, math.ceil(reset_at - time.time()))
        return None
    except Exception:  # the counter store is down: sign-in still works, and is still limited
        log.exception("sign-in throttle storage unavailable: counting failures in the database")
    return _database_retry_after(session, windows)


def record_failure(session: Session, email: str, address: str, counter: Counter = SIGN_IN) -> None:
    """Count a failed sign-in of ``email`` from ``address`` (or what ``counter`` counts).
    Written in ``session`` when the store is down: the caller commits it, even though
    the sign-in failed."""
    windows = list(_windows(email, address, counter))
    try:
        limiter = _limiter()
        for item, key in windows:
            limiter.hit(item, key)
        return
    except Exception:
        log.exception("sign-in throttle storage unavailable: counting failures in the database")
    _database_record(session, windows)


# --- the database, while the store is down --------------------------------------------------
# The same limits over the failures of the last window (a sliding window, where ``limits``
# keeps fixed ones). The store's counts before it went down are not known here, so a key
# may get up to one limit's worth of failures more; never an unlimited number.


def _database_retry_after(session: Session, windows: list[tuple[RateLimitItem, str]]) -> int | None:
    now = utcnow()
    for item, key in windows:
        start = now - timedelta(seconds=item.get_expiry())
        failures, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(LoginFailure.failed_at))
            .where(LoginFailure.key == key, LoginFailure.failed_at > start)
        ).one()
        if failures >= item.amount:
            return max(1, math.ceil((oldest - start).total_seconds()))  # when the oldest leaves the window
    return None


def _database_record(session: Session, windows: list[tuple[RateLimitItem, str]]) -> None:
    now = utcnow()
    longest = timedelta(seconds=max(item.get_expiry() for item, _key in windows))
    session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at < now - longest))
    session.add_all([LoginFailure(key=key, failed_at=now) for _item, key in windows])
    session.flush()
