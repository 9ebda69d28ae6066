"""Blocks that several kinds share: parties, priced tables, signatures, contract heads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from docgen.formatting import quantize_money
from docgen.i18n import Localized, _l
from docgen.layout import Column, Field, Layout, Signatory, Styles
from docgen.schema import Contract, ContractDocument, DocumentInput, Party
from docgen.typesetting import keep_whole


@dataclass(frozen=True)
class Kind:
    """A kind of document: how its input is validated and how it is written.

    ``contract`` kinds follow contract conventions: Vietnamese national header,
    parties named Bên A/Bên B, dates written ``ngày 1 tháng 2 năm 2027``.
    """

    name: str
    model: type[DocumentInput]
    title: Callable[[Any], Localized]
    subject: Callable[[Any], Localized]
    build: Callable[[Layout, Any], None]
    contract: bool


def client_role(contract: bool) -> Localized:
    """The client's name in a document: 甲方 in Chinese; Bên A in Vietnamese contracts."""
    if contract:
        return lambda lang: lang.pgettext("contract party", "Client")
    return lambda lang: lang.pgettext("plan party", "Client")


def provider_role(contract: bool) -> Localized:
    """The provider's name in a document: 乙方 in Chinese; Bên B in Vietnamese contracts."""
    if contract:
        return lambda lang: lang.pgettext("contract party", "Provider")
    return lambda lang: lang.pgettext("plan party", "Provider")


def contract_opening(layout: Layout, document: ContractDocument, title: Localized, preamble: str) -> None:
    """The top of a contract document: national header (Vietnamese), title and number,
    the preamble naming the contract and the date, then the parties.

    ``preamble`` is a message (marked with ``N_``) with ``%(contract)s`` and ``%(date)s``.
    """
    if any(lang.code == "vi" for lang in layout.langs):
        layout.paragraph(_l("SOCIALIST REPUBLIC OF VIETNAM"), Styles.NATIONAL_HEADER)
        layout.paragraph(_l("Independence - Freedom - Happiness"), Styles.NATIONAL_MOTTO)
    layout.title(title, _l("No. %(number)s", number=document.number))
    layout.paragraph(
        _l(
            preamble,
            contract=contract_reference(document.contract),
            date=lambda lang: lang.date(document.date),
        )
    )
    parties(layout, document, contract=True)


def contract_reference(contract: Contract) -> Localized:
    """The contract a document rests on: ``Master Services Agreement No. MSA-2024-018``."""
    if contract.signed_on is None:
        return _l("%(title)s No. %(number)s", title=contract.title, number=contract.number)
    return _l(
        "%(title)s No. %(number)s of %(signed_on)s",
        title=contract.title,
        number=contract.number,
        signed_on=lambda lang: lang.date(contract.signed_on),
    )


def parties(layout: Layout, document: DocumentInput, contract: bool) -> None:
    """Name both parties, the client first (Party A), with address and representative."""
    for role, party in ((client_role(contract), document.client), (provider_role(contract), document.provider)):
        fields = [Field(role, party.name)]
        if party.address is not None:
            fields.append(Field(_l("Address"), party.address))
        if party.representative is not None:
            fields.append(Field(_l("Authorized representative"), _representative(party)))
        layout.fields(fields)


def signatures(layout: Layout, document: DocumentInput, contract: bool) -> None:
    """Signature blocks for the client (left) and the provider (right)."""
    layout.signatures(
        [
            Signatory(role, party.name, party.representative, party.title)
            for role, party in (
                (client_role(contract), document.client),
                (provider_role(contract), document.provider),
            )
        ]
    )


def priced_table(
    layout: Layout,
    columns: Sequence[Column],
    items: Sequence[Any],
    total_label: Localized,
) -> None:
    """A table of priced items (``.amount``), its total, and the total in words.

    The total is the sum of the amounts as shown (each rounded half-up to the
    currency's decimals), so that the column adds up.
    """
    currency = layout.primary.currency
    total = sum((quantize_money(item.amount, currency) for item in items), Decimal(0))
    layout.table(columns, items, totals=[(total_label, lambda lang: lang.money(total))], numbered=True)
    layout.fields([Field(_l("Total (in words)"), lambda lang: lang.words(total))])


def line_columns(*leading: Column) -> list[Column]:
    """Columns of priced lines (``Line``): description, quantity, unit, prices."""
    return [
        *leading,
        Column(_l("Description"), lambda line, lang: line.description(lang), weight=4.4, per_language=True),
        Column(_l("Quantity"), lambda line, lang: lang.number(line.quantity), weight=1.6, numeric=True),
        Column(_l("Unit"), lambda line, lang: line.unit(lang), weight=1.6),
        Column(
            in_currency(_l("Unit price")), lambda line, lang: lang.amount(line.unit_price), weight=1.8, numeric=True
        ),
        Column(in_currency(_l("Amount")), lambda line, lang: lang.amount(line.amount), weight=2.0, numeric=True),
    ]


def in_currency(label: Localized) -> Localized:
    """A column label naming the document's currency: ``Amount (CN¥)``, ``金额（¥）``."""
    return _l("%(label)s (%(currency)s)", label=label, currency=lambda lang: lang.currency_symbol)


def _representative(party: Party) -> Localized:
    """The representative's name (never broken across lines) and title."""
    name = whole(party.representative)
    if party.title is None:
        return name
    return _l("%(name)s, %(title)s", name=name, title=party.title)


def whole(text: Localized) -> Localized:
    """A person's name or a code, which no line may break."""
    return lambda lang: keep_whole(text(lang))
