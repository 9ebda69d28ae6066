"""Client accounts, their firm team and their escalation matrix."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.models.base import AccountOwned, Base, Money, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.contract import Contract
    from portal.models.user import User


class Tier(enum.StrEnum):
    STRATEGIC = "strategic"
    KEY = "key"
    STANDARD = "standard"


class OwnerSide(enum.StrEnum):
    """The two sides of an account: the firm (the service provider) and the client."""

    FIRM = "firm"
    CLIENT = "client"


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
    # The name the account is registered under, in its country's language where the
    # portal has it (a Chinese company's Chinese name), else in English: lists, the API
    # and the command line know the account by it. ``legal_names`` holds the legal name
    # in each language given ({"en": ..., "zh": ...}) for documents and pages.
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    legal_names: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    country: Mapped[str] = mapped_column(sa.String(2))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), default=Tier.STANDARD)
    document_languages: Mapped[list[str]] = mapped_column(default=lambda: ["en"])
    # The document languages (zh, vi) whose documents the account's regional reviewer of
    # that language approves before they are issued.
    review_languages: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # The language that prevails in a bilingual document (a contract may name another).
    prevailing_language: Mapped[str | None] = mapped_column(sa.String(5))
    # The registered address as it appears in contracts, per language ({"en": ..., "zh": ...}).
    address: Mapped[dict[str, str]] = mapped_column(default=dict)
    # The tax or company registration number, as printed on contracts and invoices.
    tax_id: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    # The legal representative who signs for the client: name and title per language.
    representative_name: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    representative_title: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    # The account's contracting currency (a contract may name another).
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")
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

    @property
    def names(self) -> dict[str, str]:
        """The legal name per language (an account made before names per language has
        its registered name as the English one)."""
        return dict(self.legal_names) or {"en": self.name}

    def name_in(self, language: str) -> str:
        """The name a reader of ``language`` knows the account by: its legal name in
        that language, else the registered one."""
        return self.legal_names.get(language) or self.name

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
    """One named person at one level of the client escalation matrix, on the firm's
    side or the client's."""

    __tablename__ = "escalation_contacts"
    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int]
    # The firm/client enum of the action registry: a side of the relationship.
    side: Mapped[OwnerSide] = mapped_column(str_enum(OwnerSide, name="side"), default=OwnerSide.FIRM,
                                            server_default=OwnerSide.FIRM.value)
    # The portal user with this e-mail, if any: notifications reach them in their language.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200))
    # The job title per language ({"en": ..., "zh": ...}).
    title: Mapped[dict[str, str]] = mapped_column(default=dict)
    email: Mapped[str] = mapped_column(sa.String(254))
    phone: Mapped[str] = mapped_column(sa.String(50), default="")

    @validates("title")
    def _title_per_language(self, _key: str, title: dict[str, str] | str) -> dict[str, str]:
        """A title given as plain text is the English one."""
        if isinstance(title, str):
            return {"en": title} if title.strip() else {}
        return title
