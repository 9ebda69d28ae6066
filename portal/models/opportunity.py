"""The firm's commercial opportunities on an account (the pipeline) and their lines."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, FirmOnly, Money, TimestampMixin, str_enum

if TYPE_CHECKING:
    from portal.models.change_request import ChangeRequest
    from portal.models.user import User


class OpportunityStage(enum.StrEnum):
    IDENTIFIED = "identified"
    QUALIFIED = "qualified"
    PROPOSED = "proposed"
    WON = "won"
    LOST = "lost"


class OpportunitySource(enum.StrEnum):
    CLIENT_REQUEST = "client_request"  # a client's scope request
    REVIEW = "review"  # a plan or its review
    IDEA = "idea"  # the account manager's own


# The probability a stage starts with (the user may change it), in percent.
STAGE_PROBABILITY = {
    OpportunityStage.IDENTIFIED: 10,
    OpportunityStage.QUALIFIED: 30,
    OpportunityStage.PROPOSED: 60,
    OpportunityStage.WON: 100,
    OpportunityStage.LOST: 0,
}


class Opportunity(FirmOnly, AccountOwned, TimestampMixin, Base):
    """An opportunity of more business with the client: the firm's only."""

    __tablename__ = "opportunities"
    __table_args__ = (sa.CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[dict[str, str]]
    value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(sa.String(3))
    stage: Mapped[OpportunityStage] = mapped_column(str_enum(OpportunityStage), default=OpportunityStage.IDENTIFIED,
                                                    index=True)
    probability: Mapped[int] = mapped_column(default=10)
    expected_close: Mapped[date | None]
    source: Mapped[OpportunitySource] = mapped_column(str_enum(OpportunitySource), default=OpportunitySource.IDEA)
    source_request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="SET NULL"),
                                                          index=True)
    source_plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    lines: Mapped[list[OpportunityLine]] = relationship(
        back_populates="opportunity", order_by="OpportunityLine.position", cascade="all, delete-orphan"
    )
    # The change request a won opportunity became (it keeps ``opportunity_id``).
    change_request: Mapped[ChangeRequest | None] = relationship(
        primaryjoin="ChangeRequest.opportunity_id == Opportunity.id", foreign_keys="ChangeRequest.opportunity_id",
        viewonly=True, uselist=False,
    )

    @property
    def weighted_value(self) -> Decimal:
        return self.value * self.probability / 100


class OpportunityLine(FirmOnly, AccountOwned, Base):
    __tablename__ = "opportunity_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[dict[str, str]]
    unit: Mapped[str] = mapped_column(sa.String(60))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    unit_price: Mapped[Decimal] = mapped_column(Money())

    opportunity: Mapped[Opportunity] = relationship(back_populates="lines")

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price
