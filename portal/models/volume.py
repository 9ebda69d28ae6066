"""Monthly actual volumes of a contract's scope lines, against the contracted quantity."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, utcnow
from portal.models.contract import ScopeLine


class ScopeLineVolume(AccountOwned, Base):
    """How much of a scope line's service was delivered in one month (in the line's
    unit), as the operations systems measured it. One per line and month: an import
    of the same line and month replaces it."""

    __tablename__ = "scope_line_volumes"
    __table_args__ = (sa.UniqueConstraint("scope_line_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_line_id: Mapped[int] = mapped_column(sa.ForeignKey("scope_lines.id", ondelete="CASCADE"))
    period: Mapped[date]  # the first day of the month
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    scope_line: Mapped[ScopeLine] = relationship()
