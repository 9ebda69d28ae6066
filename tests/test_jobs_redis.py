"""Background jobs on Redis, for real: RQ on the local Redis, and `flask worker` and
`flask scheduler` started as subprocesses (``flask --app tests.job_kinds``, which adds
the test kinds to the portal's) on the test's database.

Skipped with a note when Redis does not answer, unless ``PORTAL_REQUIRE_ALL=1``. Each
test has a queue of its own, and every RQ key of this test process carries its own
prefix (``RQ_KEY_PREFIX``, set in conftest): after each test, the keys it made are
deleted, and nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.jobs import enqueue
from portal.jobs.schedule import PERIODIC
from portal.models import Document, DocumentKind, Job, JobStatus
from tests import job_kinds
from tests.conftest import ROOT, app_session, base_config, skip_or_fail

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
BEAT = 1  # JOB_HEARTBEAT_SECONDS of these tests: a killed worker's job is abandoned after 3 s


@pytest.fixture(scope="module")
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"no Redis at {REDIS_URL}")
    yield client
    client.close()


@pytest.fixture
def queue_name(redis_client):
    from rq.defaults import RQ_KEY_PREFIX

    assert RQ_KEY_PREFIX.startswith("rqtest-"), "rq was imported before tests/conftest.py set RQ_KEY_PREFIX"
    yield f"portal-test-{uuid.uuid4().hex[:12]}"
    keys = list(redis_client.scan_iter(match=f"{RQ_KEY_PREFIX}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def app_config(database_url, queue_name) -> dict:
    return {**base_config(database_url), "REDIS_URL": REDIS_URL, "JOB_QUEUE": queue_name,
            "JOB_RETRY_INTERVALS": [0], "JOB_HEARTBEAT_SECONDS": BEAT, "REVIEW_PACK_DAY": 1}


class Processes:
    """The test's `flask` subprocesses, each in a process group of its own; whatever
    is still running when the test ends is stopped."""

    def __init__(self, app_config: dict, tmp_path: Path):
        self.env = {**os.environ, "PORTAL_ENV": "testing", "PYTHONPATH": str(ROOT),
                    "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
                    "JOB_QUEUE": app_config["JOB_QUEUE"], "JOB_RETRY_INTERVALS": "0",
                    "JOB_HEARTBEAT_SECONDS": str(BEAT), "REVIEW_PACK_DAY": "1",
                    "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1",
                    # These workers convert nothing (a document issued asks for no PDF, as in every
                    # test: tests/conftest.py), so no warm LibreOffice at their start; the PDF test's do.
                    "DOCUMENT_PDF_ON_ISSUE": "0", "DOCGEN_PDF": "soffice"}
        self.env.pop("FLASK_APP", None)
        self.tmp_path = tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *args: str) -> subprocess.Popen:
        log = self.tmp_path / f"{args[0]}-{len(self.started)}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the file
            process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "tests.job_kinds", *args], cwd=ROOT,
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((process, log))
        return process

    def run(self, *args: str, timeout: float = 120) -> str:
        process = self.start(*args)
        assert process.wait(timeout) == 0, self.output(process)
        return self.output(process)

    def output(self, process: subprocess.Popen) -> str:
        return next(log for p, log in self.started if p is process).read_text(errors="replace")

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        """SIGTERM, as a supervisor stops a worker: the current job finishes first."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)

    def close(self) -> None:
        for process, _log in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
def processes(app_config, tmp_path):
    started = Processes(app_config, tmp_path)
    yield started
    started.close()


def reread(session, job_id: str) -> Job:
    session.rollback()
    return session.scalars(sa.select(Job).where(Job.id == job_id)).one()


