"""Statement of account: the client's open invoices on a date, per currency, with the
days each is overdue, its ageing bucket, the disputed ones marked, and the total due.

Ageing follows the portal's buckets: not yet due, 1-30, 31-60, 61-90 and over 90 days
past the due date, counted on the statement's date. Amounts of different currencies
are never added together: each currency has its own table, ageing row and total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from babel.dates import format_date
from pydantic import AfterValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.formatting import LOCALES, WORDS_LIMIT, quantize_money
from docgen.i18n import N_, Lang, Localized, _l
from docgen.kinds import common
from docgen.kinds.invoice import BillingParty, party_fields
from docgen.layout import Column, Field, Layout
from docgen.schema import Amount, Code, Currency, Day, DocumentInput, Record

# A disputed item's mark, after its number; the legend under its table says what it means.
DISPUTED_MARK = "*"
NON_BREAKING_HYPHEN = "\u2011"
TABLE_DATES = {"en": "d MMM y", "zh": "y-MM-dd", "vi": "dd/MM/y"}
BUCKETS = {
    "current": N_("Not yet due"),
    "1-30": N_("1-30 days"),
    "31-60": N_("31-60 days"),
    "61-90": N_("61-90 days"),
    "90+": N_("Over 90 days"),
}


def bucket(days_overdue: int) -> str:
    """The ageing bucket of an item ``days_overdue`` days past its due date (0 or less: not due)."""
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("amount", "must not be negative")
    return value


Positive = Annotated[Amount, AfterValidator(_not_negative)]


class OpenItem(Record):
    """An invoice not yet settled: its total and what was paid or credited on it."""

    invoice: Code
    issue_date: Day
    due_date: Day
    currency: Currency
    total: Positive
    paid: Positive = Decimal(0)
    disputed: bool = False

    @field_validator("paid")
    @classmethod
    def _at_most_the_total(cls, paid: Decimal, info: ValidationInfo) -> Decimal:
        total = info.data.get("total")
        if total is not None and paid > total:
            raise PydanticCustomError("amount", "more than the total")
        return paid

    @property
    def open_amount(self) -> Decimal:
        return quantize_money(self.total, self.currency) - quantize_money(self.paid, self.currency)


@dataclasses.dataclass(frozen=True)
class Aged:
    """An open item on the statement's date: how many days overdue, in which bucket."""

    item: OpenItem
    days_overdue: int

    @property
    def bucket(self) -> str:
        return bucket(self.days_overdue)


@dataclasses.dataclass(frozen=True)
class Ageing:
    """One currency's open amounts by bucket, and their sum."""

    currency: str
    buckets: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))


def _totals_fit(items: list[OpenItem]) -> list[OpenItem]:
    for currency in {item.currency for item in items}:
        if sum(item.open_amount for item in items if item.currency == currency) >= WORDS_LIMIT:
            raise PydanticCustomError("total", f"total due in {currency} too large")
    return items


class StatementCredit(Record):
    """A credit note set against no invoice: in the buyer's favour."""

    number: Code
    date: Day
    currency: Currency
    amount: Positive


class Statement(DocumentInput):
    kind: Literal["statement"]
    provider: BillingParty
    client: BillingParty
    items: Annotated[list[OpenItem], AfterValidator(_totals_fit)] = []
    credits: list[StatementCredit] = []

    def aged(self, currency: str) -> list[Aged]:
        """The items in ``currency``, oldest due date first, aged on the statement's date."""
        items = sorted((i for i in self.items if i.currency == currency), key=lambda i: (i.due_date, i.invoice))
        return [Aged(item, max((self.date - item.due_date).days, 0)) for item in items]

    @property
    def currencies(self) -> list[str]:
        return sorted({item.currency for item in self.items})

    def ageing(self, currency: str) -> Ageing:
        buckets = dict.fromkeys(BUCKETS, Decimal(0))
        for aged in self.aged(currency):
            buckets[aged.bucket] += aged.item.open_amount
        return Ageing(currency, buckets)


def title(document: Statement) -> Localized:
    return _l("Statement of account")


def subject(document: Statement) -> Localized:
    return _l("Open items on %(date)s", date=lambda lang: lang.date(document.date))


def build(layout: Layout, document: Statement) -> None:
    layout.title(title(document), _l("No. %(number)s", number=document.number))
    layout.fields([Field(_l("Statement date"), lambda lang: lang.date(document.date))])
    for role, party in ((_l("Buyer"), document.client), (_l("Seller"), document.provider)):
        layout.fields(party_fields(role, party))
    if not document.items:
        layout.paragraph(_l("Nothing is open on %(date)s.", date=lambda lang: lang.date(document.date)))
        _credits(layout, document)
        return
    layout.paragraph(_l("The invoices below are open on %(date)s.", date=lambda lang: lang.date(document.date)))
    for currency in document.currencies:
        total = document.ageing(currency).total
        layout.heading(_l("Open items in %(currency)s", currency=currency))
        aged = document.aged(currency)
        # The total under the open amounts, which are headed with their currency.
        layout.table(_item_columns(currency), aged,
                     totals=[(_l("Total due"), lambda lang, c=currency, t=total: in_currency(lang, c).amount(t))])
        if any(each.item.disputed for each in aged):
            layout.paragraph(_l("%(mark)s Disputed: the invoice stays open until the dispute is settled.",
                                mark=DISPUTED_MARK))

    layout.heading(_l("Ageing"))
    layout.table(AGEING_COLUMNS, [document.ageing(currency) for currency in document.currencies])
    layout.fields([
        Field(_l("Total due in %(currency)s (in words)", currency=currency),
              lambda lang, c=currency, t=document.ageing(currency).total: in_currency(lang, c).words(t))
        for currency in document.currencies
    ])
    _credits(layout, document)


