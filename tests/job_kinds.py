"""Job kinds for the tests, and the app a test's worker or scheduler subprocess runs
(``flask --app tests.job_kinds worker``: Flask finds ``create_app`` here, so these
kinds are registered in the worker too).

Each kind's work is visible in the database: ``effect`` advances the counter
``effect:<job id>`` in the work's transaction, so a job whose work was kept twice would
show 2."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa

from portal import create_app  # noqa: F401  (the app factory of `flask --app tests.job_kinds`)
from portal.domain import DomainError
from portal.jobs import JobContext, job
from portal.models import NumberSequence
from portal.sequences import next_value

RUNS: list[str] = []  # jobs run in this process, in order


def effect_count(session, job_id: str) -> int:
    """How many times the work of the job was kept (committed)."""
    session.rollback()
    return session.scalar(sa.select(NumberSequence.last_value).where(NumberSequence.key == f"effect:{job_id}")) or 0


@job("test_effect")
def effect(ctx: JobContext, *, sleep_first: float = 0.0, steps: int = 0) -> str:
    """Reports its process and progress, sleeps on its first attempt (``sleep_first``),
    then keeps its effect."""
    RUNS.append(ctx.job_id)
    ctx.progress(0.25, f"pid {os.getpid()}")
    for step in range(steps):
        ctx.progress(0.25 + 0.5 * (step + 1) / steps, f"step {step + 1}")
    if ctx.attempt == 1 and sleep_first:
        time.sleep(sleep_first)
    value = next_value(ctx.session, f"effect:{ctx.job_id}")
    return f"/effects/{ctx.job_id}/{value}"


@job("test_flaky")
def flaky(ctx: JobContext, *, failures: int) -> str:
    """Fails (as a converter that does not answer would) on its first ``failures`` attempts."""
    RUNS.append(ctx.job_id)
    if ctx.attempt <= failures:
        raise ConnectionError("the converter does not answer")
    next_value(ctx.session, f"effect:{ctx.job_id}")
    return "/flaky/done"


@job("test_refused")
def refused(ctx: JobContext) -> None:
    RUNS.append(ctx.job_id)
    raise DomainError("This account has no contract yet.")


def _sees_the_account(session, viewer, row) -> bool:
    from portal.models import Account

    account_id = row.params.get("shown_account")
    return session.scalar(sa.select(Account.id).where(Account.id == account_id)) is not None


@job("test_shown_by_account", shown_to=_sees_the_account)
def shown_by_account(ctx: JobContext, *, shown_account: int) -> None:
    """Followed by anyone who sees the account ``shown_account``, not only who started it."""
    RUNS.append(ctx.job_id)


@job("test_taken_over")
def taken_over(ctx: JobContext) -> str:
    """While it works, another attempt claims the job (as a second delivery would)."""
    from portal.extensions import db
    from portal.models import Job

    RUNS.append(ctx.job_id)
    ctx.progress(0.5, "about to be taken over")  # ends the work's transaction: on SQLite it holds the write lock
    with db.engine.begin() as connection:
        connection.execute(sa.update(Job).where(Job.id == ctx.job_id).values(runner="another attempt"))
    next_value(ctx.session, f"effect:{ctx.job_id}")
    return "/taken/over"


def _read_shown(row) -> dict:
    """What the page says of a ``test_read_file`` job: the size its work read."""
    return {"message": f"read {row.result['size']} bytes of {row.result['name']}"} if row.result else {}


@job("test_read_file", show=_read_shown)
def read_file(ctx: JobContext, *, failures: int = 0, refuse: bool = False) -> str:
    """Reads the job's file and leaves what it read in ``ctx.result``; keeps its effect,
    then fails (``failures`` first attempts) or is refused, or finishes."""
    RUNS.append(ctx.job_id)
    name, data = ctx.file()
    ctx.result = {"name": name, "size": len(data)}
    next_value(ctx.session, f"effect:{ctx.job_id}")
    if ctx.attempt <= failures:
        raise ConnectionError("the converter does not answer")
    if refuse:
        raise DomainError("This account has no contract yet.")
    return "/read/done"


@job("test_savepoint_progress")
def savepoint_progress(ctx: JobContext) -> str:
    """Reports its progress from inside a savepoint before it writes there (as the
    invoice import's batches do)."""
    with ctx.session.begin_nested():
        ctx.progress(0.5, "writing in a savepoint")
        next_value(ctx.session, f"effect:{ctx.job_id}")
    return "/savepoint/done"