def wait_for(condition, timeout: float = 60, every: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def rq_queue(app_config):
    from rq import Queue

    from portal.jobs.backends import redis_connection

    return Queue(app_config["JOB_QUEUE"], connection=redis_connection(REDIS_URL))


def kill_mid_job(processes: Processes, session, job_id: str, app_config: dict) -> None:
    """Start a worker, and once it works on the job (``test_effect`` reports its work
    horse's pid, then sleeps), kill it as a lost machine dies: SIGKILL to the horse and
    to the worker's process group (the worker and its RQ scheduler). Returns once RQ
    would call the job abandoned: its heartbeat lapsed."""
    from rq.registry import StartedJobRegistry

    worker = processes.start("worker", "--name", f"doomed-{uuid.uuid4().hex[:6]}")
    message = wait_for(lambda: (m := reread(session, job_id).message).startswith("pid ") and m, what="the job to start")
    horse = int(message.removeprefix("pid "))
    assert horse != worker.pid
    os.kill(horse, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    started = StartedJobRegistry(queue=rq_queue(app_config))
    wait_for(lambda: job_id in started.get_expired_job_ids(), timeout=30, what="the heartbeat to lapse")


# --- the three of the issue ----------------------------------------------------------------------


def test_a_job_asked_for_in_a_rolled_back_transaction_never_runs(session, app_config, processes):
    rolled_back = enqueue(session, "test_effect")
    session.rollback()
    kept = enqueue(session, "test_effect")
    session.commit()
    queue = rq_queue(app_config)
    assert queue.job_ids == [kept.id]  # handed to RQ at the commit, and only the committed one

    processes.run("worker", "--burst")
    assert queue.job_ids == [] and queue.finished_job_registry.get_job_ids() == [kept.id]
    row = reread(session, kept.id)
    assert (row.status, row.attempts, row.result_url) == (JobStatus.FINISHED, 1, f"/effects/{kept.id}/1")
    assert job_kinds.effect_count(session, rolled_back.id) == 0
    assert session.scalars(sa.select(Job.id)).all() == [kept.id]


def test_a_worker_killed_mid_job_leaves_it_retried_once(session, app_config, processes):
    """The worker (and its work horse) die by SIGKILL while the job works: its heartbeat
    stops, RQ's registry cleanup in the next worker finds the job abandoned and retries
    it, and the retry's work is the only work kept."""
    from rq.job import Job as RQJob

    row = enqueue(session, "test_effect", sleep_first=60)
    session.commit()
    kill_mid_job(processes, session, row.id, app_config)
    stuck = reread(session, row.id)
    assert (stuck.status, stuck.attempts) == (JobStatus.STARTED, 1)  # not lost: still held by the dead attempt
    queue = rq_queue(app_config)
    second = processes.start("worker")
    done = wait_for(lambda: reread(session, row.id).status is JobStatus.FINISHED and reread(session, row.id),
                    timeout=60, what="the retry to finish")
    processes.stop(second)
    assert done.attempts == 2 and done.result_url == f"/effects/{row.id}/1"
    assert job_kinds.effect_count(session, row.id) == 1  # the dead attempt's work was never kept
    assert RQJob.fetch(row.id, connection=queue.connection).retries_left == 0  # retried once, by RQ's Retry


def test_a_job_whose_last_attempt_was_killed_shows_as_failed(session, app_config, processes):
    """No retry left: RQ's registry cleanup fails the abandoned job, and the scheduler's
    next round fails its row, which the dead attempt left started."""

    with app_session({**app_config, "JOB_RETRY_INTERVALS": []}) as no_retry:
        job_id = enqueue(no_retry, "test_effect", sleep_first=60).id
        no_retry.commit()
    row = reread(session, job_id)
    processes.env["JOB_RETRY_INTERVALS"] = ""
    kill_mid_job(processes, session, row.id, app_config)
    processes.run("scheduler", "--once")
    failed = reread(session, row.id)
    assert (failed.status, failed.attempts, failed.message) == (JobStatus.FAILED, 1, "Something went wrong on our side.")
    assert failed.finished_at is not None and job_kinds.effect_count(session, row.id) == 0


def test_two_schedulers_ask_for_each_periodic_job_once_per_period(session, app_config, processes, alpha, admin):
    """Two schedulers tick together, many times; each period of each periodic job is
    asked for, and handed to RQ, once; the worker then runs each once (the monthly run
    asks for the account's review pack, which makes one document)."""
    schedulers = [processes.start("scheduler", "--interval", "0.2") for _ in range(2)]
    wait_for(lambda: {k for (k,) in reread_kinds(session)} >= {p.kind for p in PERIODIC}, timeout=60,
             what="the schedulers' first rounds")
    time.sleep(2)  # about ten more rounds each, racing
    for scheduler in schedulers:
        processes.stop(scheduler)
    session.rollback()
    periodic = session.scalars(sa.select(Job).where(Job.kind.in_([p.kind for p in PERIODIC]))).all()
    kinds = sorted(job.kind for job in periodic)
    assert kinds.count("review_packs") == 1 and kinds.count("contract_renewals") == 1
    assert 1 <= kinds.count("sla_check") <= 2 and 1 <= kinds.count("mail_send") <= 2  # a minute may turn meanwhile
    assert 1 <= kinds.count("notification_digest") <= 2 and 1 <= kinds.count("meeting_reminders") <= 2
    queue = rq_queue(app_config)
    assert sorted(queue.job_ids) == sorted(job.id for job in periodic)  # each handed to RQ once

    processes.run("worker", "--burst")
    session.rollback()
    jobs = session.scalars(sa.select(Job).where(Job.id.not_in([alpha["job"].id]))).all()
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.FINISHED, 1)}
    # Within a day of the 10th, 09:00 UTC, Alpha's monthly review is reminded too: one job.
    assert sorted(job.kind for job in jobs if job.kind != "meeting_reminder") == sorted([*kinds, "review_pack"])
    assert [job.kind for job in jobs].count("meeting_reminder") <= 1
    assert len(session.scalars(sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK)).all()) == 1

    processes.run("scheduler", "--once")  # the same periods again: nothing new (a new minute: its mail round)
    session.rollback()
    again = session.scalars(sa.select(Job.kind).where(Job.id.not_in([job.id for job in jobs] + [alpha["job"].id]))).all()
    assert set(again) <= {"mail_send", "sla_check", "notification_digest", "meeting_reminders"}  # a new hour: its rounds


