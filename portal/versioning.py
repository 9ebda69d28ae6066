"""The kernel of everything people approve: change requests and plans today, documents
under review and service credits next. What makes an approval evidence is written here
once:

* **A version is frozen by hash.** The SHA-256 of its canonical JSON: keys sorted, no
  insignificant white space, text NFC-normalised, decimals as strings in their stored
  precision. The same content always gives the same hash, on any machine. The version
  number is part of the content, so a resubmission is a new version with its own hash.
* **A state moves only from where the caller saw it**: one conditional ``UPDATE ...
  WHERE id AND status AND version``, which exactly one of any number of concurrent
  callers wins; the others get ``Conflict`` (``transition``, ``claim``).
* **A decision is recorded once**: its row's unique constraint is the second wall; a
  duplicate is a ``Conflict`` inside a savepoint, so the caller's transaction is not
  rolled back behind its back (``record_decision``).
* **A signature is the signer's registered name, typed** (``check_signature``).
* **Every decision is a chained audit event** (``record_decision``).

An approvable model has ``id``, ``status``, ``version`` (the current hash),
``version_number``, ``updated_at`` and ``versions``.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.domain import Conflict, DomainError
from portal.models.base import utcnow
from portal.text import visible


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_json(content: Any) -> str:
    return json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Frozen:
    """A version's content as it is approved: the canonical JSON and its SHA-256."""

    number: int
    canonical: str
    hash: str

    @property
    def content(self) -> Any:
        """The canonical content as JSON stores it, so the hash can be recomputed from a row."""
        return json.loads(self.canonical)


def freeze(subject: Any, content_of: Callable[[int], Any]) -> Frozen:
    """The next version of ``subject``: ``content_of(number)`` is everything approved
    at that version number, and nothing else."""
    number = (subject.version_number or 0) + 1
    canonical = canonical_json(content_of(number))
    return Frozen(number, canonical, content_hash(canonical))


def _as_seen(model: type, subject: Any) -> sa.ColumnElement[bool]:
    return model.version.is_(None) if subject.version is None else model.version == subject.version


def claim(session: Session, subject: Any, *, conflict: Any) -> None:
    """Take ``subject`` as it was loaded (same status, same version) before changing
    it: a decision committed since then wins, and one arriving now waits for this
    change and then finds what it left. ``Conflict(conflict)`` if it moved on."""
    model = type(subject)
    result = session.execute(
        sa.update(model).where(model.id == subject.id, model.status == subject.status, _as_seen(model, subject))
        .values(updated_at=utcnow()).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(conflict)


def transition(session: Session, subject: Any, from_statuses: Iterable[Enum], to_status: Enum, *,
               version: str | None, conflict: Any, **values: Any) -> None:
    """Move ``subject`` to ``to_status`` only if it is still in one of ``from_statuses``
    (and at ``version``, unless ``None``), setting ``values`` too; ``Conflict`` if not."""
    model = type(subject)
    conditions = [model.id == subject.id, model.status.in_(tuple(from_statuses))]
    if version is not None:
        conditions.append(model.version == version)
    result = session.execute(
        sa.update(model).where(*conditions).values(status=to_status, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(conflict)
    session.refresh(subject)


def same_name(typed: str, name: str) -> bool:
    """Whether a typed signature is the registered name, case, width, spacing and
    invisible characters (``portal.text.visible``) aside."""

    def norm(text: str) -> str:
        return " ".join(visible(unicodedata.normalize("NFKC", text)).casefold().split())

    return bool(typed.strip()) and norm(typed) == norm(name)


def check_signature(typed: str, signer: Any) -> str:
    """The signature as stored: the signer's full name as registered, typed (or pasted)
    by them, as it reads."""
    if not same_name(typed, signer.name):
        raise DomainError(_l("Type your full name as registered: %(name)s", name=signer.name),
                          fields={"signature_name": "does not match the approver's full name"})
    return visible(typed).strip()


def record_decision(session: Session, subject: Any, decision: Any, *, action: str, by: Any, ip: str | None,
                    data: Mapping[str, Any], conflict: Any) -> Any:
    """Store ``decision`` (a row whose unique constraint allows one such decision per
    version) and its chained audit event. A duplicate that got past the conditional
    update is refused by the database: ``Conflict(conflict)``, the savepoint undone and
    the caller's transaction intact."""
    try:
        with session.begin_nested():
            session.add(decision)
    except sa.exc.IntegrityError:
        raise Conflict(conflict) from None
    audit.record(session, action, subject, actor=by, chained=True, ip=ip, data=dict(data))
    return decision
