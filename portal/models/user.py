"""Users, their server-side sessions and API tokens, and failed sign-ins counted here."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from portal.models.account import account_members
from portal.models.base import Base, Money, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.account import Account


class Role(enum.StrEnum):
    CLIENT_VIEWER = "client_viewer"
    CLIENT_APPROVER = "client_approver"
    ACCOUNT_MANAGER = "account_manager"
    FINANCE = "finance"
    REGIONAL_REVIEWER = "regional_reviewer"
    ADMIN = "admin"

    @property
    def is_client(self) -> bool:
        return self in CLIENT_ROLES


CLIENT_ROLES = frozenset({Role.CLIENT_VIEWER, Role.CLIENT_APPROVER})
FIRM_ROLES = frozenset(Role) - CLIENT_ROLES


def hash_token(token: str) -> str:
    """Session ids and API tokens are stored as SHA-256: a database dump grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A client user belongs to exactly one account; a firm user to none (assignments instead).
        sa.CheckConstraint(
            "(role IN ('client_viewer', 'client_approver')) = (account_id IS NOT NULL)",
            name="client_has_account",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    # The regional form of the language that dates and times follow (``en-GB``: 5 December
    # 2026, 14:30), one of ``portal.i18n.LOCALE_NAMES``; None: the language's own.
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    # A client approver's delegated authority, in the account's currency: a change request
    # whose price impact (its absolute value) is above it needs a second client approver
    # whose limit covers it, or the account's higher authority. None: no limit.
    approval_limit: Mapped[Decimal | None] = mapped_column(Money())
    # The client approver the account names as its higher authority: may approve any amount.
    higher_authority: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The SHA-256 of the secret in the user's calendar feed's address
    # (``/calendar/<token>.ics``), which is shown once, when it is made; None: no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    account: Mapped[Account | None] = relationship(foreign_keys=[account_id])
    assigned_accounts: Mapped[list[Account]] = relationship(secondary=account_members, viewonly=True)

    # Flask-Login: the id it keeps in the cookie is the server-side session's token,
    # set on the instance by the sign-in service or the user loader.
    session_token = None  # str | None
    session_id = None  # int | None: the UserSession row of this sign-in
    signed_in_at = None  # datetime | None: when the API token in use was minted

    _account_ids = None  # frozenset[int] | None, cached per instance

    @property
    def is_client(self) -> bool:
        return self.role in CLIENT_ROLES

    @property
    def account_ids(self) -> frozenset[int]:
        """The accounts a firm user is assigned to (a client user: its own)."""
        if self.is_client:
            return frozenset({self.account_id})
        if self._account_ids is None:
            # Core query on the association table: it is not itself scoped, which is
            # what lets the scope be computed from it.
            query = sa.select(account_members.c.account_id).where(account_members.c.user_id == self.id)
            self._account_ids = frozenset(object_session(self).scalars(query))
        return self._account_ids

    @property
    def has_password(self) -> bool:
        """False for an invited user who has not set one yet: an empty hash signs nobody in."""
        return bool(self.password_hash)

    def may_invite(self, role: Role, account_id: int | None) -> bool:
        """Whether this user may invite someone with ``role`` (a client user of
        ``account_id``) and resend or withdraw that invitation: the admin anyone; an account
        manager the client users of its accounts; a client approver its account's viewers."""
        if self.is_admin:
            return True
        if role not in CLIENT_ROLES or account_id is None:
            return False
        if self.role is Role.ACCOUNT_MANAGER:
            return account_id in self.account_ids
        return self.role is Role.CLIENT_APPROVER and role is Role.CLIENT_VIEWER and account_id == self.account_id

    def sees_user(self, other: User) -> bool:
        """Whether ``other`` is among the users this user may list: the admin's everyone;
        an account manager's and a client approver's the client users of their accounts."""
        if self.is_admin:
            return True
        if self.role not in (Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER):
            return False
        return other.account_id is not None and other.account_id in self.account_ids

    @property
    def is_firm(self) -> bool:
        return self.role in FIRM_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    # Flask-Login's user protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class UserSession(Base):
    """A signed-in browser session; revoking the row ends it wherever the cookie went."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed sign-in under a throttle key (an e-mail's, an address's), written
    only while the throttle's own store (Redis) cannot be reached: the throttle then
    counts these instead, and deletes those older than its longest window."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
