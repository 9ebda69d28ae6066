"""Where committed jobs go: RQ on Redis when ``REDIS_URL`` is set, else a few threads
of the process that committed them (the web process in development).

With Redis, ``flask --app wsgi worker`` runs them (any number, on any machine) and
``flask --app wsgi scheduler`` asks for the periodic ones. The RQ job has the portal
job's id, a retry with back-off (``JOB_RETRY_INTERVALS``) and a heartbeat every
``JOB_HEARTBEAT_SECONDS``: a job whose worker was killed is found by the next
registry cleanup (any worker's, or the scheduler's) three heartbeats later and retried
like a failed one (RQ's ``AbandonedJobError``); the claim in ``core.attempt`` keeps a
late or doubled delivery from doing the work twice.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app

from portal.jobs.core import attempt

log = logging.getLogger(__name__)

TIMEOUT_S = 15 * 60  # an attempt running longer is killed by its worker and retried
RESULT_TTL_S = 10 * 60  # the portal keeps results in its own rows; RQ's are for inspection only
FAILURE_TTL_S = 7 * 24 * 3600
THREADS = 2  # jobs at once in a process without Redis


def backend(app: Flask) -> RedisQueue | InProcess:
    """The app's backend, made once."""
    found = app.extensions.get("portal_jobs")
    if found is None:
        found = app.extensions["portal_jobs"] = RedisQueue(app) if app.config.get("REDIS_URL") else InProcess(app)
    return found


def redis_connection(url: str, timeout: float | None = None):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


