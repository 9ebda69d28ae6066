"""In-app notifications: a user's own, read and marked read; each user's choice of
e-mail per kind; the daily digest.

Every read and write here names the recipient: a user sees and marks only their own
notifications (another user's id answers 404, as a missing one). The account scope
filters them too, like every account-owned row (``portal.security``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session

from portal.models import InAppNotification, NotificationSettings, User
from portal.models.base import utcnow
from portal.notifications.kinds import kinds_for

# The digest is sent from this hour of the recipient's own day, once that day.
DIGEST_HOUR = 8
PAGE_SIZE = 50


def unread_count(session: Session, user: User) -> int:
    """How many of ``user``'s notifications are unread: one count over the index of the
    unread ones (the bell of every page asks)."""
    return session.scalar(sa.select(sa.func.count()).select_from(InAppNotification)
                          .where(InAppNotification.recipient_id == user.id, InAppNotification.read_at.is_(None)))


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
    from portal.security import get_or_404

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


# --- the daily digest -------------------------------------------------------------------


def send_digests(session: Session, now: datetime | None = None) -> int:
    """Queue the daily digest of every user who chose it and whose day has reached
    ``DIGEST_HOUR`` without one: one e-mail listing their notifications still unread
    that waited for it (none unread: no e-mail, but the day is taken all the same).
    Each user's day is claimed by a conditional update, so a digest is never sent twice
    a day however many jobs run. Returns how many e-mails it queued; the caller commits."""
    from portal.notifications import Recipient, link, notify_digest

    now = now or utcnow()
    queued = 0
    waiting = session.execute(
        sa.select(NotificationSettings, User).join(User, User.id == NotificationSettings.user_id)
        .where(NotificationSettings.daily_digest, User.active)
        .order_by(User.id)).all()
    for settings, user in waiting:
        local = now.astimezone(_zone(user.timezone))
        today = local.date()
        if local.hour < DIGEST_HOUR or (settings.digest_sent_on is not None and settings.digest_sent_on >= today):
            continue
        claimed = session.execute(
            sa.update(NotificationSettings)
            .where(NotificationSettings.user_id == user.id,
                   sa.or_(NotificationSettings.digest_sent_on.is_(None), NotificationSettings.digest_sent_on < today))
            .values(digest_sent_on=today).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            continue
        rows = list(session.scalars(of_user(user).where(InAppNotification.awaiting_digest)
                                    .order_by(InAppNotification.id)))
        unread = [row for row in rows if row.read_at is None and settings.wants_email(row.kind)]
        if rows:
            session.execute(sa.update(InAppNotification).where(InAppNotification.id.in_([row.id for row in rows]))
                            .values(awaiting_digest=False).execution_options(synchronize_session=False))
        if unread:
            items = [{"title": row.title, "created_at": row.created_at, "url": link(f"/notifications/{row.id}")}
                     for row in unread]
            notify_digest(session, Recipient.of_user(user), items, all_url=link("/notifications"),
                          settings_url=link("/account#notifications"))
            queued += 1
    session.flush()
    return queued


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
