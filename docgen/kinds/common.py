"""Blocks that several kinds share: parties, priced tables, signatures, contract heads,
and the conventions each reader expects of them (the Vietnamese place and date line
and legal bases, the Chinese and Vietnamese signature blocks, the prevailing language)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from docgen.formatting import quantize_money
from docgen.i18n import N_, Lang, Localized, _l
from docgen.layout import Column, Field, Layout, SignatureLine, Styles
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
    """The client in a document: "Party A (Client)", 甲方, "Bên A (Khách hàng)" in
    contracts; the client, 客户, "Khách hàng" in plans and review packs."""
    if contract:
        return lambda lang: lang.pgettext("contract party", "Party A (Client)")
    return lambda lang: lang.pgettext("plan party", "Client")


def provider_role(contract: bool) -> Localized:
    """The provider: "Party B (Provider)", 乙方, "Bên B (Nhà cung cấp)" in contracts."""
    if contract:
        return lambda lang: lang.pgettext("contract party", "Party B (Provider)")
    return lambda lang: lang.pgettext("plan party", "Provider")


def has_vietnamese(layout: Layout) -> bool:
    return any(lang.code == "vi" for lang in layout.langs)


def place_and_date(layout: Layout, document: DocumentInput) -> None:
    """The line a Vietnamese document opens with at the top right: ``Hà Nội, ngày 05
    tháng 12 năm 2026`` (the date alone when the place is not known), in each column."""
    if not has_vietnamese(layout):
        return

    def line(lang: Lang) -> str:
        day = lang.contract_date(document.date)
        if document.place is None:
            return day[0].upper() + day[1:]
        return lang.gettext(N_("%(place)s, %(date)s")) % {"place": document.place(lang), "date": day}

    layout.paragraph(line, align_right=True)


def contract_opening(layout: Layout, document: ContractDocument, title: Localized, preamble: str) -> None:
    """The top of a contract document: national header, place and date, title and
    number, the legal bases (Vietnamese), the preamble naming the contract and the
    date, then the parties.

    ``preamble`` is a message (marked with ``N_``) with ``%(contract)s`` and ``%(date)s``.
    """
    if has_vietnamese(layout):
        layout.paragraph(_l("SOCIALIST REPUBLIC OF VIETNAM"), Styles.NATIONAL_HEADER)
        layout.paragraph(_l("Independence - Freedom - Happiness"), Styles.NATIONAL_MOTTO)
    place_and_date(layout, document)
    layout.title(title, _l("No. %(number)s", number=document.number))
    legal_bases(layout, document.contract)
    layout.paragraph(
        _l(
            preamble,
            contract=contract_reference(document.contract),
            date=lambda lang: lang.date(document.date),
        )
    )
    parties(layout, document, contract=True)


# The laws a Vietnamese contract between companies rests on: the civil code and the
# commercial law, with the date each was passed.
CIVIL_CODE = date(2015, 11, 24)
COMMERCIAL_LAW = date(2005, 6, 14)


def legal_bases(layout: Layout, contract: Contract) -> None:
    """``Căn cứ ...``: the civil code, the commercial law and the main contract, as a
    Vietnamese contract opens. A document with Vietnamese states them; the other
    column of a bilingual one translates them, so that both columns say the same."""
    if not has_vietnamese(layout):
        return
    bases = [
        _l("Pursuant to the Civil Code of Vietnam No. 91/2015/QH13 of %(date)s;",
           date=lambda lang: lang.contract_date(CIVIL_CODE)),
        _l("Pursuant to the Commercial Law of Vietnam No. 36/2005/QH11 of %(date)s;",
           date=lambda lang: lang.contract_date(COMMERCIAL_LAW)),
    ]
    if contract.signed_on is None:
        bases.append(_l("Pursuant to the %(title)s No. %(number)s;", title=contract.title, number=keep_whole(contract.number)))
    else:
        bases.append(
            _l(
                "Pursuant to the %(title)s No. %(number)s signed on %(signed_on)s;",
                title=contract.title,
                number=keep_whole(contract.number),
                signed_on=lambda lang: lang.contract_date(contract.signed_on),
            )
        )
    for basis in bases:
        layout.paragraph(basis)


def contract_reference(contract: Contract) -> Localized:
    """The contract a document rests on: ``Master Services Agreement No. MSA-2024-018``."""
    if contract.signed_on is None:
        return _l("%(title)s No. %(number)s", title=contract.title, number=keep_whole(contract.number))
    return _l(
        "%(title)s No. %(number)s of %(signed_on)s",
        title=contract.title,
        number=keep_whole(contract.number),
        signed_on=lambda lang: lang.date(contract.signed_on),
    )


def parties(layout: Layout, document: DocumentInput, contract: bool) -> None:
    """Name both parties, the client first (Party A), with address, representative
    and the representative's own title (a general director is not "authorised")."""
    for role, party in ((client_role(contract), document.client), (provider_role(contract), document.provider)):
        fields = [Field(role, party.name)]
        if party.address is not None:
            fields.append(Field(_l("Address"), party.address))
        if party.representative is not None:
            fields.append(Field(_l("Represented by"), whole(party.representative)))
            if party.title is not None:
                fields.append(Field(lambda lang: lang.pgettext("signatory", "Title"), party.title))
        layout.fields(fields)