class RedisQueue:
    """Committed jobs pushed to RQ's queue ``JOB_QUEUE``."""

    def __init__(self, app: Flask, timeout: float = 10):
        self.app = app
        self.name = app.config["JOB_QUEUE"]
        self.connection = redis_connection(app.config["REDIS_URL"], timeout=timeout)

    def queue(self):
        from rq import Queue

        return Queue(self.name, connection=self.connection)

    def submit(self, job_id: str) -> None:
        """Push the job to RQ, unless RQ has it already (a job handed over again)."""
        from rq import Retry
        from rq.job import Job as RQJob

        if RQJob.exists(job_id, connection=self.connection):
            return
        intervals = self.app.config["JOB_RETRY_INTERVALS"]
        retry = Retry(max=len(intervals), interval=list(intervals)) if intervals else None
        self.queue().enqueue("portal.jobs.backends.perform", job_id, job_id=job_id, retry=retry,
                             job_timeout=TIMEOUT_S, result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S)

    def known(self, job_id: str) -> bool:
        from rq.job import Job as RQJob

        return RQJob.exists(job_id, connection=self.connection)

    def gave_up(self, job_id: str) -> bool:
        """Whether RQ is done with the job without its having finished: a last attempt
        whose worker or work horse died could not record that on the job's row."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job as RQJob, JobStatus as RQStatus

        try:
            status = RQJob.fetch(job_id, connection=self.connection).get_status()
        except NoSuchJobError:
            return True
        return status in (RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED)

    def clean(self) -> None:
        """RQ's registry cleanup, as each worker does between jobs: abandoned jobs (their
        worker stopped beating) are retried or failed. The lock makes one process do it."""
        from rq.registry import clean_registries

        queue = self.queue()
        if queue.acquire_maintenance_lock():
            try:
                clean_registries(queue)
            finally:
                queue.release_maintenance_lock()

    def live_workers(self, within: timedelta) -> int:
        """Workers listening on the queue whose last heartbeat is recent."""
        from rq import Worker

        since = datetime.now(timezone.utc) - within
        return sum(1 for worker in Worker.all(connection=self.connection, queue=self.queue())
                   if worker.last_heartbeat is not None and _aware(worker.last_heartbeat) >= since)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def perform(job_id: str) -> None:
    """RQ's entry point, in the worker's work horse (which inherits the app context of
    ``flask worker``): one attempt, final when RQ has no retry left."""
    from rq import get_current_job

    current = get_current_job()
    final = not (current is not None and current.retries_left)
    with current_app._get_current_object().app_context():
        attempt(job_id, final=final)


class InProcess:
    """Without Redis: committed jobs run in this process's threads, after the commit,
    each attempt in an app context of its own, retried after ``JOB_RETRY_INTERVALS``.
    A job whose process stops before it ran stays queued until the scheduler hands it
    over again (``schedule.recover``)."""

    def __init__(self, app: Flask):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="portal-job")
        self.running: set[Future] = set()
        self.lock = threading.Lock()

    def submit(self, job_id: str) -> None:
        future = self.executor.submit(self._run, job_id)
        with self.lock:
            self.running.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self.lock:
            self.running.discard(future)

    def _run(self, job_id: str) -> None:
        intervals = list(self.app.config["JOB_RETRY_INTERVALS"])
        for tried in range(len(intervals) + 1):
            final = tried == len(intervals)
            try:
                with self.app.app_context():
                    attempt(job_id, final=final)
                return
            except Exception:  # recorded on the row by attempt()
                if final:
                    return
            time.sleep(intervals[tried])

    def known(self, job_id: str) -> bool:
        return False

    def gave_up(self, job_id: str) -> bool:
        return False  # its threads record every end themselves, unless the process stopped

    def clean(self) -> None:
        pass

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until the jobs submitted so far (and their retries) are done; for tests
        and for a command that must not exit before its jobs ran."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                running = set(self.running)
            if not running:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            wait(running, timeout=left)


# --- the worker -------------------------------------------------------------------------------


def heartbeat_seconds(app: Flask) -> int:
    return max(1, int(app.config["JOB_HEARTBEAT_SECONDS"]))


def worker_ttl(app: Flask) -> int:
    """How long a worker's registration lasts without a heartbeat; an idle worker beats
    15 s before it runs out."""
    return 15 + 3 * heartbeat_seconds(app)


def make_worker(app: Flask, name: str | None = None):
    """An RQ worker on the portal's queue: each job in a forked work horse, which
    inherits the app context; the parent beats every ``JOB_HEARTBEAT_SECONDS``."""
    from rq import Worker

    from portal.extensions import db

    beat = heartbeat_seconds(app)
    engine = db.engine

    class PortalWorker(Worker):
        def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
            # RQ waits 60 s past the next heartbeat before calling a job abandoned; three
            # heartbeats are enough to tell a busy worker from a dead one.
            if job.timeout and job.timeout > 0:
                return int(min(job.timeout - working_time, beat)) + 2 * beat
            return 3 * beat

        def subscribe(self):
            # RQ's own listens for commands in waits of 60 s, and redis-py's stop() waits
            # for the current one to end: told to stop, an idle worker could take a minute
            # to exit, past a supervisor's patience (rq issue 1613). Waits of a second.
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=1, daemon=True,
                                                           exception_handler=self._pubsub_exception_handler)

        def bootstrap(self, *args, **kwargs):
            # RQ registers the worker here but installs its SIGTERM/SIGINT handlers only
            # after starting its scheduler: a supervisor's stop in between killed the worker
            # unregistered, and for a worker_ttl it looked alive (GET /readyz said "queue":
            # "ok"). Until then a stop is only noted; the work loop then ends at once, and
            # says goodbye. (A process forked meanwhile, RQ's scheduler, is not this worker:
            # it gets the signal as if nothing were installed.)
            pid = os.getpid()
            previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

            def noted(signum, frame):
                if os.getpid() != pid:
                    signal.signal(signum, previous[signum])
                    signal.raise_signal(signum)
                    return
                self._stop_requested = True

            for signum in previous:
                signal.signal(signum, noted)
            return super().bootstrap(*args, **kwargs)

        def main_work_horse(self, job, queue):
            # The horse must not share the parent's pooled connections (SQLAlchemy's
            # advice for forked processes): it opens its own.
            engine.dispose(close=False)
            return super().main_work_horse(job, queue)

    queue = backend(app)
    assert isinstance(queue, RedisQueue)
    return PortalWorker(
        [queue.queue()], connection=queue.connection,
        name=name or f"{socket.gethostname()}.{os.getpid()}.{queue.name}",
        job_monitoring_interval=beat,
        # Idle, a worker beats every worker_ttl - 15 s and cleans the registries at most
        # every maintenance interval: both a few heartbeats, so abandoned jobs come back soon.
        worker_ttl=worker_ttl(app), maintenance_interval=3 * beat,
    )