def _credits(layout: Layout, document: Statement) -> None:
    """The credit notes in the buyer's favour, which no open item shows."""
    if not document.credits:
        return
    layout.heading(_l("Credit notes in the buyer's favour"))
    layout.paragraph(_l("Set against no invoice yet: they reduce the next invoice, or are refunded on request."))
    layout.table(CREDIT_COLUMNS, document.credits)


def in_currency(lang: Lang, currency: str) -> Lang:
    """``lang`` writing amounts of ``currency``: a statement holds several."""
    return dataclasses.replace(lang, currency=currency)


def _headed(label: str, currency: str) -> Localized:
    """A money column's label naming its currency: ``Open amount (CNY)``."""
    return _l("%(label)s (%(currency)s)", label=_l(label), currency=currency)


def table_date(day: date, lang: Lang) -> str:
    """A date in the items' narrow columns, whole on one line and as each reader's
    accounts write it: ``13 Sep 2026``, ``2026-09-13``, ``13/09/2026``."""
    return format_date(day, TABLE_DATES[lang.code], locale=LOCALES[lang.code])


def _item_columns(currency: str) -> Sequence[Column]:
    """Eight figures a row would not fit A4 with a column of remarks: a disputed item's
    number carries a mark instead, which the legend under the table explains."""

    def money(value: Callable[[OpenItem], Decimal]) -> Callable[[Aged, Lang], str]:
        return lambda aged, lang: in_currency(lang, currency).amount(value(aged.item))

    # Weights in millimetres of the 170 mm of text: each column as wide as its widest
    # figure (an 11-digit VND amount, a 16-character invoice number and its mark) and its
    # margins.
    return (
        Column(_l("Invoice number"), _marked_number, weight=33),
        Column(_l("Issue date"), lambda aged, lang: table_date(aged.item.issue_date, lang), weight=22, numeric=True),
        Column(_l("Due date"), lambda aged, lang: table_date(aged.item.due_date, lang), weight=22, numeric=True),
        Column(_l("Days overdue"), lambda aged, lang: lang.number(Decimal(aged.days_overdue)), weight=16.4,
               numeric=True),
        Column(_headed(N_("Total"), currency), money(lambda item: item.total), weight=25.5, numeric=True),
        Column(_headed(N_("Paid or credited"), currency), money(lambda item: item.paid), weight=25.5, numeric=True),
        # Last: the total due stands under it.
        Column(_headed(N_("Open amount"), currency), money(lambda item: item.open_amount), weight=25.6, numeric=True),
    )


def _marked_number(aged: Aged, lang: Lang) -> str:
    # A no-break space: the mark never starts a line of its own.
    return f"{aged.item.invoice}\u00a0{DISPUTED_MARK}" if aged.item.disputed else aged.item.invoice


def _bucket_label(name: str) -> Localized:
    """A bucket's name with non-breaking hyphens: a narrow heading wraps at its spaces,
    never inside ``1-30``."""
    return lambda lang: lang.gettext(BUCKETS[name]).replace("-", NON_BREAKING_HYPHEN)


def _bucket_column(name: str) -> Column:
    return Column(_bucket_label(name), lambda row, lang: in_currency(lang, row.currency).amount(row.buckets[name]),
                  weight=25.5, numeric=True)


# Millimetres again: the currency (as wide as its heading's longest word), then six
# columns of amounts as wide as an 11-digit one.
AGEING_COLUMNS = (
    Column(_l("Currency"), lambda row, lang: row.currency, weight=17),
    *(_bucket_column(name) for name in BUCKETS),
    Column(_l("Total due"), lambda row, lang: in_currency(lang, row.currency).amount(row.total), weight=25.5,
           numeric=True),
)


CREDIT_COLUMNS = (
    Column(_l("Credit note"), lambda note, lang: note.number, weight=40),
    Column(_l("Issue date"), lambda note, lang: table_date(note.date, lang), weight=30, numeric=True),
    Column(_l("Currency"), lambda note, lang: note.currency, weight=20),
    Column(_l("Amount"), lambda note, lang: in_currency(lang, note.currency).amount(note.amount), weight=40,
           numeric=True),
)


KIND = common.Kind(name="statement", model=Statement, title=title, subject=subject, build=build, contract=False)
