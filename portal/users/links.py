"""One-time links: the e-mailed links that let a user set a password once.

A link is a row made with the e-mail that carries it; the e-mail holds only its place
(``notifications.SentLink``). When the outbox sends the message it asks
``url_for_sending`` for the link, which makes a random token there and then and stores
its SHA-256: the token exists only in the e-mail, never in the database. Sending again (a
retry) makes a new token and the earlier one stops working.

Opening a link (``open_link``) says what is wrong with it, if anything, in the visitor's
words; using it (``use``) is a conditional update, so a link works once however many
times it is sent at the same moment.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal.domain import Conflict
from portal.models import LinkPurpose, OneTimeLink, User
from portal.models.base import utcnow
from portal.models.user import hash_token
from portal.notifications import SentLink

log = logging.getLogger(__name__)

LIFETIMES = {LinkPurpose.INVITATION: "INVITATION_LIFETIME", LinkPurpose.PASSWORD_RESET: "PASSWORD_RESET_LIFETIME"}
# The pages the links open (the routes of ``portal.users.routes``).
PATHS = {LinkPurpose.INVITATION: "/invitation/", LinkPurpose.PASSWORD_RESET: "/password/reset/"}
MAX_TOKEN_LENGTH = 100


def new_link(session: Session, user: User, purpose: LinkPurpose, *, created_by: User | None = None) -> OneTimeLink:
    """A new link of ``purpose`` for ``user``; the earlier ones not yet used stop working."""
    withdraw(session, user, purpose)
    link = OneTimeLink(user_id=user.id, purpose=purpose, created_by_id=created_by.id if created_by else None,
                       expires_at=utcnow() + current_app.config[LIFETIMES[purpose]])
    session.add(link)
    session.flush()
    return link


def place(link: OneTimeLink) -> SentLink:
    """Where the link goes in its e-mail (a template writes ``{{ link }}``)."""
    return SentLink(link.id)


def withdraw(session: Session, user: User, purpose: LinkPurpose) -> int:
    """Stop the user's unused links of ``purpose`` from working; how many there were."""
    return session.execute(
        sa.update(OneTimeLink)
        .where(OneTimeLink.user_id == user.id, OneTimeLink.purpose == purpose,
               OneTimeLink.used_at.is_(None), OneTimeLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


def url_for_sending(session: Session, link_id: int, recipient_id: int | None) -> str:
    """The link as the outbox sends it to ``recipient_id``: a new token, whose hash is
    stored in the sender's transaction. A link of someone else gives nothing."""
    link = session.scalar(sa.select(OneTimeLink).where(OneTimeLink.id == link_id))
    if link is None or link.user_id != recipient_id:
        log.error("a message to user %s names one-time link %s, which is not theirs: left out", recipient_id, link_id)
        return ""
    token = secrets.token_urlsafe(32)
    link.token_hash = hash_token(token)
    return current_app.config["PORTAL_URL"] + PATHS[link.purpose] + token


@dataclass(frozen=True)
class OpenedLink:
    """A link as its visitor finds it: usable (``problem`` None), or refused with the
    HTTP status and the reason in the visitor's words."""

    link: OneTimeLink | None
    problem: object = None
    status: int = 200


def open_link(session: Session, token: str, purpose: LinkPurpose) -> OpenedLink:
    """The link whose token is ``token``, and what keeps it from working, if anything:
    unknown (mistyped, cut short or tampered with), used, withdrawn, expired, or its user
    disabled."""
    link = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        link = session.scalar(sa.select(OneTimeLink).where(OneTimeLink.token_hash == hash_token(token),
                                                           OneTimeLink.purpose == purpose))
    if link is None:
        return OpenedLink(None, _l("This link is not valid. Open it straight from the e-mail, or copy the whole "
                                   "link into the address bar."), 404)
    invitation = purpose is LinkPurpose.INVITATION
    if not link.user.active:
        return OpenedLink(link, _l("This user is disabled. Ask your administrator to enable it."), 403)
    if link.used_at is not None or (invitation and link.user.has_password):
        return OpenedLink(link, _l("This invitation was accepted already: sign in with your password.") if invitation
                          else _l("This link was used already. Ask for a new one if you need it."), 410)
    if link.revoked_at is not None:
        return OpenedLink(link, _l("This invitation was withdrawn or replaced by a newer one. Use the latest "
                                   "invitation you received, or ask for a new one.") if invitation
                          else _l("A newer link was sent after this one: use the latest e-mail."), 410)
    if link.expires_at <= utcnow():
        return OpenedLink(link, _l("This invitation has expired. Ask the person who invited you to send it again.")
                          if invitation else _l("This link has expired. Ask for a new one."), 410)
    return OpenedLink(link)


def use(session: Session, link: OneTimeLink) -> None:
    """Spend the link: one of any number of concurrent uses wins, the others get 409."""
    now = utcnow()
    won = session.execute(
        sa.update(OneTimeLink)
        .where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None), OneTimeLink.revoked_at.is_(None),
               OneTimeLink.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if won != 1:
        raise Conflict(_l("This link was used or withdrawn in the meantime."))
