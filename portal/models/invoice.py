"""Invoices imported from the billing system, their lines and credit notes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, Money, TimestampMixin, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.account import Account


class InvoiceStatus(enum.StrEnum):
    """Stored status. ``overdue`` is not stored: it follows from the due date in the
    account's time zone (see ``portal.billing``)."""

    ISSUED = "issued"
    PAID = "paid"
    DISPUTED = "disputed"
    CREDITED = "credited"


class Invoice(AccountOwned, TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # Keyset pagination and the list's filters: newest first within an account.
        sa.Index("ix_invoices_account_issue", "account_id", "issue_date", "id"),
        # Open items, overdue and ageing: unpaid invoices by due date.
        sa.Index("ix_invoices_account_status_due", "account_id", "status", "due_date"),
        # Totals per currency of the list, answered from the index alone on PostgreSQL.
        sa.Index("ix_invoices_account_currency", "account_id", "currency",
                 postgresql_include=["total", "status", "due_date"]),
        # The few held invoices: what the client's totals leave out (``portal.billing.service``).
        sa.Index("ix_invoices_held", "account_id", "currency", "status",
                 sqlite_where=sa.text("held_at IS NOT NULL"), postgresql_where=sa.text("held_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The composite indexes above all lead with account_id: no index of its own.
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id", ondelete="SET NULL"), index=True)
    service_location: Mapped[str] = mapped_column(sa.String(2))
    period_start: Mapped[date]
    period_end: Mapped[date]
    issue_date: Mapped[date]
    due_date: Mapped[date]
    currency: Mapped[str] = mapped_column(sa.String(3))
    subtotal: Mapped[Decimal] = mapped_column(Money())
    tax: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money())
    po_number: Mapped[str | None] = mapped_column(sa.String(60), index=True)
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus), default=InvoiceStatus.ISSUED)
    paid_on: Mapped[date | None]
    # While disputed: the status to return to when the dispute is settled.
    status_before_dispute: Mapped[InvoiceStatus | None] = mapped_column(
        str_enum(InvoiceStatus, name="status_before_dispute")
    )
    # Held for finance's review since then: a line's unit price differs from the contract's
    # (priced by the invoice import, ``portal.billing.imports``, with the contract's price on
    # the period's first day from ``portal.volumes.service.unit_price_on``; released by
    # ``portal.billing.service.release_invoice``). The client does not see a held invoice anywhere.
    held_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    credit_notes: Mapped[list[CreditNote]] = relationship(back_populates="invoice", order_by="CreditNote.issue_date")

    @hybrid_property
    def client_visible(self) -> bool:
        """The client sees an invoice unless it is held for finance's review."""
        return self.held_at is None

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.held_at.is_(None)

    @property
    def price_variances(self) -> list[InvoiceLine]:
        """The lines whose unit price is not the contract's."""
        return [line for line in self.lines if line.price_variance]


class InvoiceLine(AccountOwned, Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    # The contract's scope line the line bills, when the billing system names it, and
    # the line's unit price in force for the invoice's period (None: none in force).
    scope_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scope_lines.id", ondelete="SET NULL"))
    expected_unit_price: Mapped[Decimal | None] = mapped_column(Money())

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def price_variance(self) -> bool:
        return self.scope_line_id is not None and self.expected_unit_price != self.unit_price

    @property
    def expected_amount(self) -> Decimal | None:
        return None if self.expected_unit_price is None else self.quantity * self.expected_unit_price


class CreditNote(AccountOwned, Base):
    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # None: a standalone note (a service credit no open invoice had room for).
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    issue_date: Mapped[date]
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(Money())  # positive: the amount credited, tax included
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invoice: Mapped[Invoice | None] = relationship(back_populates="credit_notes")


class PurchaseOrder(AccountOwned, Base):
    """A client purchase order that invoices draw down (by ``po_number``)."""

    __tablename__ = "purchase_orders"
    __table_args__ = (sa.UniqueConstraint("account_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(sa.String(60))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(Money())
    issued_on: Mapped[date]
    valid_until: Mapped[date | None]


class RevenueForecast(AccountOwned, Base):
    """The account manager's forecast of billed revenue for one month."""

    __tablename__ = "revenue_forecasts"
    __table_args__ = (sa.UniqueConstraint("account_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # the first day of the month
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(Money())
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InvoiceTotal(AccountOwned, Base):
    """How many invoices an account has and what they add up to, per currency and
    stored status: the totals above the invoice list without reading the account's
    invoices on every page.

    Kept by the database itself, by triggers on ``invoices`` (migration 0007), so every
    write counts: the ORM, Core, COPY, an operator's SQL. The application only reads it.
    Rows are not deleted when their count drops to zero; readers skip those. (On SQLite,
    a later migration that rebuilds ``invoices`` through ``batch_alter_table`` drops the
    triggers with the old table and must create them again.)
    """

    __tablename__ = "invoice_totals"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus), primary_key=True)
    invoices: Mapped[int] = mapped_column(sa.BigInteger)
    total: Mapped[Decimal] = mapped_column(Money())
