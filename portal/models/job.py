"""Background jobs: slow work (review packs, scheduled checks, an uploaded import) asked
for by a request or the scheduler and done by a worker, with its progress for the page
that asked, and the file it works on while it runs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from portal.models.base import Base, str_enum, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"      # waiting for a worker (also between a failed attempt and its retry)
    STARTED = "started"    # an attempt is running (or its worker died: a retry takes it over)
    FINISHED = "finished"
    FAILED = "failed"      # the last attempt failed; ``message`` says why


class Job(Base):
    """One piece of background work. The row is written in the transaction that asks
    for the work, and only that transaction's commit hands it to a worker, so a
    rolled-back change asks for nothing. ``(kind, key)`` is unique: asking twice for
    the same work (the same month's review pack of an account, a scheduler's period)
    finds the first job. ``runner`` names the attempt that holds it: an attempt
    finishes only while it still holds it, so two deliveries never both do the work.

    Not account-owned: only the user who started a job (and admins) see it, whatever
    their accounts."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("kind", "key"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
        sa.Index("ix_jobs_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random, URL-safe: not guessable
    kind: Mapped[str] = mapped_column(sa.String(60))
    key: Mapped[str | None] = mapped_column(sa.String(200))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, length=16), default=JobStatus.QUEUED)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    result_url: Mapped[str | None] = mapped_column(sa.String(500))
    # What the work ended with, as JSON (an import's counts, or its problems), for the
    # kind's ``show`` to put in the reader's words; kept when it finishes or is refused.
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    runner: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.FINISHED, JobStatus.FAILED)


class JobFile(Base):
    """The file a job works on (an uploaded import), kept in the database so that the
    worker that runs the job needs no disk of the web server's. It lives as long as the
    job runs: the job's end (finished, or failed for good) deletes it, in the same
    transaction; deleting the job deletes it too. Seen only through its job."""

    __tablename__ = "job_files"

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))  # as the user named it: shown, never a path
    size: Mapped[int] = mapped_column(sa.BigInteger)
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobOutput(Base):
    """The file a job made for whoever follows it (a management report as PDF), kept in
    the database, so that the web server that serves it needs no disk of the worker's.
    It lives as long as its job (``prune`` deletes both after ``JOB_KEEP_DAYS``) and is
    downloaded only by who may see the job (``jobs.output``)."""

    __tablename__ = "job_outputs"

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))  # made by the job, never a user's
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
