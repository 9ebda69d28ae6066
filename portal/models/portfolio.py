"""Adverse-variance alerts of the portfolio."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.account import Account
from portal.models.base import AccountOwned, Base, str_enum, utcnow
from portal.models.user import User


class AlertKind(enum.StrEnum):
    KPI_RED = "kpi_red"  # a KPI red two months running
    DSO_OVER_TERMS = "dso_over_terms"  # DSO over the account's payment terms
    REVENUE_UNDER_ACV = "revenue_under_acv"  # billed under 90 % of the ACV pro rata
    CSAT_LOW = "csat_low"  # the month's average rating under 3


class PortfolioAlert(AccountOwned, Base):
    """One adverse variance of one account in one month (``period``, its first day):
    raised once, shown on the portfolio until acknowledged. ``closed_at`` is set when a
    later check finds the condition gone: the alert stays, marked back within bounds,
    until someone acknowledges it."""

    __tablename__ = "portfolio_alerts"
    __table_args__ = (sa.UniqueConstraint("account_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    period: Mapped[date]
    # What the check found, for the page and the notification: {"kpis": [...], "dso": "45.0", "terms": 30}...
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()
