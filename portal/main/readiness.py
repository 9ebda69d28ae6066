"""What ``GET /readyz`` asks: can the portal serve now? One check per dependency, by
name. A check answers whether its dependency answered, or ``None`` when the portal is
not configured to use it (then it is left out). Another dependency (the document
tools) is one more entry in ``CHECKS``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db

log = logging.getLogger(__name__)
TIMEOUT_S = 2  # a probe that waits longer is answered as failed


def database() -> bool:
    # A connection of its own, not the request's session: nothing to roll back after a failure.
    with db.engine.connect() as connection:
        return connection.scalar(sa.select(1)) == 1


def redis() -> bool | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis as redis_client

    client = redis_client.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        return bool(client.ping())
    finally:
        client.close()


def queue() -> bool | None:
    """With Redis, the job queue is served: some worker on ``JOB_QUEUE`` beat recently
    (an idle worker beats every half minute or so; see ``jobs.backends.make_worker``).
    Without Redis the web process runs the jobs itself: nothing to check."""
    if not current_app.config.get("REDIS_URL"):
        return None
    from portal.jobs.backends import RedisQueue, worker_ttl

    jobs = RedisQueue(current_app, timeout=TIMEOUT_S)
    try:
        return jobs.live_workers(within=timedelta(seconds=worker_ttl(current_app))) > 0
    finally:
        jobs.connection.close()


def documents() -> bool:
    """The document tools answer: LibreOffice to make PDFs, and the fonts documents are
    set in (Noto Sans and Noto Sans CJK), without which a PDF shows empty boxes. (With
    Redis it is the workers that convert; a web server without LibreOffice then says so
    here all the same, so that an operator running both on one image sees it.)"""
    from docgen.pdf import soffice_path

    return soffice_path() is not None and _fonts_present()


@functools.lru_cache(maxsize=1)
def _fonts_present() -> bool:
    import subprocess

    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    families = listed.stdout
    return "Noto Sans CJK SC" in families and any(line.split(",")[0].strip() == "Noto Sans" for line in families.splitlines())


CHECKS: dict[str, Callable[[], bool | None]] = {"database": database, "redis": redis, "queue": queue,
                                                "documents": documents}


def run_checks() -> dict[str, str]:
    """``{"database": "ok", "redis": "failed"}``: each configured dependency, answered or not."""
    results = {}
    for name, check in CHECKS.items():
        try:
            answered = check()
        except Exception as error:
            log.warning("readiness check %s failed: %s", name, type(error).__name__)
            answered = False
        if answered is not None:
            results[name] = "ok" if answered else "failed"
    return results
