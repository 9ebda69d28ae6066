"""Service credits: what the firm owes the client for a month in which an SLA KPI missed
its target, as the contract's rule computes it, until finance approves or waives it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, Money, TimestampMixin, str_enum
from portal.models.contract import Contract, Kpi
from portal.models.invoice import CreditNote
from portal.models.user import User


class ServiceCreditStatus(enum.StrEnum):
    PROPOSED = "proposed"  # computed, waiting for finance: the firm's only
    APPROVED = "approved"  # a credit note is issued: the client sees it
    WAIVED = "waived"  # finance decided no credit is due: the firm's only


class ServiceCredit(AccountOwned, TimestampMixin, Base):
    """One SLA KPI's credit for one month (``period``, the first day of the month).

    ``calculation`` keeps how ``computed_amount`` came about, line by line: each covered
    scope line's monthly charge, the percentage and the amount, then each cap with what
    it allowed and what it took off (``portal.credits.service``). A proposed credit is
    computed again when the month is run again; a decided one never changes."""

    __tablename__ = "service_credits"
    __table_args__ = (
        sa.UniqueConstraint("kpi_id", "period"),
        sa.Index("ix_service_credits_account_period", "account_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("kpis.id", ondelete="CASCADE"))
    period: Mapped[date]
    status: Mapped[ServiceCreditStatus] = mapped_column(str_enum(ServiceCreditStatus),
                                                        default=ServiceCreditStatus.PROPOSED)
    currency: Mapped[str] = mapped_column(sa.String(3))
    calculation: Mapped[dict[str, Any]]
    computed_amount: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())  # what is credited: the computed amount unless adjusted
    # Why the amount differs from the computed one (an adjustment), or why it is waived.
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    credit_note_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_notes.id", ondelete="SET NULL"))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id", ondelete="SET NULL"))

    contract: Mapped[Contract] = relationship()
    kpi: Mapped[Kpi] = relationship()
    decided_by: Mapped[User | None] = relationship()
    credit_note: Mapped[CreditNote | None] = relationship()

    @property
    def adjusted(self) -> bool:
        return self.amount != self.computed_amount

    @hybrid_property
    def client_visible(self) -> bool:
        """The client sees a credit once approved: a proposal or a waiver is the firm's."""
        return self.status is ServiceCreditStatus.APPROVED

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.status == ServiceCreditStatus.APPROVED
