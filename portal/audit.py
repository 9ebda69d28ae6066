"""The audit log: who did what, to which object, when and from where.

Decisions (approvals, rejections, sign-offs) and document issues are *chained*: each
such event stores the hash of the previous chained event and its own hash over both, so
an edited or deleted event breaks the chain at that point (``verify_chain``). The
database refuses UPDATE and DELETE on the table (triggers in the migration).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from portal.models import AuditChainHead, AuditEvent
from portal.models.base import utcnow

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "seq": event.chain_seq,
        "prev": event.prev_hash,
        "at": event.created_at.isoformat(timespec="microseconds"),
        "account": event.account_id,
        "actor": event.actor_id,
        "actor_email": event.actor_email,
        "action": event.action,
        "object": [event.object_type, event.object_id],
        "ip": event.ip,
        "data": event.data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    action: str,
    obj: Any = None,
    *,
    account_id: int | None = None,
    data: dict[str, Any] | None = None,
    chained: bool = False,
    actor: Any = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append an event; the actor and address default to the current request's."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    if ip is None:
        ip = request.remote_addr or "" if has_request_context() else ""
    if account_id is None and obj is not None:
        account_id = getattr(obj, "account_id", None)
    event = AuditEvent(
        created_at=utcnow(),
        account_id=account_id,
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        ip=ip[:45],
        data=json.loads(json.dumps(data or {}, default=str)),
    )
    if chained:
        _link(session, event)
    session.add(event)
    session.flush()
    return event


def _link(session: Session, event: AuditEvent) -> None:
    # Advancing the head first takes the lock that serialises chain writers.
    head = session.execute(
        sa.update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_seq=AuditChainHead.last_seq + 1)
        .returning(AuditChainHead.last_seq, AuditChainHead.last_hash)
    ).one_or_none()
    if head is None:
        session.add(AuditChainHead(id=1, last_seq=1, last_hash=GENESIS))
        session.flush()
        seq, prev = 1, GENESIS
    else:
        seq, prev = head
    event.chain_seq, event.prev_hash = seq, prev
    event.hash = event_hash(event)
    session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=event.hash))


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None  # chain_seq of the first bad link
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chained events in order and report the first broken link."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.chain_seq.is_not(None)).order_by(AuditEvent.chain_seq)
    )
    for event in events:
        if event.chain_seq != expected_seq:
            return ChainReport(checked, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.chain_seq, "previous hash does not match")
        if event.hash != event_hash(event):
            return ChainReport(checked, event.chain_seq, "content does not match its hash")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.scalar(sa.select(AuditChainHead).where(AuditChainHead.id == 1))
    if head is not None and head.last_seq != checked:
        return ChainReport(checked, checked + 1, f"the chain head says {head.last_seq} events, {checked} found")
    return ChainReport(checked)
