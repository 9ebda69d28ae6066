"""The periodic jobs and ``flask --app wsgi scheduler``.

Each periodic job is due once per period (five minutes, a minute, an hour, a day, a month
from ``REVIEW_PACK_DAY``). A tick asks for every due job with the period as its key: the
unique ``(kind, key)`` of ``jobs`` lets one scheduler's INSERT win and the others find
its job, so any number of schedulers, on any machine, with or without Redis, ask once
per period. A scheduler that was down catches up with the current period only.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from portal.database import writing
from portal.extensions import db
from portal.jobs.core import UNEXPECTED, drop_files, enqueue
from portal.models import IdempotencyKey, Job, JobStatus
from portal.models.base import utcnow
from portal.security import unscoped

log = logging.getLogger(__name__)

LOST_AFTER = timedelta(minutes=2)  # a queued job its backend does not know after this was never handed over


def every(minutes: int) -> Callable[[datetime, dict], str | None]:
    def period(now: datetime, _config: dict) -> str:
        start = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
        return f"{start:%Y-%m-%dT%H:%M}Z"

    return period


def daily(now: datetime, _config: dict) -> str:
    return f"{now:%Y-%m-%d}"


def monthly(now: datetime, config: dict) -> str | None:
    """The month, from its ``REVIEW_PACK_DAY`` (UTC) on."""
    return f"{now:%Y-%m}" if now.day >= config["REVIEW_PACK_DAY"] else None


@dataclass(frozen=True)
class Periodic:
    kind: str
    period: Callable[[datetime, dict], str | None]  # the key of the period ``now`` is in, or None: not due


PERIODIC = [
    Periodic("sla_check", every(5)),
    Periodic("mail_send", every(1)),
    Periodic("notification_digest", every(60)),  # each user's digest comes in their own morning
    Periodic("contract_renewals", daily),
    Periodic("meeting_reminders", every(60)),  # each occurrence once, within a day of its start
    Periodic("portfolio_alerts", daily),  # last month's adverse variances; new invoices and ratings move them
    Periodic("review_packs", monthly),
    Periodic("service_credits", monthly),  # by REVIEW_PACK_DAY the month's KPI actuals are in
]


def ask_due(session: Session, now: datetime | None = None) -> list[Job]:
    """Ask for each periodic job due now whose period nobody asked for yet; returns
    the jobs this call made. The caller commits (which hands them over)."""
    now = now or utcnow()
    made = []
    for periodic in PERIODIC:
        key = periodic.period(now, current_app.config)
        if key is None:
            continue
        job = enqueue(session, periodic.kind, key=key)
        if any(pending.job_id == job.id for pending in session.info.get("portal_jobs", [])):
            made.append(job)  # not found: this call asked for it
    return made


def recover(session: Session, now: datetime | None = None) -> int:
    """Hand over again the queued jobs their backend does not know (the process that
    committed them stopped before handing them over, or Redis lost them); a job handed
    over twice still runs once. Fail the started jobs the backend gave up on without
    their row saying so (the last attempt's worker died). Returns how many it touched."""
    from portal.jobs.backends import backend

    now = now or utcnow()
    queue = backend(current_app._get_current_object())
    lost = session.scalars(sa.select(Job.id).where(Job.status == JobStatus.QUEUED, Job.created_at < now - LOST_AFTER)
                           .order_by(Job.created_at).limit(100)).all()
    handed = 0
    for job_id in lost:
        if not queue.known(job_id):
            queue.submit(job_id)
            handed += 1
    if handed:
        log.warning("handed over %d queued job(s) again", handed)
    stuck = session.scalars(sa.select(Job).where(Job.status == JobStatus.STARTED).order_by(Job.started_at).limit(100)).all()
    failed = 0
    for job in stuck:
        if queue.gave_up(job.id):
            ended = session.execute(
                sa.update(Job).where(Job.id == job.id, Job.runner == job.runner, Job.status == JobStatus.STARTED)
                .values(status=JobStatus.FAILED, message=UNEXPECTED, finished_at=now)).rowcount
            if ended:
                drop_files(session, job.id)
            failed += ended
            log.error("job %s (%s): its last attempt's worker died; failed", job.id, job.kind)
    session.commit()
    return handed + failed


def prune(session: Session, now: datetime | None = None) -> int:
    """Delete finished and failed jobs older than ``JOB_KEEP_DAYS``."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["JOB_KEEP_DAYS"])
    return session.execute(sa.delete(Job).where(Job.status.in_([JobStatus.FINISHED, JobStatus.FAILED]),
                                                Job.created_at < cutoff)).rowcount


def forget_idempotency_keys(session: Session, now: datetime | None = None) -> int:
    """Delete the answers kept for ``Idempotency-Key`` retries once older than
    ``IDEMPOTENCY_KEY_HOURS``: a retry comes within minutes, and each signed-in write
    that sends a key leaves one row."""
    cutoff = (now or utcnow()) - timedelta(hours=current_app.config["IDEMPOTENCY_KEY_HOURS"])
    return session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount


def tick(app: Flask) -> list[Job]:
    """One round of the scheduler: the due jobs, RQ's registry cleanup (abandoned jobs
    retried, or failed after their last retry), the lost jobs, the old ones and the old
    idempotency keys."""
    from portal.jobs.backends import backend

    with app.app_context(), unscoped(), writing():
        made = ask_due(db.session)
        db.session.commit()
        backend(app).clean()  # first: a dead worker's last attempt is failed in RQ, then on its row
        recover(db.session)
        prune(db.session)
        forget_idempotency_keys(db.session)
        db.session.commit()
        for job in made:
            log.info("asked for %s (%s)", job.kind, job.key)
        return made


def run_scheduler(app: Flask, interval: float, once: bool = False) -> None:
    """Tick every ``interval`` seconds until SIGTERM or Ctrl-C (or once)."""
    stop = threading.Event()
    if not once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while True:
            try:
                tick(app)
            except Exception:  # a lost database or Redis: try again next round
                log.exception("scheduler round failed")
            if once or stop.wait(interval):
                return
    except KeyboardInterrupt:
        return
