"""Contracts with their scope lines, KPIs, SLA targets and service locations."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docgen.formatting import quantize_money
from portal.models.base import AccountOwned, Base, ExactDecimal, Money, TimestampMixin, str_enum

if TYPE_CHECKING:
    from portal.models.account import Account


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class KpiDirection(enum.StrEnum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"


# Before its end, a contract's account managers are reminded once at each of these.
RENEWAL_NOTICE_DAYS = (90, 60, 30)


def annual_value_of(lines: Iterable[tuple[Decimal, Decimal]], currency: str) -> Decimal:
    """The annual contract value that scope lines make, each a yearly ``(quantity,
    unit_price)``: the sum of quantity × unit price, rounded half-up to the currency's
    decimals as every amount shown or billed is (``quantize_money``)."""
    return quantize_money(sum((quantity * unit_price for quantity, unit_price in lines), Decimal(0)), currency)


class Contract(AccountOwned, TimestampMixin, Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[dict[str, str]]  # per language: {"en": "...", "zh": "..."}
    start_date: Mapped[date]
    end_date: Mapped[date]
    signed_on: Mapped[date | None]
    currency: Mapped[str] = mapped_column(sa.String(3))
    annual_value: Mapped[Decimal] = mapped_column(Money())  # ACV
    # The law the contract is governed by, per language ("Laws of Singapore").
    governing_law: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    # The language that prevails in its bilingual documents, over the account's.
    prevailing_language: Mapped[str | None] = mapped_column(sa.String(5))
    # Service credits are capped at these percentages of the month's charge (all active
    # scope lines) and of the ACV per contract year; None: uncapped.
    credit_cap_month_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    credit_cap_year_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # The smallest renewal reminder (90, 60 or 30 days before the end) sent so far;
    # cleared when the end date moves, so a renewed contract is reminded again.
    renewal_notice_days: Mapped[int | None]

    account: Mapped[Account] = relationship(back_populates="contracts")
    scope_lines: Mapped[list[ScopeLine]] = relationship(
        back_populates="contract", order_by="ScopeLine.position", cascade="all, delete-orphan"
    )
    kpis: Mapped[list[Kpi]] = relationship(
        back_populates="contract", order_by="Kpi.position", cascade="all, delete-orphan"
    )
    sla_targets: Mapped[list[SlaTarget]] = relationship(cascade="all, delete-orphan")
    locations: Mapped[list[ServiceLocation]] = relationship(cascade="all, delete-orphan")

    @property
    def signed(self) -> bool:
        """A signed contract's scope changes only by change requests."""
        return self.signed_on is not None

    def state(self, today: date) -> str:
        """``upcoming``, ``active``, ``ending_soon`` (within 90 days of its end) or ``expired``."""
        if today > self.end_date:
            return "expired"
        if today < self.start_date:
            return "upcoming"
        return "ending_soon" if (self.end_date - today).days <= RENEWAL_NOTICE_DAYS[0] else "active"

    @property
    def active_scope_lines(self) -> list[ScopeLine]:
        return [line for line in self.scope_lines if line.removed_at is None]

    @property
    def scope_annual_value(self) -> Decimal:
        """The ACV its scope lines in force make: its ACV unless another was agreed."""
        return annual_value_of(((line.quantity, line.unit_price) for line in self.active_scope_lines), self.currency)


class ScopeLine(AccountOwned, Base):
    """A contracted service at a unit price. Lines are never deleted: a change request
    that removes or modifies one closes it (``removed_at``) and may add its successor,
    so the contract's history stays readable."""

    __tablename__ = "scope_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    service: Mapped[dict[str, str]]
    unit: Mapped[str] = mapped_column(sa.String(60))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    added_on: Mapped[date | None]
    removed_at: Mapped[datetime | None]
    added_by_change_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("change_requests.id", ondelete="SET NULL")
    )
    removed_by_change_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("change_requests.id", ondelete="SET NULL")
    )

    contract: Mapped[Contract] = relationship(back_populates="scope_lines")

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price

    @property
    def number(self) -> int:
        """The line's No. on the contract's page (1, 2, 3...): how a volume file names it.
        A line a change request adds comes after the others; the numbers stay."""
        return self.position + 1


class ServiceLocation(AccountOwned, Base):
    __tablename__ = "service_locations"
    __table_args__ = (sa.UniqueConstraint("contract_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(sa.String(2))
    entity_name: Mapped[str] = mapped_column(sa.String(200), default="")


class Kpi(AccountOwned, Base):
    """A KPI (or SLA) the contract commits to, measured monthly."""

    __tablename__ = "kpis"
    __table_args__ = (sa.UniqueConstraint("contract_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[dict[str, str]]
    unit: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[Decimal] = mapped_column(ExactDecimal())
    direction: Mapped[KpiDirection] = mapped_column(str_enum(KpiDirection))
    weight: Mapped[Decimal] = mapped_column(ExactDecimal(), default=Decimal(1))
    # Within this share of the target (0.05 = 5 %) a missed KPI is amber, beyond it red.
    amber_tolerance: Mapped[Decimal] = mapped_column(ExactDecimal(), default=Decimal("0.05"))
    is_sla: Mapped[bool] = mapped_column(default=False)
    service_credit_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # The scope lines whose monthly charge an SLA's credit is a percentage of; empty: all
    # the contract's lines active in the month.
    credit_scope_line_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list, server_default="[]")

    contract: Mapped[Contract] = relationship(back_populates="kpis")


class SlaTarget(AccountOwned, Base):
    """Response and resolution targets for requests of one priority under a contract."""

    __tablename__ = "sla_targets"
    __table_args__ = (sa.UniqueConstraint("contract_id", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    # Business-hours clocks skip nights, weekends and holidays in the account's time zone.
    business_hours: Mapped[bool] = mapped_column(default=True)
