"""Users and access: invitations, password resets, and the users' own details.

An invited user exists from the invitation on, without a password: the e-mail (in their
language, through the outbox) holds a one-time link, valid ``INVITATION_LIFETIME`` (72
hours), whose page sets a password that meets the policy and signs them in. Who may
invite whom is ``User.may_invite``: the admin anyone, an account manager the client
users of its accounts, a client approver its account's viewers.

"Forgot your password?" answers the same whether or not the e-mail is known, and does
the same work either way; a known user who may sign in gets a link valid
``PASSWORD_RESET_LIFETIME`` (an hour). Setting the password by it ends every session and
API token of that user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.admin.service import assign, create_user
from portal.auth import passwords, throttle
from portal.auth.service import SignInThrottled, normalise_email, revoke_all_sessions
from portal.domain import Conflict, DomainError
from portal.i18n import LANGUAGE_NAMES, is_valid_timezone, normalise_language, regional_locale
from portal.models import Account, LinkPurpose, OneTimeLink, Role, User, account_members
from portal.models.base import utcnow
from portal.notifications import Recipient, SentLink, compose, notify
from portal.users import links


def invite_user(
    session: Session,
    inviter: User | None,
    *,
    email: str,
    name: str,
    role: Role,
    account: Account | None = None,
    language: str = "en",
    timezone: str | None = None,
) -> User:
    """Invite someone: the user is made without a password, and an e-mail in their
    language carries a link that sets one. ``account``: a client user's account, or an
    account a firm user is assigned to. ``timezone`` defaults to a client account's, else
    UTC. ``inviter`` None is the system (the command line), which may invite anyone."""
    if inviter is not None and not inviter.may_invite(role, account.id if account else None):
        raise DomainError(_l("You may not invite a user with this role to this account."), status=403)
    timezone = timezone or (account.timezone if account is not None and role.is_client else "UTC")
    _check_preferences(language, timezone)
    user = create_user(session, email=email, name=name, role=role, password=None,
                       account=account if role.is_client else None, language=language, timezone=timezone)
    if account is not None and not role.is_client:
        assign(session, user, account)
    _send_invitation(session, user, inviter)
    audit.record(session, "user.invited", user, actor=inviter, data={"email": user.email, "role": role.value})
    return user


def resend_invitation(session: Session, user: User, actor: User) -> OneTimeLink:
    """Send the invitation again with a new link; the earlier links stop working. Only
    while the user has not set a password, and is not disabled."""
    _check_invitation_open(user, actor)
    link = _send_invitation(session, user, actor)
    audit.record(session, "user.invitation_resent", user)
    return link


def revoke_invitation(session: Session, user: User, actor: User) -> None:
    """Withdraw the invitation: its links stop working. The user stays, unable to sign
    in, until invited again (``resend_invitation``)."""
    _check_invitation_open(user, actor)
    links.withdraw(session, user, LinkPurpose.INVITATION)
    audit.record(session, "user.invitation_revoked", user)


def _check_invitation_open(user: User, actor: User) -> None:
    if not actor.may_invite(user.role, user.account_id):
        raise DomainError(_l("You may not invite a user with this role to this account."), status=403)
    if user.has_password:
        raise Conflict(_l("%(email)s has accepted the invitation already.", email=user.email))
    if not user.active:
        raise DomainError(_l("%(email)s is disabled: enable the user first.", email=user.email))


def _send_invitation(session: Session, user: User, inviter: User | None) -> OneTimeLink:
    link = links.new_link(session, user, LinkPurpose.INVITATION, created_by=inviter)
    notify(session, "invitation", [Recipient.of_user(user)], account_id=user.account_id, user=user,
           inviter=inviter.name if inviter else current_app.config["FIRM_NAME"], link=links.place(link),
           expires_at=link.expires_at)
    return link


def accept_invitation(session: Session, link: OneTimeLink, password: str) -> User:
    """The invited user sets their password (the policy applies); the link is spent."""
    user = _set_password(session, link, password)
    audit.record(session, "user.invitation_accepted", user, actor=user)
    return user


def request_password_reset(session: Session, email: str, *, address: str) -> None:
    """E-mail a link that resets the password of the user with ``email``, if there is one
    who may sign in (not disabled, not still invited). Says nothing either way, and works
    alike either way: an unknown e-mail's message is made too, then dropped. Raises
    ``SignInThrottled`` when this e-mail or this address asked too often, known or not."""
    email = normalise_email(email)
    wait = throttle.retry_after(session, email, address, throttle.PASSWORD_RESET)
    if wait:
        raise SignInThrottled(wait)
    throttle.record_failure(session, email, address, throttle.PASSWORD_RESET)
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active or not user.has_password:
        compose("password_reset", [Recipient(email)], account_id=None, link=SentLink(0),
                expires_at=utcnow() + current_app.config["PASSWORD_RESET_LIFETIME"])
        audit.record(session, "auth.password_reset_requested", data={"email": email, "sent": False})
        return
    link = links.new_link(session, user, LinkPurpose.PASSWORD_RESET)
    notify(session, "password_reset", [Recipient.of_user(user)], account_id=user.account_id,
           link=links.place(link), expires_at=link.expires_at)
    audit.record(session, "auth.password_reset_requested", user, actor=user, data={"email": email, "sent": True})


def reset_password(session: Session, link: OneTimeLink, password: str) -> User:
    """Set a new password by a reset link (the policy applies); the link is spent and
    every session and API token of the user ends."""
    user = _set_password(session, link, password)
    revoke_all_sessions(session, user)
    audit.record(session, "auth.password_reset", user, actor=user)
    return user


def _set_password(session: Session, link: OneTimeLink, password: str) -> User:
    user = link.user
    problems = passwords.password_problems(password, email=user.email)
    if problems:
        raise DomainError(" ".join(problems), fields={"password": "does not meet the password policy"})
    links.use(session, link)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    return user


# --- who is who ---------------------------------------------------------------------


def users_seen_by(viewer: User) -> sa.Select:
    """The users ``viewer`` may list (``User.sees_user``), as a statement."""
    query = sa.select(User)
    if viewer.is_admin:
        return query
    if viewer.role not in (Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER):
        return query.where(sa.false())
    return query.where(User.account_id.in_(sorted(viewer.account_ids)))


@dataclass(frozen=True)
class Standing:
    """Where a user stands: ``active``, ``disabled``, ``invited``, ``invitation_expired``
    or ``invitation_withdrawn``; and whether the invitation may be sent again or withdrawn."""

    state: str

    @property
    def invitation_open(self) -> bool:
        return self.state.startswith("invit")

    @property
    def tone(self) -> str:
        return {"active": "ok", "disabled": "bad", "invited": ""}.get(self.state, "warn")


def standings(session: Session, users: Iterable[User]) -> dict[int, Standing]:
    """Each user's ``Standing``, with one query for the invitations of those still invited."""
    users = list(users)
    invited = [u.id for u in users if not u.has_password]
    latest: dict[int, OneTimeLink] = {}
    if invited:
        for link in session.scalars(sa.select(OneTimeLink).where(
                OneTimeLink.user_id.in_(invited), OneTimeLink.purpose == LinkPurpose.INVITATION)
                .order_by(OneTimeLink.id)):
            latest[link.user_id] = link
    now, result = utcnow(), {}
    for user in users:
        link = latest.get(user.id)
        if not user.active:
            state = "disabled"
        elif user.has_password:
            state = "active"
        elif link is None or link.revoked_at is not None:
            state = "invitation_withdrawn"
        elif link.expires_at <= now:
            state = "invitation_expired"
        else:
            state = "invited"
        result[user.id] = Standing(state)
    return result


