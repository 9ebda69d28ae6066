"""The audit log: append-only, with decisions and document issues chained by hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class AuditEvent(Base):
    """Who did what to which object, when and from where.

    Rows are never updated or deleted (database triggers refuse it). Chained events
    carry the hash of the previous chained event, so removing or editing one shows;
    ``key_id`` names the key whose HMAC ``hash`` is (none: a plain SHA-256, written
    before the chain was keyed).
    ``account_id`` is nullable (sign-ins, system events), so the model is scoped by the
    audit service rather than by the ``AccountOwned`` filter.
    """

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_account_time", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None] = mapped_column(unique=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))
    key_id: Mapped[str | None] = mapped_column(sa.String(16))


class AuditChainHead(Base):
    """One row: the last link of the chain. Writers update it first, which serialises
    them (a row lock on PostgreSQL, the write lock on SQLite). ``plain_until`` is the
    last link written before the chain was keyed (migration 0011): every later link
    must be keyed. The app's database role may update only ``last_seq`` and ``last_hash``."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64), default="0" * 64)
    plain_until: Mapped[int] = mapped_column(default=0, server_default="0")
