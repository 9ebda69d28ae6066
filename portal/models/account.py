"""Client accounts, their firm team and their escalation matrix."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, Money, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.contract import Contract
    from portal.models.user import User


class Tier(enum.StrEnum):
    STRATEGIC = "strategic"
    KEY = "key"
    STANDARD = "standard"


account_members = sa.Table(
    "account_members",
    Base.metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""Firm users assigned to an account (admins see every account without a row here)."""


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    country: Mapped[str] = mapped_column(sa.String(2))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), default=Tier.STANDARD)
    document_languages: Mapped[list[str]] = mapped_column(default=lambda: ["en"])
    # The registered address as it appears in contracts, per language ({"en": ..., "zh": ...}).
    address: Mapped[dict[str, str]] = mapped_column(default=dict)
    # A change request whose price impact exceeds this needs internal approval first.
    cr_approval_threshold: Mapped[Decimal] = mapped_column(Money(), default=Decimal("50000"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by the database on every write to the account's invoices (migration 0008);
    # the invoice list's cached body is keyed by it. Never written by the app.
    invoices_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    contracts: Mapped[list[Contract]] = relationship(
        back_populates="account", order_by="Contract.start_date.desc()", viewonly=True
    )
    members: Mapped[list[User]] = relationship(secondary=account_members, viewonly=True)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.name!r}>"

    def today(self, now: datetime | None = None) -> date:
        """The date in the account's time zone: an invoice due on the 5th is overdue on
        the 6th in Hanoi, whatever the server's clock says."""
        return self.local_date(now or utcnow())

    def local_date(self, moment: datetime) -> date:
        """The date a moment falls on in the account's time zone."""
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def month_window(self, month: date) -> tuple[datetime, datetime]:
        """A calendar month of the account as instants: from its local midnight on the
        first to its local midnight on the first of the next month."""
        zone = ZoneInfo(self.timezone)
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        return (datetime.combine(month.replace(day=1), datetime.min.time(), tzinfo=zone),
                datetime.combine(following, datetime.min.time(), tzinfo=zone))


class EscalationContact(AccountOwned, Base):
    """One named person at one level of the client escalation matrix."""

    __tablename__ = "escalation_contacts"
    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(254))
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