def final_terms(layout: Layout, document: DocumentInput) -> list[Localized]:
    """The last clause of a bilingual contract: which language prevails."""
    return [prevailing_language(layout, document)] if layout.bilingual else []


def closing(layout: Layout, document: DocumentInput, contract: bool) -> None:
    """What stands between the text and the signatures: in a contract with Chinese,
    以下无正文 (nothing may be added in between; the other column translates it);
    in a bilingual plan or review pack, the prevailing language (a contract states it
    in its terms, ``final_terms``). 以下无正文 ends the text: it stays with the last
    clause, and both with the signatures."""
    if contract and any(lang.code == "zh" for lang in layout.langs):
        layout.paragraph(_l("(No further text below.)"), with_previous=True)
    elif not contract and layout.bilingual:
        layout.paragraph(prevailing_language(layout, document))


_LANGUAGE_NAMES = {
    "en": lambda lang: lang.pgettext("language", "English"),
    "zh": lambda lang: lang.pgettext("language", "Chinese"),
    "vi": lambda lang: lang.pgettext("language", "Vietnamese"),
}


def prevailing_language(layout: Layout, document: DocumentInput) -> Localized:
    """"This document is made in English and Chinese; in case of discrepancy the
    English version prevails." in each column, in that column's language."""
    first, second = (lang.code for lang in layout.langs)
    return _l(
        "This document is made in %(first)s and %(second)s; in case of discrepancy the %(prevailing)s version prevails.",
        first=_LANGUAGE_NAMES[first],
        second=_LANGUAGE_NAMES[second],
        prevailing=_LANGUAGE_NAMES[document.prevailing],
    )


def signatures(layout: Layout, document: DocumentInput, contract: bool) -> None:
    """Signature blocks for the client (left) and the provider (right), each written
    as its readers sign: "Signed for and on behalf of ..." with name, title and date
    in English; 甲方（盖章）, 法定代表人或授权代表（签字） and 日期：    年  月  日 in
    Chinese; ĐẠI DIỆN BÊN A, (Ký, ghi rõ họ tên và đóng dấu), the space to sign, the
    name and the title, centred, in Vietnamese. In a bilingual document the lines of
    both languages follow each other, each line once."""
    blocks = [
        _signature_block(layout.langs, signing_party(contract, client), party)
        for client, party in ((True, document.client), (False, document.provider))
    ]
    layout.signatures(blocks, centred=has_vietnamese(layout))


def signing_party(contract: bool, client: bool) -> Localized:
    """The party as a signature block heads it: 甲方, BÊN A; in plans 客户, KHÁCH HÀNG."""
    if contract:
        if client:
            return lambda lang: lang.pgettext("signing party", "Party A")
        return lambda lang: lang.pgettext("signing party", "Party B")
    if client:
        return lambda lang: lang.pgettext("signing party", "the Client")
    return lambda lang: lang.pgettext("signing party", "the Provider")


_BLANK = "_" * 24
# The lines of a signature block, in the order they are written; a language leaves
# out those its readers do not write.
_SLOTS = ("heading", "hint", "sign", "name", "title", "date")


def _signature_lines(lang: Lang, role: Localized, party: Party) -> dict[str, SignatureLine]:
    """One language's lines of a party's block, by slot. A name or title the input
    does not give is a blank to fill in by hand (in Vietnamese, written under the
    signature)."""
    name = keep_whole(party.representative(lang)) if party.representative is not None else ""
    title = party.title(lang) if party.title is not None else ""
    colon = lang.colon
    if lang.code == "vi":
        lines = {
            "heading": SignatureLine(lang.gettext(N_("FOR %(party)s")) % {"party": role(lang)}),
            "hint": SignatureLine(value=lang.gettext(N_("(Sign, write the full name and affix the seal)"))),
            "sign": SignatureLine(),
            "name": SignatureLine(name),
            "title": SignatureLine(value=title),
        }
        return {slot: line for slot, line in lines.items() if line.label or line.value or slot == "sign"}
    labelled = {
        "name": SignatureLine(lang.pgettext("signatory", "Name"), name or _BLANK, colon),
        "title": SignatureLine(lang.pgettext("signatory", "Title"), title or _BLANK, colon),
    }
    if lang.code == "zh":
        return {
            "heading": SignatureLine(lang.gettext(N_("%(party)s (seal)")) % {"party": role(lang)},
                                     party.name(lang), colon),
            "sign": SignatureLine(lang.gettext(N_("Legal or authorized representative (signature)")), colon=colon),
            **labelled,
            "date": SignatureLine(lang.gettext(N_("Date: ____ year __ month __ day"))),
        }
    return {
        "heading": SignatureLine(lang.gettext(N_("Signed for and on behalf of %(party)s")) % {
            "party": party.name(lang)}),
        "sign": SignatureLine(lang.gettext(N_("Authorized signatory")), _BLANK, colon),
        **labelled,
        "date": SignatureLine(lang.gettext(N_("Date")), _BLANK, colon),
    }


