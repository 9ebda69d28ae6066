"""The audit log: who did what, to which object, when and from where.

Decisions (approvals, rejections, sign-offs) and document issues are *chained*: each
such event stores the hash of the previous chained event and its own hash over both, so
an edited or deleted event breaks the chain at that point (``verify_chain``). The
database refuses UPDATE and DELETE on the table (triggers in the migration), and on
PostgreSQL the app's role may not change the table at all (see the README).

The hash of a link is an HMAC-SHA256 under a key the database never sees
(``AUDIT_HMAC_KEY``), so someone who can write to the database cannot recompute it. Each
link names the key that signed it by a short id; older keys
(``AUDIT_HMAC_KEY_FALLBACKS``) still verify their links after a rotation. The links
written before the chain was keyed (up to ``AuditChainHead.plain_until``) carry a plain
SHA-256; the first keyed link's HMAC covers the last plain hash, which anchors them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session

from portal.domain import DomainError
from portal.models import AuditChainHead, AuditEvent, Role
from portal.models.base import utcnow

GENESIS = "0" * 64


def key_id(key: str) -> str:
    """The public name of a key: which key signed a link, without giving the key away."""
    return hmac.new(key.encode(), b"portal audit key id", hashlib.sha256).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """The key that signs new links and every key that verifies, by key id."""

    signing_id: str
    keys: Mapping[str, bytes]

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def of(signing: str, *fallbacks: str) -> Keyring:
        keys = {key_id(key): key.encode() for key in (signing, *fallbacks)}
        return Keyring(key_id(signing), keys)


def keyring() -> Keyring:
    """The keys the app is configured with."""
    config = current_app.config
    return Keyring.of(config["AUDIT_HMAC_KEY"], *config["AUDIT_HMAC_KEY_FALLBACKS"])


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
    if event.key_id is not None:  # the plain links' payload stays what they were hashed over
        payload["key"] = event.key_id
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent, keys: Keyring) -> str:
    """The link's HMAC under the key it names, or the plain SHA-256 of a link written
    before the chain was keyed. ``KeyError``: the key is not configured."""
    if event.key_id is None:
        return hashlib.sha256(_canonical(event)).hexdigest()
    return hmac.new(keys.keys[event.key_id], _canonical(event), hashlib.sha256).hexdigest()


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
    keys = keyring()
    event.chain_seq, event.prev_hash, event.key_id = seq, prev, keys.signing_id
    event.hash = event_hash(event, keys)
    session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=event.hash))


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None  # chain_seq of the first bad link
    reason: Any = ""  # a lazy string: English in the CLI, the admin's language on the page
    plain: int = 0  # links with a plain SHA-256, written before the chain was keyed
    key_ids: dict[str, int] = field(default_factory=dict)  # links signed by each key

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def broken(self, seq: int, reason: Any) -> ChainReport:
        self.broken_at, self.reason = seq, reason
        return self


# A writer may commit between reading the links and reading the head; read again.
VERIFY_ROUNDS = 3


def verify_chain(session: Session, keys: Keyring | None = None) -> ChainReport:
    """Walk the chained events in order and report the first broken link: a missing
    or reordered link, content that does not match its hash, a plain hash where the
    chain is keyed, a key that is not configured, or a chain head (the count and the
    last hash every writer updates) that disagrees with the last link."""
    keys = keys or keyring()
    plain_until = session.scalar(sa.select(AuditChainHead.plain_until).where(AuditChainHead.id == 1)) or 0
    report, last_hash = ChainReport(0), GENESIS
    for _round in range(VERIFY_ROUNDS):
        links = session.scalars(sa.select(AuditEvent).where(AuditEvent.chain_seq > report.checked)
                                .order_by(AuditEvent.chain_seq).execution_options(yield_per=1000))
        with closing(links):  # a server-side cursor on PostgreSQL, left early at a broken link
            for event in links:
                seq = report.checked + 1
                problem = _link_problem(event, seq, last_hash, plain_until, keys)
                if problem:
                    return report.broken(seq, problem)
                if event.key_id is None:
                    report.plain += 1
                else:
                    report.key_ids[event.key_id] = report.key_ids.get(event.key_id, 0) + 1
                report.checked, last_hash = seq, event.hash
        head = session.execute(sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash)
                               .where(AuditChainHead.id == 1)).one_or_none()
        if head is None or head.last_seq <= report.checked:
            break
    if head is None:
        return report.broken(1, _l("the chain head is missing")) if report.checked else report
    if head.last_seq > report.checked:
        return report.broken(report.checked + 1, _l("event #%(seq)s is missing", seq=report.checked + 1))
    if head.last_seq < report.checked:
        return report.broken(head.last_seq + 1, _l("the chain head ends before this event"))
    if head.last_hash != last_hash:
        return report.broken(max(report.checked, 1), _l("the chain head's hash does not match this event"))
    return report


def _link_problem(event: AuditEvent, seq: int, prev: str, plain_until: int, keys: Keyring):
    if event.chain_seq != seq:
        return _l("event #%(seq)s is missing", seq=seq)
    if event.prev_hash != prev:
        return _l("previous hash does not match")
    if event.key_id is None and seq > plain_until:
        return _l("the event has a plain hash where the chain is keyed")
    if event.key_id is not None and event.key_id not in keys.keys:
        return _l("signed with key %(key_id)s, which is not configured", key_id=event.key_id)
    if not hmac.compare_digest(event.hash or "", event_hash(event, keys)):
        return _l("content does not match its hash")
    return None


# --- the audit log page ------------------------------------------------------------------

AUDIT_LOG_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditLogFilter:
    """What an administrator narrows the audit log to: an account, an actor (part of
    the e-mail), an action, and a date range in the administrator's time zone."""

    account_id: int | None = None
    actor: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_log_query(viewer: Any, filters: AuditLogFilter) -> sa.Select:
    """The events that match, newest first. The audit log is for administrators only:
    it spans every account (403 for anyone else); a date range ending before it starts
    is refused, naming ``date_to``."""
    if viewer.role != Role.ADMIN:
        raise DomainError(_l("Only administrators read the audit log."), status=403)
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise DomainError(_l("The end of the date range is before its start."), fields={"date_to": "before date_from"})
    query = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if filters.account_id:
        query = query.where(AuditEvent.account_id == filters.account_id)
    if filters.actor.strip():
        query = query.where(AuditEvent.actor_email.icontains(filters.actor.strip(), autoescape=True))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    zone = ZoneInfo(viewer.timezone or "UTC")
    if filters.date_from:
        query = query.where(AuditEvent.created_at >= datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to:
        query = query.where(AuditEvent.created_at < datetime.combine(filters.date_to + timedelta(days=1), time.min, zone))
    return query


def audit_log_page(session: Session, viewer: Any, filters: AuditLogFilter, page: int = 1) -> tuple[list[AuditEvent], bool]:
    """One page of ``audit_log_query`` and whether an older page follows."""
    offset = (max(page, 1) - 1) * AUDIT_LOG_PAGE_SIZE
    rows = session.scalars(audit_log_query(viewer, filters).limit(AUDIT_LOG_PAGE_SIZE + 1).offset(offset)).all()
    return list(rows[:AUDIT_LOG_PAGE_SIZE]), len(rows) > AUDIT_LOG_PAGE_SIZE


def audit_actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter."""
    return list(session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
