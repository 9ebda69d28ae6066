"""Gap-free numbers (CR-0042, AMD-2026-0003) that concurrent writers never share."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import NumberSequence


def next_value(session: Session, key: str) -> int:
    """Advance the counter ``key`` and return its new value.

    The ``UPDATE ... RETURNING`` takes the row lock (PostgreSQL) or the write lock
    (SQLite) until the transaction ends, so a second issuer waits and then gets the
    next number; a rolled-back transaction gives its number back, leaving no gap."""
    advance = (
        sa.update(NumberSequence)
        .where(NumberSequence.key == key)
        .values(last_value=NumberSequence.last_value + 1)
        .returning(NumberSequence.last_value)
    )
    value = session.execute(advance).scalar_one_or_none()
    if value is not None:
        return value
    try:
        with session.begin_nested():
            session.add(NumberSequence(key=key, last_value=1))
        return 1
    except sa.exc.IntegrityError:  # another transaction created it first
        return session.execute(advance).scalar_one()
