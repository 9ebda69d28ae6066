"""Monthly KPI actuals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, utcnow
from portal.models.contract import Kpi


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
