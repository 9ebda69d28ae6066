"""Notifications: the outbox of e-mails, the in-app notifications of each user, and
each user's choice of what also comes by e-mail.

An event (``portal.notifications.notify``) tells each recipient twice, in two tables,
because the two messages live differently:

* ``notifications``, the outbox: one e-mail to one address (an escalation contact
  without a user account too), sent, retried with back-off, given up on. Security mails
  (an invitation, a password reset) are only here.
* ``in_app_notifications``: one notice to one *user*, read or not, shown by the bell and
  the list page. It is written for every event whatever the user chose for e-mail, so
  turning e-mail off never hides anything; its e-mail is written beside it, or later
  in the daily digest, or not at all, as ``notification_settings`` says.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import AccountOwned, Base, str_enum, utcnow


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Notification(Base):
    """One e-mail to one person, written in the transaction of the change it reports
    (so a change is never lost for want of mail, and mail never reports a change that
    rolled back), sent later by ``flask mail send``."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    to_email: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    kind: Mapped[str] = mapped_column(sa.String(60))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[NotificationStatus] = mapped_column(str_enum(NotificationStatus), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class InAppNotification(AccountOwned, Base):
    """What one user is told in the portal about one event of an account: its kind, a
    short title in the user's language (the e-mail's subject), the path of the item it
    is about, and when the user read it.

    It belongs to the account of the event, so the scope filters it like the item it
    points to (a firm user taken off an account no longer sees its notices); and to its
    recipient, whom every read and write of it names (``portal.notifications.service``).
    """

    __tablename__ = "in_app_notifications"
    __table_args__ = (
        # The bell on every page: a count of the unread ones, from an index of only those.
        sa.Index("ix_in_app_notifications_unread", "recipient_id", "account_id",
                 sqlite_where=sa.text("read_at IS NULL"), postgresql_where=sa.text("read_at IS NULL")),
        # The list, newest first (and the API's cursor).
        sa.Index("ix_in_app_notifications_recipient_created", "recipient_id", "created_at", "id"),
        # The daily digest's rows still to send.
        sa.Index("ix_in_app_notifications_digest", "recipient_id",
                 sqlite_where=sa.text("awaiting_digest"), postgresql_where=sa.text("awaiting_digest")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(300))
    link: Mapped[str | None] = mapped_column(sa.String(500))  # a path in the portal: /requests/12
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Its e-mail comes in the recipient's next daily digest (if still unread by then).
    awaiting_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class NotificationSettings(Base):
    """A user's choice of e-mail: the kinds they do not want by e-mail (only in the
    portal), and whether the others come as one e-mail a day instead of one each. A user
    without a row gets every kind by e-mail at once. Security mails ignore it."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_off: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    daily_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The recipient's own date of the last digest sent: one a day, whoever asks.
    digest_sent_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def wants_email(self, kind: str) -> bool:
        return kind not in (self.email_off or [])
