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
    from portal.jobs import kinds  # noqa: F401  (registers the portal's kinds)
    from portal.jobs.core import install_hooks

    install_hooks()
