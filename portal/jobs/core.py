"""Jobs: asked for in a unit of work, handed over when it commits, run once.

* ``@job("review_pack")`` registers a kind: a function ``(ctx, **params)`` that does the
  work in ``ctx.session`` (flushing, never committing, like a service), reports
  ``ctx.progress(0.4, N_("..."))`` and returns the URL of what it made, or None. It may
  leave what it ended with in ``ctx.result`` (JSON: counts, or a refusal's problems),
  which its ``show`` puts in the reader's words when the job is polled.
* ``enqueue(session, kind, by=..., key=..., **params)`` adds the job's row to the
  caller's unit of work. Only the commit of that unit hands it to the backend (RQ, or
  the web process's own threads without Redis): a rolled-back change, or a savepoint
  rolled back, asks for nothing. The same ``(kind, key)`` twice is one job (and, with
  ``again_if_failed``, a new one once the first has failed for good).
  ``attach_file`` gives it a file to work on (``ctx.file()``), deleted when it ends.
* A job is shown to who started it and to admins; a kind may show its jobs to more
  people (``@job("document_pdf", shown_to=...)``: whoever sees a document of that file).
* ``attempt(job_id)`` is one try at a job, wherever it runs: it claims the row (one
  runner at a time), does the work and marks the row finished in the work's own
  transaction, so the work is kept exactly when the job is finished. A rule that says
  no (``DomainError``) fails the job at once with its message; any other error is
  logged under the job's id and raised again for the backend to retry, and the last
  retry fails the job.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from docgen.i18n import N_
from portal import observe
from portal.database import writing
from portal.domain import DomainError
from portal.extensions import db
from portal.models import Job, JobFile, JobOutput, JobStatus, User
from portal.models.base import utcnow
from portal.security import ALL_ACCOUNTS, scope_for, scoped_to

log = logging.getLogger(__name__)

Kind = Callable[..., "str | None"]
KINDS: dict[str, Kind] = {}
# Who else may follow a job of a kind: (session, viewer, job) -> bool.
ShownTo = Callable[[Session, User, Job], bool]
SHOWN_TO: dict[str, ShownTo] = {}
# A kind's words for its row (``job_json``'s message, and more, from ``Job.result``).
Show = Callable[[Job], dict[str, Any]]
SHOWS: dict[str, Show] = {}

# What the row says before a kind reports anything of its own.
WAITING, WORKING, DONE = N_("Waiting to start"), N_("In progress"), N_("Done")
# What a user sees of an error that is not a rule of the domain: the details (and the
# traceback) go to the log under the job's id, as the error pages do with their error ids.
UNEXPECTED = N_("Something went wrong on our side.")
RETRYING = N_("This did not work; it will be tried again shortly.")


def job(kind: str, *, shown_to: ShownTo | None = None, show: Show | None = None) -> Callable[[Kind], Kind]:
    """Register ``function`` as the work of jobs of ``kind``. It takes the job's
    context and its parameters (JSON values) as keyword arguments. ``shown_to(session,
    viewer, job)`` says who, besides who started a job and the admins, may follow it:
    the kind's jobs that anyone may join by asking for the same work (same key).
    ``show(row)``, if given, returns what ``job_json`` says of a row of this kind beyond
    its own (the message in the reader's words from ``row.result``, a list of problems)."""

    def register(function: Kind) -> Kind:
        if kind in KINDS and KINDS[kind] is not function:
            raise ValueError(f"job kind {kind!r} is registered twice")
        KINDS[kind] = function
        if shown_to is not None:
            SHOWN_TO[kind] = shown_to
        if show is not None:
            SHOWS[kind] = show
        return function

    return register


# --- asking for a job ---------------------------------------------------------------


def enqueue(session: Session, kind: str, *, by: User | None = None, account_id: int | None = None,
            key: str | None = None, again_if_failed: bool = False, **params: Any) -> Job:
    """Ask for a job of ``kind`` in the caller's unit of work, started ``by`` a user (who
    alone sees it, with admins, unless the kind shows it to more) or by the system. It
    is handed to a worker when the unit of work commits. With a ``key``, a job of this
    kind and key asked for before (in any state, by anyone) is returned instead of a
    second one; with ``again_if_failed`` too, one that failed for good gives its key up
    (it stays failed for whoever follows it) and a new job is asked for."""
    if kind not in KINDS:
        raise ValueError(f"no job kind {kind!r}")
    if key is not None:
        existing = session.scalar(sa.select(Job).where(Job.kind == kind, Job.key == key))
        if existing is not None and not (again_if_failed and existing.status is JobStatus.FAILED):
            return existing
        if existing is not None:
            session.execute(sa.update(Job).where(Job.id == existing.id, Job.status == JobStatus.FAILED)
                            .values(key=None))
    row = Job(id=secrets.token_urlsafe(16), kind=kind, key=key, params=params, status=JobStatus.QUEUED,
              progress=0.0, message=WAITING, user_id=by.id if by is not None else None, account_id=account_id,
              attempts=0, created_at=utcnow())
    try:
        with session.begin_nested():  # a concurrent twin with the same key: keep the first
            session.add(row)
    except sa.exc.IntegrityError:
        if key is None:
            raise
        return session.scalars(sa.select(Job).where(Job.kind == kind, Job.key == key)).one()
    _hand_over_on_commit(session, row)
    return row


def attach_file(session: Session, row: Job, filename: str, data: bytes) -> JobFile:
    """Give the job ``row`` (just asked for, in this unit of work) the file it works on:
    kept in the database until the job ends, then deleted with its end."""
    attached = JobFile(job_id=row.id, filename=filename[:255], size=len(data), data=data, created_at=utcnow())
    session.add(attached)
    return attached


def drop_files(session: Session, job_id: str) -> None:
    """Delete the job's file, in the caller's transaction: the job has ended."""
    session.execute(sa.delete(JobFile).where(JobFile.job_id == job_id))


@dataclass
class _Pending:
    job_id: str
    row: Job
    submit: Callable[[str], None]


def _hand_over_on_commit(session: Session, row: Job) -> None:
    from portal.jobs.backends import backend

    submit = backend(current_app._get_current_object()).submit
    session.info.setdefault("portal_jobs", []).append(_Pending(row.id, row, submit))


def _committed(session: Session) -> None:
    """After the commit: hand over the jobs the committed work asked for. A job added in
    a savepoint that rolled back was expunged with it and is left out. (SQLAlchemy
    also calls this when a savepoint is released: nothing is committed yet then.)"""
    if session.in_nested_transaction():
        return
    for pending in session.info.pop("portal_jobs", []):
        if not sa.inspect(pending.row).persistent:
            continue
        try:
            pending.submit(pending.job_id)
        except Exception:  # the commit stands: the scheduler hands over queued jobs it finds left behind
            log.exception("job %s could not be handed over; it stays queued until the scheduler finds it",
                          pending.job_id)


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: ask for nothing
        session.info.pop("portal_jobs", None)


def install_hooks() -> None:
    """Register the session listeners once per process (idempotent)."""
    if event.contains(Session, "after_commit", _committed):
        return
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_transaction_end", _transaction_ended)


# --- doing a job ----------------------------------------------------------------------


class JobContext:
    """What a kind's function gets: the session its work is done in, who started the
    job, ``progress`` to report how far it got, ``file()`` for the file it works on,
    and ``result``, where it leaves what it ended with (JSON) for its ``show``: kept on
    the row when the job finishes or a rule refuses it, even though the refused work
    is rolled back."""

    def __init__(self, row: Job, runner: str, session: Session, user: User | None):
        self.job_id = row.id
        self.kind = row.kind
        self.attempt = row.attempts  # 1 for the first try
        self.account_id = row.account_id
        self.user = user
        self.session = session
        self._runner = runner
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._changes = self._sqlite_changes() if self._sqlite else 0
        self.result: dict[str, Any] | None = None

    def file(self) -> tuple[str, bytes] | None:
        """The name and bytes of the file given to the job (``attach_file``), or None
        when it has none (or it ended, and its file went with it)."""
        found = self.session.execute(sa.select(JobFile.filename, JobFile.data)
                                     .where(JobFile.job_id == self.job_id)).one_or_none()
        return (found.filename, found.data) if found is not None else None

    def keep_output(self, filename: str, content_type: str, data: bytes) -> None:
        """Keep the file the job made (``JobOutput``), written with the job's end: its
        page links to it (``jobs.output``) once the job has finished."""
        self.session.merge(JobOutput(job_id=self.job_id, filename=filename[:255], content_type=content_type,
                                     size=len(data), data=data, created_at=utcnow()))

    def progress(self, fraction: float, message: str = "") -> None:
        """Record how far the work got (0 to 1) and what it is doing (an English message
        marked with ``N_``, translated when shown), in a short transaction of its own,
        so that the page polling the job sees it at once.

        On SQLite, where the work's transaction holds the write lock from its start,
        a report ends that transaction first when nothing was written in it yet (its
        objects are read again when next used), which also lets the requests that
        queue for the lock through. Once the work has written, or inside a savepoint
        (which ending the transaction would undo), reports are skipped until it commits:
        report progress while reading, before writing."""
        if self._sqlite:
            if (self._sqlite_changes() != self._changes or self.session.new or self.session.dirty
                    or self.session.deleted or self._in_savepoint()):
                return
            self.session.rollback()  # nothing written: only the read snapshot ends
        fraction = min(max(float(fraction), 0.0), 1.0)
        with db.engine.begin() as connection:
            connection.execute(sa.update(Job).where(Job.id == self.job_id, Job.runner == self._runner)
                               .values(progress=fraction, message=message or WORKING))

    def _in_savepoint(self) -> bool:
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        return session.in_nested_transaction()

    def _sqlite_changes(self) -> int:
        return self.session.connection().connection.dbapi_connection.total_changes


def attempt(job_id: str, *, final: bool) -> None:
    """One try at the job, in the current app context. ``final``: no retry follows a
    failure, which then fails the job for good. On SQLite its transactions take the
    write lock when they begin (``database.writing``), as requests that write do.

    The claim (queued, or started by an attempt whose worker died, becomes started by
    this one) is committed first. The work and the row's "finished" are then committed
    together, and only while this attempt still holds the job: a second delivery that
    took it over in the meantime is the one whose work is kept, never both."""
    with writing():
        _attempt(job_id, final=final)


def _attempt(job_id: str, *, final: bool) -> None:
    session = db.session
    runner = secrets.token_hex(16)
    claimed = session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.STARTED]))
        .values(status=JobStatus.STARTED, runner=runner, attempts=Job.attempts + 1, started_at=utcnow(),
                message=WORKING)
    ).rowcount
    session.commit()
    if not claimed:
        log.info("job %s is finished, failed or unknown: nothing to do", job_id)
        return
    row = session.scalars(sa.select(Job).where(Job.id == job_id)).one()
    user = session.scalar(sa.select(User).where(User.id == row.user_id)) if row.user_id else None
    context = JobContext(row, runner, session, user)
    kind, number = row.kind, row.attempts
    started, failed = time.perf_counter(), True
    try:
        work = KINDS.get(kind)
        if work is None:
            raise LookupError(f"no job kind {kind!r} in this process")
        # A job does what the user who started it may do; the system's jobs see every account.
        with scoped_to(scope_for(user) if user is not None else ALL_ACCOUNTS):
            result_url = work(context, **row.params)
        finished = session.execute(
            sa.update(Job).where(Job.id == job_id, Job.runner == runner, Job.status == JobStatus.STARTED)
            .values(status=JobStatus.FINISHED, progress=1.0, message=DONE, result_url=result_url,
                    result=context.result, finished_at=utcnow())
        ).rowcount
        failed = False
        if finished:
            drop_files(session, job_id)
            session.commit()
        else:
            session.rollback()
            log.warning("job %s was taken over by another attempt; this attempt's work is dropped", job_id)
    except DomainError as refusal:  # a rule said no: trying again would not change its mind
        session.rollback()
        _record_failure(job_id, runner, str(refusal.message), final=True, result=context.result)
    except Exception:
        session.rollback()
        log.exception("job %s (%s), attempt %s, failed%s", job_id, kind, number,
                      "" if final else "; it will be tried again")
        _record_failure(job_id, runner, UNEXPECTED if final else RETRYING, final=final)
        raise  # for the backend to retry
    finally:
        observe.job_finished(kind, time.perf_counter() - started, failed=failed)


