"""Invoice: what the seller bills the buyer for a period, its lines, tax and total (also
in words), the credit notes against it, and how to pay (bank details, terms).

In Chinese and Vietnamese the document is a commercial invoice (商业发票, Hóa đơn
thương mại), never a bare 发票 or Hóa đơn: in both countries those words name the
tax invoice that only the tax authority's system issues (the fapiao; the e-invoice of
Decree 123/2020), which an accountant needs to book the cost and which this document
is not. A note in those languages says so.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import pydantic
from pydantic import AfterValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.formatting import WORDS_LIMIT, format_month, quantize_money
from docgen.i18n import Lang, Localized, _l
from docgen.kinds import common
from docgen.layout import Column, Field, Layout
from docgen.typesetting import keep_whole
from docgen.schema import (
    Amount,
    Code,
    Currency,
    Day,
    DocumentInput,
    FreeText,
    Items,
    LocalText,
    Party,
    Record,
)

TAX_NOTE_LANGUAGES = ("zh", "vi")


def _rate(value: Decimal) -> Decimal:
    if not 0 <= value < 1:
        raise PydanticCustomError("rate", "a share from 0 to 1 (0.06 is 6%)")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("amount", "must not be negative")
    return value


Rate = Annotated[Amount, AfterValidator(_rate)]
Credit = Annotated[Amount, AfterValidator(_not_negative)]


class BillingParty(Party):
    """A party as an invoice names it: with its tax or company registration number."""

    tax_id: Code | None = None


class InvoiceContract(Record):
    number: Code
    title: FreeText | None = None


class InvoiceLine(Record):
    """A billed line: quantity x unit price; the unit may be left out (a fixed fee)."""

    description: FreeText
    quantity: Amount
    unit: LocalText | None = None
    unit_price: Amount

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


class CreditNote(Record):
    number: Code
    date: Day
    amount: Credit
    reason: FreeText | None = None


class BankDetails(Record):
    """Where the buyer pays: given per currency by whoever issues the invoice."""

    account_name: LocalText
    bank_name: LocalText
    account_number: Code
    branch: LocalText | None = None
    bank_address: LocalText | None = None
    swift: Code | None = None
    iban: Code | None = None


class Invoice(DocumentInput):
    kind: Literal["invoice"]
    invoice_currency: Currency = pydantic.Field(alias="currency")
    due_date: Day
    period_start: Day | None = None
    period_end: Day | None = pydantic.Field(None, validate_default=True)
    po_number: Code | None = None
    contract: InvoiceContract | None = None
    provider: BillingParty
    client: BillingParty
    lines: Items[InvoiceLine] = pydantic.Field(min_length=1)
    tax_rate: Rate | None = None
    tax: Amount | None = pydantic.Field(None, validate_default=True)
    credit_notes: list[CreditNote] = []
    bank_details: BankDetails | None = None
    payment_terms: FreeText | None = None

    @property
    def currency(self) -> str:
        return self.invoice_currency

    @field_validator("due_date")
    @classmethod
    def _due_after_issue(cls, due_date: date, info: ValidationInfo) -> date:
        issued = info.data.get("date")
        if issued is not None and due_date < issued:
            raise PydanticCustomError("date_order", "before date (the issue date)")
        return due_date

    @field_validator("period_end")
    @classmethod
    def _period_both_ends(cls, period_end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("period_start")
        if (period_end is None) != (start is None) and "period_start" in info.data:
            raise PydanticCustomError("period", "give both ends of the period, or neither")
        if period_end is not None and start is not None and period_end < start:
            raise PydanticCustomError("date_order", "before period_start")
        return period_end

    @field_validator("tax")
    @classmethod
    def _total_fits(cls, tax: Decimal | None, info: ValidationInfo) -> Decimal | None:
        data = info.data
        if {"invoice_currency", "lines", "tax_rate"} <= data.keys():
            subtotal = _subtotal(data["lines"], data["invoice_currency"])
            if abs(subtotal + _tax(subtotal, tax, data["tax_rate"], data["invoice_currency"])) >= WORDS_LIMIT:
                raise PydanticCustomError("total", "the total with tax is too large")
        return tax

    @field_validator("credit_notes")
    @classmethod
    def _credits_fit(cls, notes: list[CreditNote], info: ValidationInfo) -> list[CreditNote]:
        data = info.data
        if notes and {"invoice_currency", "lines", "tax", "tax_rate"} <= data.keys():
            currency = data["invoice_currency"]
            subtotal = _subtotal(data["lines"], currency)
            total = subtotal + _tax(subtotal, data["tax"], data["tax_rate"], currency)
            if _credited(notes, currency) > total:
                raise PydanticCustomError("credit", "they credit more than the invoice total")
        return notes

    # -- the figures, each rounded to the currency's decimals as shown -----------------

    @property
    def subtotal(self) -> Decimal:
        return _subtotal(self.lines, self.currency)

    @property
    def tax_amount(self) -> Decimal:
        return _tax(self.subtotal, self.tax, self.tax_rate, self.currency)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_amount

    @property
    def credited(self) -> Decimal:
        return _credited(self.credit_notes, self.currency)

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.credited


def _subtotal(lines: list[InvoiceLine], currency: str) -> Decimal:
    """The lines as shown (each rounded half-up), added: the column adds up."""
    return sum((quantize_money(line.amount, currency) for line in lines), Decimal(0))


def _tax(subtotal: Decimal, tax: Decimal | None, rate: Decimal | None, currency: str) -> Decimal:
    """The tax as given (the billing system's figure), else the rate on the subtotal."""
    if tax is not None:
        return quantize_money(tax, currency)
    if rate is not None:
        return quantize_money(subtotal * rate, currency)
    return Decimal(0)


def _credited(notes: list[CreditNote], currency: str) -> Decimal:
    return sum((quantize_money(note.amount, currency) for note in notes), Decimal(0))


def title(document: Invoice) -> Localized:
    """"Invoice", 商业发票, Hóa đơn thương mại (see the module's docstring)."""
    return lambda lang: lang.pgettext("document title", "Invoice")


def subject(document: Invoice) -> Localized:
    if document.period_start is None:
        return _l("Invoice %(number)s", number=document.number)
    return _period(document)


def build(layout: Layout, document: Invoice) -> None:
    layout.title(title(document), _l("No. %(number)s", number=document.number))
    layout.fields(_particulars(document))
    for role, party in ((_l("Seller"), document.provider), (_l("Buyer"), document.client)):
        layout.fields(party_fields(role, party))

    layout.heading(_l("Services billed"))
    layout.table(_line_columns(document, layout), document.lines, totals=_totals(document), numbered=True)
    layout.fields([Field(_l("Total (in words)"), lambda lang: lang.words(document.total))])

    if document.credit_notes:
        layout.heading(_l("Credit notes"))
        layout.table(CREDIT_NOTE_COLUMNS, document.credit_notes, totals=[
            (_l("Total credited"), lambda lang: lang.money(document.credited)),
            (_l("Amount due"), lambda lang: lang.money(document.amount_due)),
        ])

    if document.bank_details is not None:
        layout.heading(_l("Bank details"))
        layout.fields(_bank(document.bank_details), keep_together=True)

    layout.heading(_l("Payment terms"))
    # The reference on a line of its own, where the payer copies it from whole.
    layout.fields([Field(_l("Payment reference"), common.code(document.number))])
    layout.numbered(_terms(document, layout))


def _particulars(document: Invoice) -> list[Field]:
    fields = [
        Field(_l("Invoice number"), common.code(document.number)),
        Field(_l("Issue date"), lambda lang: lang.date(document.date)),
        Field(_l("Due date"), lambda lang: lang.date(document.due_date)),
    ]
    if document.period_start is not None:
        fields.append(Field(_l("Billing period"), _period(document)))
    if document.po_number is not None:
        fields.append(Field(_l("Purchase order (PO)"), common.code(document.po_number)))
    if document.contract is not None:
        fields.append(Field(_l("Contract"), _contract(document.contract)))
    fields.append(Field(_l("Currency"), lambda lang: document.currency))
    return fields


def party_fields(role: Localized, party: BillingParty) -> list[Field]:
    """A seller's or buyer's lines: name, address, tax ID (the statement's too)."""
    fields = [Field(role, party.name)]
    if party.address is not None:
        fields.append(Field(_l("Address"), party.address))
    if party.tax_id is not None:
        fields.append(Field(_l("Tax ID"), common.code(party.tax_id)))
    return fields


def _period(document: Invoice) -> Localized:
    """The billing period: a calendar month by its name (``November 2026``,
    ``2026年11月``), as monthly invoices write it, else from one date to the other."""
    start, end = document.period_start, document.period_end
    if start.day == 1 and end.month == start.month and end.year == start.year and (end + timedelta(days=1)).day == 1:
        return lambda lang: format_month(start.year, start.month, lang.code)
    return _l(
        "%(start)s to %(end)s",
        start=lambda lang: lang.date(document.period_start),
        end=lambda lang: lang.date(document.period_end),
    )


def _contract(contract: InvoiceContract) -> Localized:
    """The contract by its number, then its title: right after the label, the number
    is never the piece a narrow column wraps."""
    if contract.title is None:
        return common.code(contract.number)
    return _l("%(number)s (%(title)s)", title=contract.title, number=keep_whole(contract.number))


def _line_columns(document: Invoice, layout: Layout) -> list[Column]:
    """Description, quantity, unit, prices; without a unit on any line, no unit column.
    Descriptions get a column per language only when some line has its own text in each
    (a billing system's one-language descriptions are not written twice)."""
    translated = any(len({line.description(lang) for lang in layout.langs}) > 1 for line in document.lines)
    columns = [
        Column(_l("Description"), lambda line, lang: line.description(lang), weight=4.4, per_language=translated),
        Column(_l("Quantity"), lambda line, lang: lang.number(line.quantity), weight=1.6, numeric=True),
        Column(_l("Unit"), common.unit, weight=1.6),
        Column(common.in_currency(_l("Unit price")), lambda line, lang: lang.amount(line.unit_price), weight=1.8,
               numeric=True),
        Column(common.in_currency(_l("Amount")), lambda line, lang: lang.amount(line.amount), weight=2.0,
               numeric=True),
    ]
    if all(line.unit is None for line in document.lines):
        del columns[2]
    return columns


def _totals(document: Invoice) -> list[tuple[Localized, Localized]]:
    if document.tax_rate is not None:
        tax_label = _l("Tax (%(rate)s)", rate=lambda lang: percent(document.tax_rate, lang))
    else:
        tax_label = _l("Tax")
    return [
        (_l("Subtotal"), lambda lang: lang.money(document.subtotal)),
        (tax_label, lambda lang: lang.money(document.tax_amount)),
        (_l("Total"), lambda lang: lang.money(document.total)),
    ]


def percent(rate: Decimal, lang: Lang) -> str:
    """A tax rate as the locale writes it: ``6%``, ``8,5%`` (Vietnamese)."""
    return lang.number((rate * 100).normalize()) + "%"


CREDIT_NOTE_COLUMNS = (
    Column(_l("Credit note"), lambda note, lang: note.number, weight=2),
    Column(_l("Date"), lambda note, lang: lang.short_date(note.date), weight=2, numeric=True),
    Column(_l("Reason"), lambda note, lang: "" if note.reason is None else note.reason(lang), weight=4.5,
           per_language=True),
    Column(common.in_currency(_l("Amount")), lambda note, lang: lang.amount(note.amount), weight=2, numeric=True),
)


def _bank(bank: BankDetails) -> list[Field]:
    fields = [
        Field(_l("Account name"), bank.account_name),
        Field(_l("Bank"), bank.bank_name),
    ]
    if bank.branch is not None:
        fields.append(Field(_l("Branch"), bank.branch))
    if bank.bank_address is not None:
        fields.append(Field(_l("Bank address"), bank.bank_address))
    fields.append(Field(_l("Account number"), common.code(bank.account_number)))
    for label, code in ((_l("SWIFT/BIC"), bank.swift), (_l("IBAN"), bank.iban)):
        if code is not None:
            fields.append(Field(label, lambda lang, code=code: code))
    return fields


def _terms(document: Invoice, layout: Layout) -> list[Localized]:
    days = (document.due_date - document.date).days
    terms = [] if document.payment_terms is None else [document.payment_terms]
    if document.amount_due > 0:
        terms.append(_l(
            "Please pay %(amount)s by %(date)s (%(days)s days from the issue date), quoting the payment reference.",
            amount=lambda lang: lang.money(document.amount_due),
            date=lambda lang: lang.date(document.due_date),
            days=str(days),
        ))
    else:
        terms.append(_l("Nothing is due on this invoice: its credit notes settle it."))
    if any(lang.code in TAX_NOTE_LANGUAGES for lang in layout.langs):
        terms.append(_l("This commercial invoice is not a tax invoice (a Chinese fapiao or a Vietnamese e-invoice); "
                        "where the law requires one, the tax invoice is issued separately."))
    return terms


KIND = common.Kind(name="invoice", model=Invoice, title=title, subject=subject, build=build, contract=False)
