"""Credit note for a service credit: what the seller credits the buyer because an SLA
missed its target in a month, how the amount was computed line by line, the caps that
reduced it, and the invoice it is set against (or none: a standalone note).

Words: a credit note is 贷项通知单 and Hóa đơn điều chỉnh giảm (the glossary's); a
service credit is 服务抵扣 in Chinese, the deduction from the service fees that a
Chinese contract clerk writes in an SLA clause (not 积分, points, nor 赔偿, damages),
and tín dụng dịch vụ in Vietnamese, as Vietnamese SLAs write it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import pydantic
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from docgen.formatting import format_month, quantize_money
from docgen.i18n import Localized, _l
from docgen.kinds import common
from docgen.kinds.invoice import BillingParty, Credit, InvoiceContract, party_fields, percent
from docgen.layout import Column, Field, Layout
from docgen.schema import Amount, Code, Currency, Day, DocumentInput, FreeText, LocalText, Record


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PydanticCustomError("amount", "must be more than zero")
    return value


Positive = Annotated[Amount, AfterValidator(_positive)]
NotNegative = Credit  # an invoice's credit: not negative


class CreditedInvoice(Record):
    number: Code
    date: Day


class Sla(Record):
    """The SLA that missed its target, with the month's figures."""

    code: Code
    name: LocalText
    unit: LocalText | None = None  # per language: "days", 天, ngày
    target: Amount
    actual: Amount


class CreditLine(Record):
    """A covered scope line: its monthly charge and the SLA's percentage of it."""

    service: LocalText
    monthly_charge: NotNegative
    percent: NotNegative  # 5 is 5 %

    @property
    def rate(self) -> Decimal:
        return self.percent / 100


class Cap(Record):
    """A contract cap that reduced the credit: the month's or the contract year's."""

    cap: Literal["month", "year"]
    reduction: NotNegative


class CreditNote(DocumentInput):
    kind: Literal["credit_note"]
    note_currency: Currency = pydantic.Field(alias="currency")
    period: Day  # the first day of the month the SLA missed its target in
    contract: InvoiceContract | None = None
    provider: BillingParty
    client: BillingParty
    invoice: CreditedInvoice | None = None
    sla: Sla
    lines: list[CreditLine] = pydantic.Field(min_length=1)
    caps: list[Cap] = []
    amount: Positive
    reason: FreeText | None = None  # why finance changed the computed amount

    @property
    def currency(self) -> str:
        return self.note_currency

    def line_amount(self, line: CreditLine) -> Decimal:
        return quantize_money(line.monthly_charge * line.rate, self.currency)

    @property
    def subtotal(self) -> Decimal:
        return sum((self.line_amount(line) for line in self.lines), Decimal(0))

    @property
    def computed(self) -> Decimal:
        return self.subtotal - sum((quantize_money(cap.reduction, self.currency) for cap in self.caps), Decimal(0))

    @property
    def credited(self) -> Decimal:
        return quantize_money(self.amount, self.currency)


CAP_LABELS = {"month": _l("Less: monthly cap on service credits"), "year": _l("Less: yearly cap on service credits")}


def title(document: CreditNote) -> Localized:
    return lambda lang: lang.pgettext("document title", "Credit note")


def subject(document: CreditNote) -> Localized:
    return _l("Service credit for %(month)s", month=_month(document))


def _month(document: CreditNote) -> Localized:
    return lambda lang: format_month(document.period.year, document.period.month, lang.code)


def build(layout: Layout, document: CreditNote) -> None:
    layout.title(title(document), _l("No. %(number)s", number=document.number))
    layout.fields(_particulars(document))
    for role, party in ((_l("Seller"), document.provider), (_l("Buyer"), document.client)):
        layout.fields(party_fields(role, party))

    layout.heading(_l("Service credit"))
    sla = document.sla
    layout.paragraph(_l(
        "Under the service level agreement, %(sla)s missed its target in %(month)s: target %(target)s, actual "
        "%(actual)s. The contract credits a share of the monthly charge of the services it covers.",
        sla=lambda lang: f"{sla.code} {sla.name(lang)}", month=_month(document),
        target=lambda lang: _figure(lang.number(sla.target), sla.unit, lang),
        actual=lambda lang: _figure(lang.number(sla.actual), sla.unit, lang),
    ))
    layout.table(_columns(document), document.lines, totals=_totals(document), numbered=True)
    layout.fields([Field(_l("Amount credited (in words)"), lambda lang: lang.words(document.credited))])
    if document.reason is not None:
        layout.fields([Field(_l("Reason for the adjustment"), document.reason)])

    if document.invoice is not None:
        layout.paragraph(_l("This credit note reduces the amount due on invoice %(invoice)s of %(date)s.",
                            invoice=document.invoice.number, date=lambda lang: lang.date(document.invoice.date)))
    else:
        layout.paragraph(_l("This credit note is set against the next invoice of the contract, or refunded at the "
                            "buyer's request."))


def _figure(number: str, unit: LocalText | None, lang) -> str:
    """A KPI's figure with its unit: ``99.5%``, ``5 days``, ``5 天``."""
    written = "" if unit is None else unit(lang)
    return f"{number}{written}" if written in ("", "%") else f"{number} {written}"


def _particulars(document: CreditNote) -> list[Field]:
    fields = [
        Field(_l("Credit note number"), common.code(document.number)),
        Field(_l("Issue date"), lambda lang: lang.date(document.date)),
        Field(_l("Service month"), _month(document)),
    ]
    if document.contract is not None:
        fields.append(Field(_l("Contract"), common.code(document.contract.number)))
    if document.invoice is not None:
        fields.append(Field(_l("Invoice credited"), common.code(document.invoice.number)))
    fields.append(Field(_l("Currency"), lambda lang: document.currency))
    return fields


def _columns(document: CreditNote) -> list[Column]:
    return [
        Column(_l("Service"), lambda line, lang: line.service(lang), weight=4.4),
        Column(common.in_currency(_l("Monthly charge")), lambda line, lang: lang.amount(line.monthly_charge),
               weight=2.2, numeric=True),
        Column(_l("Service credit rate"), lambda line, lang: percent(line.rate, lang), weight=1.6, numeric=True),
        Column(common.in_currency(_l("Amount")), lambda line, lang: lang.amount(document.line_amount(line)),
               weight=2.2, numeric=True),
    ]


def _totals(document: CreditNote) -> list[tuple[Localized, Localized]]:
    totals: list[tuple[Localized, Localized]] = [(_l("Subtotal"), lambda lang: lang.money(document.subtotal))]
    for cap in document.caps:
        if cap.reduction > 0:
            totals.append((CAP_LABELS[cap.cap], lambda lang, cap=cap: "−" + lang.money(cap.reduction)))
    if document.credited != document.computed:
        difference = document.credited - document.computed
        totals.append((_l("Adjustment"), lambda lang: ("+" if difference > 0 else "−") + lang.money(abs(difference))))
    totals.append((_l("Amount credited"), lambda lang: lang.money(document.credited)))
    return totals


KIND = common.Kind(name="credit_note", model=CreditNote, title=title, subject=subject, build=build, contract=False)