def _record_failure(job_id: str, runner: str, message: str, *, final: bool,
                    result: dict[str, Any] | None = None) -> None:
    values = ({"status": JobStatus.FAILED, "message": message, "result": result, "finished_at": utcnow()} if final
              else {"status": JobStatus.QUEUED, "message": message})
    failed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.runner == runner).values(**values)).rowcount
    if failed and final:
        drop_files(db.session, job_id)
    db.session.commit()


# --- showing a job --------------------------------------------------------------------


def visible_job(session: Session, viewer: User, job_id: str) -> Job | None:
    """The job, if ``viewer`` started it or is an admin, or its kind shows it to them;
    else None, as for a missing one."""
    if not job_id or len(job_id) > 32:
        return None
    row = session.scalar(sa.select(Job).where(Job.id == job_id))
    if row is None:
        return None
    if row.user_id == viewer.id or viewer.is_admin:
        return row
    shown_to = SHOWN_TO.get(row.kind)
    if shown_to is not None:
        with scoped_to(scope_for(viewer)):
            if shown_to(session, viewer, row):
                return row
    return None


def job_json(row: Job) -> dict[str, Any]:
    """``{id, status, progress, message, result_url}``, the message in the reader's
    language, with what the kind's ``show`` says of it (``problems``, a message of its own)."""
    shown = {"id": row.id, "status": row.status.value, "progress": round(row.progress, 4),
             "message": gettext(row.message) if row.message else "", "result_url": row.result_url}
    show = SHOWS.get(row.kind)
    if show is not None:
        shown.update(show(row))
    return shown


def url_path(endpoint: str, **values: Any) -> str:
    """The path of ``endpoint`` where no request is (a worker): what a job's
    ``result_url`` holds, relative to the portal's address."""
    app = current_app._get_current_object()
    return app.url_map.bind("localhost", script_name=app.config.get("APPLICATION_ROOT") or "/").build(endpoint, values)