def reread_kinds(session):
    session.rollback()
    return session.execute(sa.select(Job.kind)).all()


# --- readiness ------------------------------------------------------------------------------------


def test_the_queue_is_ready_while_a_worker_beats(app_config, processes):
    from portal import create_app

    client = create_app(app_config).test_client()
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (503, {"checks": {"database": "ok", "redis": "ok", "queue": "failed", "documents": "ok"}})
    worker = processes.start("worker")
    wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60, every=0.5, what="a worker's heartbeat")
    assert client.get("/readyz").json == {"checks": {"database": "ok", "redis": "ok", "queue": "ok", "documents": "ok"}}
    processes.stop(worker)
    assert client.get("/readyz").status_code == 503  # it said goodbye


# A worker stopped the moment it has registered, before RQ installs its signal handlers
# (which it does after starting its scheduler): here the stop is sent from that very moment.
STOPPED_AT_ITS_START = """
import os, signal
from portal.jobs.backends import make_worker
from tests.job_kinds import create_app

app = create_app()
with app.app_context():
    worker = make_worker(app)
    start_scheduler = worker._start_scheduler

    def stopped_first(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return start_scheduler(*args, **kwargs)

    worker._start_scheduler = stopped_first
    worker.work(with_scheduler=True)
"""


def test_a_worker_stopped_as_it_starts_says_goodbye(app_config, processes):
    """Stopped between registering and RQ's own signal handlers, a worker still ends
    cleanly and unregisters: the queue is not said to be served by a dead worker."""
    from portal import create_app

    stopped = subprocess.run([sys.executable, "-c", STOPPED_AT_ITS_START], cwd=ROOT, env=processes.env,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    client = create_app(app_config).test_client()
    assert client.get("/readyz").json["checks"]["queue"] == "failed"


# --- a document's PDF -------------------------------------------------------------------------------


@pytest.mark.pdf
def test_a_worker_makes_a_documents_pdf_on_the_libreoffice_it_warmed_at_its_start(session, app_config, processes,
                                                                                 alpha):
    """``flask worker`` starts LibreOffice before it takes jobs; the work horse it forks for
    the document_pdf job converts on that one (it starts none of its own)."""
    from datetime import date

    from portal.documents import renditions, service as documents
    from portal.models import PdfRendition, Role

    if shutil.which("soffice") is None:
        skip_or_fail("soffice is not installed (Debian package libreoffice-writer-nogui)")
    processes.env["DOCGEN_PDF"] = "auto"
    worker = processes.start("worker")
    log = processes.output
    wait_for(lambda: "ready on 127.0.0.1" in log(worker) or worker.poll() is not None, timeout=90,
             what="the worker's LibreOffice")
    if "ready on 127.0.0.1" not in log(worker):
        skip_or_fail(f"the warm PDF converter cannot start: {log(worker)[-500:]}")

    document = documents.issue_work_order(
        session, alpha.account, alpha["contract"], alpha.user(Role.ACCOUNT_MANAGER), title={"en": "Payroll audit"},
        description={"en": "Audit of 2026 payroll."}, po_number="PO-7731", start_date=date(2027, 1, 4),
        end_date=date(2027, 2, 26), lines=[{"description": {"en": "Audit day"}, "quantity": "12", "unit": "day",
                                            "unit_price": "950.00"}],
        acceptance_criteria=[], languages=["en"])
    job = renditions.ask_for_pdf(session, document, None)
    session.commit()

    done = wait_for(lambda: reread(session, job.id).status in (JobStatus.FINISHED, JobStatus.FAILED)
                    and reread(session, job.id), timeout=120, what="the PDF job")
    processes.stop(worker)
    assert done.status is JobStatus.FINISHED, log(worker)[-2000:]
    pdf = session.scalars(sa.select(PdfRendition).where(PdfRendition.sha256 == document.sha256)).one()
    assert pdf.data.startswith(b"%PDF-") and pdf.size == len(pdf.data)
    assert log(worker).count("ready on 127.0.0.1") == 1, log(worker)[-2000:]  # the horse started none