# --- changing users -------------------------------------------------------------------


def update_user(
    session: Session,
    user: User,
    actor: User,
    *,
    name: str,
    role: Role,
    language: str,
    timezone: str,
    accounts: Sequence[Account],
) -> User:
    """The admin changes a user: name, role, language, time zone and accounts (a client
    user's one account; the accounts a firm user is assigned to). An admin keeps their
    own role, so that the portal never loses its last administrator by a slip."""
    _check_preferences(language, timezone)
    if user.id == actor.id and role is not user.role:
        raise DomainError(_l("You cannot change your own role."), fields={"role": "own role"})
    if role.is_client and len(accounts) != 1:
        raise DomainError(_l("A client user belongs to an account."), fields={"account": "required"})
    before = {"name": user.name, "role": user.role.value, "language": user.language, "timezone": user.timezone,
              "accounts": sorted(user.account_ids)}
    user.name = name.strip() or user.email
    user.role, user.language, user.timezone = role, language, timezone
    user.account_id = accounts[0].id if role.is_client else None
    session.execute(sa.delete(account_members).where(account_members.c.user_id == user.id))
    if not role.is_client:
        for account in accounts:
            assign(session, user, account)
    user._account_ids = None
    session.flush()
    after = {"name": user.name, "role": role.value, "language": language, "timezone": timezone,
             "accounts": sorted(a.id for a in accounts)}
    audit.record(session, "user.updated", user, data={k: [before[k], v] for k, v in after.items() if before[k] != v})
    return user


def update_own_details(session: Session, user: User, *, name: str, locale: str, timezone: str) -> User:
    """A user changes their own name, language and time zone. ``locale`` is one of
    ``LOCALE_NAMES`` (``en-GB``, ``zh``) or a plain language: the UI speaks its language,
    dates and times follow its region."""
    language = normalise_language(locale) or ""
    _check_preferences(language, timezone)
    user.name = name.strip() or user.email
    user.language, user.timezone = language, timezone
    user.locale = regional_locale(language, locale)
    session.flush()
    return user


def _check_preferences(language: str, timezone: str) -> None:
    errors = {}
    if language not in LANGUAGE_NAMES:
        errors["language"] = "unknown language"
    if not is_valid_timezone(timezone):
        errors["timezone"] = "unknown time zone"
    if errors:
        raise DomainError(_l("Some fields are not valid."), fields=errors)
