"""Monthly KPI actuals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, utcnow
from portal.models.contract import Kpi
from portal.models.user import User


class KpiMeasurement(AccountOwned, Base):
    __tablename__ = "kpi_measurements"
    __table_args__ = (sa.UniqueConstraint("kpi_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("kpis.id", ondelete="CASCADE"))
    period: Mapped[date]  # the first day of the month measured
    actual: Mapped[Decimal] = mapped_column(ExactDecimal())
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    kpi: Mapped[Kpi] = relationship()


class ScorecardAcknowledgement(AccountOwned, Base):
    """The client has read the month's scorecard."""

    __tablename__ = "scorecard_acknowledgements"
    __table_args__ = (sa.UniqueConstraint("account_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class KpiComment(AccountOwned, Base):
    """A thread on one KPI in one month: the client asks, the account manager answers."""

    __tablename__ = "kpi_comments"
    __table_args__ = (sa.Index("ix_kpi_comments_kpi_period", "kpi_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("kpis.id", ondelete="CASCADE"))
    period: Mapped[date]
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
