"""Failed sign-ins are counted per e-mail and per client address.

Counts live in a ``limits`` storage (Redis when ``REDIS_URL`` is set, so that every
worker shares them; memory otherwise, for development and tests). Nothing else is
rate-limited, so no request pays for a per-request limit check. Only failures count:
an office of fifty people behind one address signs in freely until someone keeps
getting a password wrong.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app
from limits import parse, storage, strategies

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    counters = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["portal_throttle"] = strategies.FixedWindowRateLimiter(counters)


def _limiter() -> strategies.RateLimiter:
    return current_app.extensions["portal_throttle"]


def _windows(email: str, address: str):
    config = current_app.config
    prefix = config.get("RATELIMIT_KEY_PREFIX", "")
    yield parse(config["LOGIN_FAILURES_PER_ACCOUNT"]), f"{prefix}login-fail:email:{email.strip().lower()}"
    yield parse(config["LOGIN_FAILURES_PER_ADDRESS"]), f"{prefix}login-fail:addr:{address}"


def retry_after(email: str, address: str) -> int | None:
    """Seconds until another attempt is allowed, or None when it is allowed now."""
    try:
        limiter = _limiter()
        for item, key in _windows(email, address):
            if not limiter.test(item, key):
                reset_at, _remaining = limiter.get_window_stats(item, key)
                return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # the counter store is down: sign-in must still work
        log.exception("sign-in throttle storage unavailable")
    return None


def record_failure(email: str, address: str) -> None:
    try:
        limiter = _limiter()
        for item, key in _windows(email, address):
            limiter.hit(item, key)
    except Exception:
        log.exception("sign-in throttle storage unavailable")
