"""In-app notifications: a user's own, read and marked read; each user's choice of
e-mail per kind (the daily digest that choice may ask for is ``digest``'s).

Every read and write here names the recipient: a user sees and marks only their own
notifications (another user's id answers 404, as a missing one). The account scope
filters them too, like every account-owned row (``portal.security``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session

from portal.models import InAppNotification, NotificationSettings, User
from portal.models.base import utcnow
from portal.notifications.kinds import kinds_for
from portal.security import bound_scope_condition, get_or_404

PAGE_SIZE = 50


NOTIFICATIONS = InAppNotification.__table__.c
_UNREAD = (sa.select(sa.func.count()).select_from(InAppNotification.__table__)
           .where(NOTIFICATIONS.recipient_id == sa.bindparam("user_id"), NOTIFICATIONS.read_at.is_(None)))


def unread_count(session: Session, user: User) -> int:
    """How many of ``user``'s notifications are unread (in the accounts the caller sees):
    one count over the index of the unread ones. The bell of every page asks, so this is
    a Core statement built once per kind of scope, run on the session's connection with
    the scope added by ``bound_scope_condition``, as the invoice list does."""
    scope, parameters = bound_scope_condition(NOTIFICATIONS.account_id)
    return session.connection().scalar(_unread_statement(scope), {"user_id": user.id, **parameters})


@functools.lru_cache(maxsize=16)
def _unread_statement(scope: sa.ColumnElement[bool]) -> sa.Select:
    return _UNREAD.where(scope)


def of_user(user: User) -> sa.Select:
    """``user``'s notifications, unordered (the list and the API order and page them)."""
    return sa.select(InAppNotification).where(InAppNotification.recipient_id == user.id)


def page(session: Session, user: User, *, before: int | None = None, unread_only: bool = False,
         size: int = PAGE_SIZE) -> tuple[list[InAppNotification], int | None]:
    """A page of ``user``'s notifications, newest first (ids grow as they are made),
    older than the one ``before``; and the id to ask the next page with, or None."""
    query = of_user(user)
    if before:
        query = query.where(InAppNotification.id < before)
    if unread_only:
        query = query.where(InAppNotification.read_at.is_(None))
    rows = list(session.scalars(query.order_by(InAppNotification.id.desc()).limit(size + 1)))
    return rows[:size], rows[size - 1].id if len(rows) > size else None


def own_or_404(session: Session, user: User, ident: object) -> InAppNotification:
    """``user``'s notification ``ident``; 404 for another user's, as for a missing one."""
    notification = get_or_404(session, InAppNotification, ident)
    if notification.recipient_id != user.id:
        abort(404)
    return notification


def mark_read(notification: InAppNotification, now: datetime | None = None) -> InAppNotification:
    """Mark it read (a notification read before keeps when it was first read)."""
    if notification.read_at is None:
        notification.read_at = now or utcnow()
    return notification


def mark_all_read(session: Session, user: User, now: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; returns how many."""
    return session.execute(
        sa.update(InAppNotification)
        .where(InAppNotification.recipient_id == user.id, InAppNotification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount


def followed(notification: InAppNotification) -> str | None:
    """The path its link leads to, marking it read; None when it links nowhere. Only a
    path within the portal is followed (it is stored by ``notify``, never typed)."""
    mark_read(notification)
    target = notification.link or ""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else None


# --- the choice of e-mail ---------------------------------------------------------------


def preferences(session: Session, user_ids: Iterable[int]) -> dict[int, NotificationSettings]:
    """The saved choices of these users, by user id (a user without a row has none:
    every kind by e-mail, at once)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {row.user_id: row for row in session.scalars(
        sa.select(NotificationSettings).where(NotificationSettings.user_id.in_(ids)))}


def settings_of(session: Session, user: User) -> NotificationSettings:
    """``user``'s choices: the saved ones, else the default (not added to the session)."""
    return preferences(session, [user.id]).get(user.id) or NotificationSettings(user_id=user.id, email_off=[],
                                                                                 daily_digest=False)


def choose_email(session: Session, user: User, *, by_email: Iterable[str], daily_digest: bool) -> NotificationSettings:
    """Save which of the kinds ``user`` can receive also come by e-mail (``by_email``;
    the others only in the portal), and whether those come as one e-mail a day. Turning
    the digest off drops what waited for it: those notifications stay in the portal."""
    settings = preferences(session, [user.id]).get(user.id)
    if settings is None:
        settings = NotificationSettings(user_id=user.id, email_off=[], daily_digest=False)
        session.add(settings)
    offered = {kind.name for kind in kinds_for(user.role)}
    wanted = set(by_email) & offered
    kept = set(settings.email_off or []) - offered  # kinds of another role's (before a role change) stay as chosen
    settings.email_off = sorted(kept | (offered - wanted))
    if settings.daily_digest and not daily_digest:
        session.execute(sa.update(InAppNotification)
                        .where(InAppNotification.recipient_id == user.id, InAppNotification.awaiting_digest)
                        .values(awaiting_digest=False).execution_options(synchronize_session=False))
    settings.daily_digest = daily_digest
    session.flush()
    return settings
