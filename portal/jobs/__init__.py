"""Background jobs: the slow work a request or the scheduler asks for, done after the
commit by a worker (RQ on Redis) or, without Redis, by the web process's own threads.

``core`` asks for jobs and runs one attempt, ``backends`` hands them to RQ or to
threads (and is the worker), ``schedule`` asks for the periodic ones, ``kinds`` holds
the portal's kinds, ``routes`` the page's view of a job (the API's is ``api/jobs.py``).
"""

from __future__ import annotations

from flask import Flask

from portal.jobs.core import JobContext, attach_file, enqueue, job, job_json, visible_job

__all__ = ["JobContext", "attach_file", "enqueue", "init_app", "job", "job_json", "visible_job"]


def init_app(app: Flask) -> None:
    from portal import observe
    from portal.jobs import kinds  # noqa: F401  (registers the portal's kinds)
    from portal.jobs.core import install_hooks

    install_hooks()
    if _queue_depth not in observe.QUEUE_DEPTHS:
        observe.QUEUE_DEPTHS.append(_queue_depth)


def _queue_depth() -> dict[str, int]:
    """Jobs waiting in RQ's queue (for /metrics); without Redis, those queued in the database."""
    import sqlalchemy as sa
    from flask import current_app

    from portal.extensions import db
    from portal.jobs.backends import RedisQueue
    from portal.models import Job, JobStatus

    if current_app.config.get("REDIS_URL"):
        jobs = RedisQueue(current_app, timeout=2)
        try:
            return {jobs.name: jobs.queue().count}
        finally:
            jobs.connection.close()
    with db.engine.connect() as connection:  # not the request's session: nothing to roll back
        waiting = connection.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED))
    return {"in-process": waiting}
