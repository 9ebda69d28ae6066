"""Notifications: in the portal and by e-mail through an outbox.

``notify`` writes, in the current transaction, for each recipient who is a user an
in-app notification (the bell, ``/notifications``) and, unless that user chose
otherwise for the kind (``service.preferences``), an e-mail: at once, or later in their
daily digest (``digest``). A recipient without a user account (an escalation contact) is
e-mailed; security mails (``kinds.ALWAYS_EMAILED``) are always e-mailed at once, and
only e-mailed. Each is rendered in the recipient's language; ``send_due`` (the ``flask mail send`` command, run by a scheduler
or a worker) sends what is due, over SMTP when ``MAIL_SERVER`` is set and to the log
otherwise, and retries failures with back-off. A request is therefore never lost for
want of mail, and no mail reports a change that was rolled back.

A one-time link (an invitation, a password reset) is not written into the outbox: the
message holds a mark in its place (``SentLink``), and ``send_due`` makes the link's token
as it sends, so the database never holds a token that works (``portal.users.links``).
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import current_app
from flask_babel import force_locale, get_locale
from sqlalchemy.orm import Session

from portal.i18n import date_formats, locale_of, timezone_name
from portal.models import EscalationContact, InAppNotification, Notification, NotificationStatus, User
from portal.models.base import utcnow
from portal.notifications.kinds import ALWAYS_EMAILED, DIGEST
from portal.notifications.service import preferences

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str = "en"
    timezone: str = "UTC"
    user_id: int | None = None
    name: str = ""
    locale: str | None = None  # the regional form of the language dates follow (en-GB)

    @classmethod
    def of_user(cls, user: User) -> Recipient:
        return cls(user.email, user.language, user.timezone, user.id, user.name, user.locale)

    @classmethod
    def of_contact(cls, contact: EscalationContact, user: User | None = None) -> Recipient:
        if user is not None:
            return cls.of_user(user)
        return cls(contact.email, "en", "UTC", None, contact.name)


def unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen, out = set(), []
    for recipient in recipients:
        if recipient.email.lower() not in seen:
            seen.add(recipient.email.lower())
            out.append(recipient)
    return out


class PortalLink(str):
    """A link to a page of the portal, for an e-mail (the whole URL, as ``str``), that
    keeps its ``path`` for the in-app notification, which links within the portal."""

    path: str

    def __new__(cls, path: str) -> PortalLink:
        made = super().__new__(cls, current_app.config["PORTAL_URL"] + path)
        made.path = path
        return made


def link(endpoint_path: str) -> PortalLink:
    return PortalLink(endpoint_path)


def notify(session: Session, kind: str, recipients: Iterable[Recipient], *, account_id: int | None, **context) -> list[Notification]:
    """Tell each recipient of ``kind`` (``notifications/<kind>.txt``, in their language
    and time zone; the template's first line is the subject, and the in-app title): an
    in-app notification for each user of the account's event, linking to ``url``, and
    the e-mails their choices ask for now, which it returns."""
    composed = _compose(kind, recipients, account_id=account_id, **context)
    if kind in ALWAYS_EMAILED or account_id is None:  # no account, no in-app notice: its row belongs to one
        emails = [row for _recipient, row in composed]
    else:
        chosen = preferences(session, [recipient.user_id for recipient, _row in composed if recipient.user_id])
        path = getattr(context.get("url"), "path", None)
        emails = []
        for recipient, row in composed:
            settings = chosen.get(recipient.user_id) if recipient.user_id else None
            by_email = settings is None or settings.wants_email(kind)
            digest = by_email and settings is not None and settings.daily_digest
            if recipient.user_id:
                session.add(InAppNotification(account_id=account_id, recipient_id=recipient.user_id, kind=kind,
                                              title=row.subject, link=path, awaiting_digest=digest))
            if by_email and not digest:
                emails.append(row)
    session.add_all(emails)
    session.flush()
    return emails


def notify_digest(session: Session, recipient: Recipient, items: list[dict], **context) -> Notification:
    """Queue the daily digest (``notifications/digest.txt``) of ``items`` (each a
    notification's ``title``, ``created_at`` and ``url``) to ``recipient``."""
    [(_recipient, row)] = _compose(DIGEST, [recipient], account_id=None, items=items, **context)
    session.add(row)
    return row


def compose(kind: str, recipients: Iterable[Recipient], *, account_id: int | None, **context) -> list[Notification]:
    """The e-mails ``notify`` would queue to each recipient, made but not queued."""
    return [row for _recipient, row in _compose(kind, recipients, account_id=account_id, **context)]


def _compose(kind: str, recipients: Iterable[Recipient], *, account_id: int | None,
             **context) -> list[tuple[Recipient, Notification]]:
    rows = []
    for recipient in unique(recipients):
        with force_locale(locale_of(recipient.language, recipient.locale)):
            text = _render(f"notifications/{kind}.txt", recipient=recipient,
                           local_time=lambda dt, r=recipient: _local_time(dt, r), **context)
        subject, _, body = text.strip().partition("\n")
        rows.append((recipient, Notification(
            account_id=account_id, recipient_id=recipient.user_id, to_email=recipient.email,
            language=recipient.language, kind=kind, subject=one_line(subject)[:300],
            body=body.strip().replace(_VALUE_BREAK, "\n") + "\n",
        )))
    return rows


# A line break inside a value (a subject typed with Enter, a pasted title) must not end
# the subject line the template writes first: while rendering, such breaks become this
# private-use character, kept apart from the template's own. The subject reads it as a
# space (one header line, whatever was typed), the body as a new line.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_VALUE_BREAK = "\ue000"


# Where a one-time link goes: its id between two of this private-use character, which a
# template writes only through ``SentLink``. It is taken out of every other value, so no
# text typed by someone (a name) can ask for another person's link to be put in a mail.
_LINK_MARK = "\ue001"
_LINK = re.compile(f"{_LINK_MARK}(\\d+){_LINK_MARK}")


class SentLink(str):
    """The place of one-time link ``link_id`` in a message: filled in when it is sent."""

    def __new__(cls, link_id: int) -> SentLink:
        return super().__new__(cls, f"{_LINK_MARK}{link_id}{_LINK_MARK}")


def _mark_line_breaks(value: object) -> str:
    if isinstance(value, SentLink):
        return value
    return _LINE_BREAK.sub(_VALUE_BREAK, str(value).replace(_LINK_MARK, ""))


def one_line(text: str) -> str:
    """``text`` as one header line: every line break (and the mark of one) a space."""
    return _LINE_BREAK.sub(" ", text.replace(_VALUE_BREAK, " ")).strip()


def _render(template: str, **context) -> str:
    """``render_template`` with the line breaks of values marked (``_VALUE_BREAK``)."""
    app = current_app._get_current_object()
    environment = app.extensions.get("portal_mail_templates")
    if environment is None:
        environment = app.extensions["portal_mail_templates"] = app.jinja_env.overlay(finalize=_mark_line_breaks)
    app.update_template_context(context)
    return environment.get_template(template).render(context)


def _local_time(value: datetime | None, recipient: Recipient) -> str:
    if value is None:
        return ""
    locale = str(get_locale())
    written = format_datetime(value, date_formats(locale)["datetime"], tzinfo=ZoneInfo(recipient.timezone), locale=locale)
    zone = timezone_name(recipient.timezone, locale)
    # Chinese writes the zone after the time ("18:00 中国（上海）时间"): no half-width brackets.
    return f"{written} {zone}" if locale.startswith("zh") else f"{written} ({zone})"


# --- sending ---------------------------------------------------------------------------


class LogTransport:
    """Development: the message goes to the log instead of a mail server."""

    def send(self, message: EmailMessage) -> None:
        log.info("mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


class SmtpTransport:
    def __init__(self, config):
        self.config = config

    def send(self, message: EmailMessage) -> None:
        c = self.config
        with smtplib.SMTP(c["MAIL_SERVER"], c["MAIL_PORT"], timeout=30) as smtp:
            if c["MAIL_USE_TLS"]:
                smtp.starttls()
            if c["MAIL_USERNAME"]:
                smtp.login(c["MAIL_USERNAME"], c["MAIL_PASSWORD"] or "")
            smtp.send_message(message)


def transport():
    """The configured transport (tests put their own in ``app.extensions``)."""
    override = current_app.extensions.get("portal_mail_transport")
    if override is not None:
        return override
    return SmtpTransport(current_app.config) if current_app.config["MAIL_SERVER"] else LogTransport()


def _message(session: Session, row: Notification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = row.to_email
    message["Subject"] = one_line(row.subject)  # also for rows queued before subjects were made one line
    message.set_content(_with_links(session, row))
    message["Content-Language"] = row.language  # after set_content, which drops Content-* headers
    return message


def _with_links(session: Session, row: Notification) -> str:
    """The body with each one-time link made now, for this row's recipient only."""
    if _LINK_MARK not in row.body:
        return row.body
    from portal.users.links import url_for_sending

    return _LINK.sub(lambda match: url_for_sending(session, int(match.group(1)), row.recipient_id), row.body)


def send_due(session: Session, *, now: datetime | None = None, limit: int = 100) -> tuple[int, int]:
    """Send the notifications that are due; return (sent, failed attempts).

    One row at a time: it is locked (``SKIP LOCKED``, so parallel senders take other
    rows), sent, and committed before the next, so a crash never sends one twice."""
    now = now or utcnow()
    sender = transport()
    sent = failed = 0
    next_due = (
        sa.select(Notification)
        .where(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(limit):
        row = session.scalar(next_due)
        if row is None:
            break
        try:
            sender.send(_message(session, row))
        except Exception as error:  # any transport failure: retry later
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = NotificationStatus.FAILED
                log.error("giving up on notification %s to %s: %s", row.id, row.to_email, row.last_error)
            else:
                row.next_attempt_at = now + BACKOFF[row.attempts - 1]
            failed += 1
        else:
            row.status, row.sent_at, row.attempts = NotificationStatus.SENT, now, row.attempts + 1
            sent += 1
        session.commit()
    return sent, failed
