"""Getting into the portal: one-time links (invitations, password resets) and two-factor
sign-in (an authenticator app's codes, recovery codes, and where the admin requires it).

None of these rows belongs to an account: they are read before the caller is known (a
link's page, the second step of a sign-in), so they are not ``AccountOwned``; the
services decide who may see and change them.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, str_enum, utcnow
from portal.models.user import Role, User


class LinkPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class OneTimeLink(Base):
    """A link e-mailed to a user that sets their password once: an invitation (72 hours)
    or a password reset (an hour). Only the SHA-256 of its token is stored, and only once
    the e-mail is sent: the token is made when the outbox sends the message, so neither
    this table nor the outbox ever holds it (``access.links``)."""

    __tablename__ = "one_time_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]  # withdrawn, or replaced by a newer link

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Authenticator(Base):
    """A user's authenticator app: the TOTP secret they scanned, in force once they
    confirmed it with a code. ``last_counter`` is the time step of the last code accepted:
    a code is accepted only for a later step, so none is accepted twice."""

    __tablename__ = "authenticators"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_counter: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(Base):
    """One of the ten codes that stand in for the authenticator app once each; stored as
    SHA-256 (each holds 80 random bits: nothing to guess from the hash)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class TwoFactorRequirement(Base):
    """The admin requires two-factor sign-in of every user with a role, or of every user
    of an account (its client users and the firm users assigned to it)."""

    __tablename__ = "two_factor_requirements"
    __table_args__ = (
        sa.CheckConstraint("(role IS NULL) <> (account_id IS NULL)", name="role_or_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role | None] = mapped_column(str_enum(Role), unique=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
