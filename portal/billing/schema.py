"""What an invoice or credit note looks like coming in, from the billing system's CSV
files (``flask import invoices``) or its API calls (``POST /api/v1/invoices``): one set
of rules for both."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

CURRENCY_PATTERN = r"^[A-Z]{3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
# Amounts the money columns hold with room to spare (SQLite keeps 10^-4 units in 64 bits).
MAX_AMOUNT = Decimal("100000000000")  # 10^11
LINE_QUANTUM = Decimal("0.0001")  # line amounts are stored at 4 decimals; totals at the currency's


def _iso_day(value):
    """Dates are YYYY-MM-DD only: no times, no Unix timestamps."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("not a valid date (YYYY-MM-DD)")
    if isinstance(value, (int, float)):
        raise ValueError("not a valid date (YYYY-MM-DD)")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=16, decimal_places=4)]


class InvoiceLineIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    description: str = Field(min_length=1, max_length=500)
    quantity: Amount
    unit_price: Amount
    # The contract's scope line the line bills (its id, as GET /contracts/{id} gives it):
    # the line is then priced against the contract (``portal.volumes.service``).
    scope_line_id: int | None = Field(default=None, ge=1, lt=2**31)

    @field_validator("scope_line_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def amount(self) -> Decimal:
        """Quantity × unit price, rounded half-up to the stored scale (4 decimals)."""
        return (self.quantity * self.unit_price).quantize(LINE_QUANTUM, ROUND_HALF_UP)


class InvoiceIn(BaseModel):
    """One invoice (``kind="invoice"``) or credit note (``kind="credit_note"``, with
    ``credits`` naming the invoice it credits). Accounts and contracts are named by
    their names and numbers, as the billing system knows them."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    kind: Literal["invoice", "credit_note"] = "invoice"
    number: str = Field(min_length=1, max_length=40)
    account: str = Field(min_length=1, max_length=200)
    contract: str | None = Field(default=None, max_length=40)
    service_location: str | None = Field(default=None, pattern=COUNTRY_PATTERN)
    period_start: Day | None = None
    period_end: Day | None = None
    issue_date: Day
    due_date: Day | None = None
    currency: str = Field(pattern=CURRENCY_PATTERN)
    lines: list[InvoiceLineIn] = Field(default_factory=list, max_length=2000)
    tax: Amount = Decimal(0)
    po_number: str | None = Field(default=None, max_length=60)
    status: Literal["issued", "paid", "disputed", "credited"] = "issued"
    paid_on: Day | None = None
    credits: str | None = Field(default=None, max_length=40)  # credit notes: the invoice number
    amount: Amount | None = None  # credit notes
    reason: str = Field(default="", max_length=2000)

    @field_validator("po_number", "contract", "credits", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceIn:
        if self.kind == "invoice":
            missing = [name for name in ("service_location", "period_start", "period_end", "due_date")
                       if getattr(self, name) is None]
            if missing:
                raise ValueError(f"{missing[0]}: required for an invoice")
            if not self.lines:
                raise ValueError("lines: an invoice needs at least one line")
            if self.period_end < self.period_start:
                raise ValueError("period_end: before period_start")
            if self.due_date < self.issue_date:
                raise ValueError("due_date: before issue_date")
            if self.status == "paid" and self.paid_on is None:
                raise ValueError("paid_on: required when the status is paid")
        else:
            if not self.credits:
                raise ValueError("credits: a credit note names the invoice it credits")
            if self.amount is None and not self.lines:
                raise ValueError("amount: a credit note needs an amount or lines")
        return self

    @property
    def subtotal(self) -> Decimal:
        """Each line at the stored scale (4 decimals), summed: the stored rule."""
        return sum((line.amount for line in self.lines), Decimal(0))
