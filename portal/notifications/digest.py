"""The daily digest: one e-mail a day listing a user's notifications that are still
unread, for the users who chose it instead of one e-mail each (``service.choose_email``).
The hourly ``notification_digest`` job sends each user theirs from ``DIGEST_HOUR`` of
their own day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import InAppNotification, NotificationSettings, User
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify_digest
from portal.notifications.service import of_user

# The digest is sent from this hour of the recipient's own day, once that day.
DIGEST_HOUR = 8


def send_digests(session: Session, now: datetime | None = None) -> int:
    """Queue the daily digest of every user who chose it and whose day has reached
    ``DIGEST_HOUR`` without one: one e-mail listing their notifications still unread
    that waited for it (none unread: no e-mail, but the day is taken all the same).
    Each user's day is claimed by a conditional update, so a digest is never sent twice
    a day however many jobs run. Returns how many e-mails it queued; the caller commits."""
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
