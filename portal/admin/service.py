"""Managing users: shared by the admin pages and ``flask users create``."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.domain import DomainError
from portal.i18n import regional_locale
from portal.auth import passwords, service as auth_service
from portal.auth.service import normalise_email
from portal.models import Account, Role, User, account_members
from portal.models.user import CLIENT_ROLES


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    account: Account | None = None,
    assigned: list[Account] | None = None,
    language: str = "en",
    timezone: str = "UTC",
    title: str = "",
    locale: str | None = None,
) -> User:
    """Create a user. A client user needs its one account; a firm user may be assigned
    to accounts (admins see all without assignments). Without a ``password`` the user
    cannot sign in until they set one (an invitation: ``portal.users.service``).
    ``locale``: the regional form of ``language`` its dates follow (``en-GB``).
    ``DomainError`` names each field at fault with the user's words for the problem."""
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if not email or "@" not in email:
        errors["email"] = str(_l("Enter a valid e-mail address."))
    elif session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        errors["email"] = str(_l("A user with this e-mail already exists."))
    if role in CLIENT_ROLES and account is None:
        errors["account"] = str(_l("A client user belongs to an account."))
    if role not in CLIENT_ROLES and account is not None:
        errors["account"] = str(_l("Firm users are assigned to accounts, not members of one."))
    problems = passwords.password_problems(password, email=email) if password is not None else []
    if problems:
        errors["password"] = " ".join(problems)
    if errors:
        raise DomainError(_l("Some fields are not valid."), fields=errors)
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        account_id=account.id if account else None,
        password_hash=passwords.hash_password(password) if password is not None else "",
        language=language,
        timezone=timezone,
        title=title,
        locale=regional_locale(language, locale),
    )
    session.add(user)
    session.flush()
    for assigned_account in assigned or []:
        assign(session, user, assigned_account)
    audit.record(session, "user.created", user, account_id=user.account_id, data={"email": email, "role": role.value})
    return user


def assign(session: Session, user: User, account: Account) -> None:
    session.execute(sa.insert(account_members).values(account_id=account.id, user_id=user.id))


def set_user_active(session: Session, user: User, active: bool, by: User) -> None:
    """The admin ``by`` disables a user (ending every session and API token at once) or
    enables one. An admin never disables themselves: the portal would lose an
    administrator, maybe its last, by a slip."""
    if not active and user.id == by.id:
        raise DomainError(_l("You cannot disable your own account."))
    auth_service.set_active(session, user, active)
    audit.record(session, "user.enabled" if active else "user.disabled", user, account_id=user.account_id, actor=by)
