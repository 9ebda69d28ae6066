"""Failed sign-ins are counted per e-mail and per client address.

Counts live in Flask-Limiter's storage (Redis when ``REDIS_URL`` is set, so that every
worker shares them; memory otherwise, for development and tests). Only failures count:
an office of fifty people behind one address signs in freely until someone keeps
getting a password wrong.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import parse

from portal.extensions import limiter

log = logging.getLogger(__name__)


def _windows(email: str, address: str):
    config = current_app.config
    prefix = config.get("RATELIMIT_KEY_PREFIX", "")
    yield parse(config["LOGIN_FAILURES_PER_ACCOUNT"]), f"{prefix}login-fail:email:{email.strip().lower()}"
    yield parse(config["LOGIN_FAILURES_PER_ADDRESS"]), f"{prefix}login-fail:addr:{address}"


def retry_after(email: str, address: str) -> int | None:
    """Seconds until another attempt is allowed, or None when it is allowed now."""
    if not limiter.enabled:
        return None
    try:
        for item, key in _windows(email, address):
            if not limiter.limiter.test(item, key):
                reset_at, _remaining = limiter.limiter.get_window_stats(item, key)
                return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # the counter store is down: sign-in must still work
        log.exception("sign-in throttle storage unavailable")
    return None


def record_failure(email: str, address: str) -> None:
    if not limiter.enabled:
        return
    try:
        for item, key in _windows(email, address):
            limiter.limiter.hit(item, key)
    except Exception:
        log.exception("sign-in throttle storage unavailable")