def _signature_block(langs: Sequence[Lang], role: Localized, party: Party) -> list[SignatureLine]:
    """The lines of every language, slot by slot. A line says nothing twice: labels
    of the same value share a line (``Name / 姓名：陈静``), a value written alone is
    left out under another language's label, and the blank space to sign in comes
    once, above any signature line."""
    per_language = [_signature_lines(lang, role, party) for lang in langs]
    block: list[SignatureLine] = []
    for slot in _SLOTS:
        written: list[SignatureLine] = []
        for lines in per_language:
            line = lines.get(slot)
            if line is None or line in written or _repeats(line, written):
                continue
            same = next((other for other in written if other.label and line.label and other.value == line.value
                         and line.value.strip()), None)
            if same is not None:
                written[written.index(same)] = SignatureLine(f"{same.label} / {line.label}", line.value, line.colon)
            else:
                written.append(line)
        block.extend(sorted(written, key=lambda line: bool(line.label or line.value)))
    return block


def _repeats(line: SignatureLine, written: Sequence[SignatureLine]) -> bool:
    text = line.value if line.label == "" else line.label if line.value == "" else None
    return text is not None and text != "" and any(text == other.value for other in written)


def priced_table(
    layout: Layout,
    columns: Sequence[Column],
    items: Sequence[Any],
    total_label: Localized,
    words_label: Localized = _l("Total (in words)"),
    signed: bool = False,
) -> None:
    """A table of priced items (``.amount``), its total, and the total in words.

    The total is the sum of the amounts as shown (each rounded half-up to the
    currency's decimals), so that the column adds up. A ``signed`` total is a change
    in price, written as an increase or a reduction in figures and in words.
    """
    currency = layout.primary.currency
    total = sum((quantize_money(item.amount, currency) for item in items), Decimal(0))
    shown = (lambda lang: lang.money_change(total)) if signed else (lambda lang: lang.money(total))
    layout.table(columns, items, totals=[(total_label, shown)], numbered=True)
    layout.fields([Field(words_label, lambda lang: lang.words(total, signed=signed))])


def line_columns(*leading: Column, signed: bool = False) -> list[Column]:
    """Columns of priced lines (``Line``): description, quantity, unit, prices; a
    ``signed`` line's amount is a change in price, worded as an increase or a
    reduction (``减少 3,200.00``), never a bare minus sign."""
    if signed:
        amount = Column(
            in_currency(_l("Price impact")), lambda line, lang: lang.amount_change(line.amount), weight=2.4, numeric=True
        )
    else:
        amount = Column(in_currency(_l("Amount")), lambda line, lang: lang.amount(line.amount), weight=2.0, numeric=True)
    return [
        *leading,
        Column(_l("Description"), lambda line, lang: line.description(lang), weight=4.4, per_language=True),
        Column(_l("Quantity"), lambda line, lang: lang.number(line.quantity), weight=1.6, numeric=True),
        Column(_l("Unit"), unit, weight=1.6),
        Column(
            in_currency(_l("Unit price")), lambda line, lang: lang.amount(line.unit_price), weight=1.8, numeric=True
        ),
        amount,
    ]


def in_currency(label: Localized) -> Localized:
    """A column label naming the document's currency: ``Amount (CNY)``,
    ``金额（人民币）``, ``Thành tiền (đồng)``."""
    return _l("%(label)s (%(currency)s)", label=label, currency=lambda lang: lang.currency_label)


def unit(line: Any, lang: Lang) -> str:
    """A line's unit, a term no line breaks (``phiếu lương/tháng``, ``份工资单/月``);
    empty when the line has none."""
    return "" if line.unit is None else keep_whole(line.unit(lang))


def code(value: str) -> Localized:
    """A number or code (``INV-SVT-VN-202610``, a PO, a tax ID), the same in every
    language, which no line breaks at its hyphens."""
    written = keep_whole(value)
    return lambda lang: written


def whole(text: Localized) -> Localized:
    """A person's name or a code, which no line may break."""
    return lambda lang: keep_whole(text(lang))
