"""Catalogs and per-language context for documents.

docgen reads the gettext catalogs in ``<repo>/translations`` that the portal's UI
uses too, with its own ``babel.support.Translations`` (Flask-Babel's helpers only work
inside a request). English is the source language: its text is the msgid.

Strings are marked for ``pybabel extract -k _l -k N_``: ``_l("...")`` is a label
translated later into each language of a document, ``N_`` marks a constant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from docgen import formatting
from docgen.typesetting import keep_whole

CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "zh", "vi")  # every language the documents and the portal are written in
# English is written in American spelling (the msgids) or British: the catalog
# ``en_GB`` holds only the labels whose British spelling differs (authorised, ...).
ENGLISH_SPELLINGS = ("US", "GB")
BRITISH_CATALOG = "en_GB"

# Typography, not vocabulary: Chinese uses full-width punctuation.
_COLON = {"en": ": ", "zh": "：", "vi": ": "}
_LIST_SEPARATOR = {"en": ", ", "zh": "、", "vi": ", "}


def N_(message: str) -> str:
    """Mark a module-level string for extraction; translate it where it is used."""
    return message


@functools.cache
def translations(lang: str) -> NullTranslations:
    """Return the catalog of ``lang``, compiling the .po in memory when needed.

    A fresh checkout has no .mo files (they are not committed), and a .mo older than
    its .po would show stale text, so both cases read the .po instead.
    """
    if lang == SOURCE_LANGUAGE:
        return NullTranslations()
    po = CATALOG_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    return Translations(_compile(po, lang), domain=DOMAIN)


def _compile(po: Path, lang: str) -> BinaryIO:
    with po.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return compiled


@dataclass(frozen=True)
class Lang:
    """One language of one document: its catalog and how it writes money and dates.

    Layout code receives a ``Lang`` for every language it writes; ``Localized``
    values are functions of it.
    """

    code: str
    currency: str | None = None
    zone: ZoneInfo = ZoneInfo("UTC")
    contract_style: bool = False
    spelling: str = "US"

    @property
    def _catalog(self) -> NullTranslations:
        if self.code == SOURCE_LANGUAGE and self.spelling == "GB":
            return translations(BRITISH_CATALOG)
        return translations(self.code)

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        return self._catalog.pgettext(context, message)

    @property
    def colon(self) -> str:
        return _COLON[self.code]

    def join(self, items: list[str]) -> str:
        """Join list items with the language's separator (``、`` in Chinese)."""
        return _LIST_SEPARATOR[self.code].join(items)

    # Amounts, numbers and dates are written whole: no line ever breaks one.

    def money(self, amount: Decimal) -> str:
        """``CNY 3,200.00``, ``人民币 3,200.00``, ``3.200.000 đồng``, kept on one line: see ``document_money``."""
        return keep_whole(formatting.document_money(amount, self._currency, self.code))

    def amount(self, amount: Decimal) -> str:
        """An amount without its currency, for a column headed with it."""
        return keep_whole(formatting.format_amount(amount, self._currency, self.code))

    def money_change(self, amount: Decimal) -> str:
        """A change in price worded as one: ``Reduction of CNY 3,200.00``, ``增加 人民币 7,000.00``."""
        return formatting.change_text(amount, self.money(abs(amount)), self.code)

    def amount_change(self, amount: Decimal) -> str:
        """A change in price in a column headed with the currency: ``减少 3,200.00``."""
        return formatting.change_text(amount, self.amount(abs(amount)), self.code)

    @property
    def currency_label(self) -> str:
        """The currency as a column heading names it: ``CNY``, ``人民币``, ``đồng``."""
        return formatting.currency_label(self._currency, self.code)

    def words(self, amount: Decimal, signed: bool = False) -> str:
        """The amount in words; ``signed`` words an increase as one too."""
        return formatting.amount_in_words(amount, self._currency, self.code, signed)

    def number(self, value: Decimal) -> str:
        return keep_whole(formatting.format_number(value, self.code))

    def date(self, value: date) -> str:
        return keep_whole(formatting.format_date_long(value, self.code, self.contract_style))

    def contract_date(self, value: date) -> str:
        """A date as a contract's text writes it, whatever the kind, kept on one line:
        ``ngày 05 tháng 12 năm 2026``."""
        return keep_whole(formatting.format_date_long(value, self.code, contract_style=True))

    def short_date(self, value: date) -> str:
        """A date in a table cell: the long form without the contract wording."""
        return keep_whole(formatting.format_date_long(value, self.code))

    def moment(self, value: datetime) -> str:
        """A date and time with its zone; the date in it is written whole."""
        text = formatting.format_datetime_long(value, self.zone, self.code, self.contract_style)
        day = formatting.format_date_long(value.astimezone(self.zone).date(), self.code, self.contract_style)
        return text.replace(day, keep_whole(day), 1)

    @property
    def _currency(self) -> str:
        if self.currency is None:
            raise ValueError("this document has no currency")
        return self.currency


Localized = Callable[[Lang], str]
"""Text that depends on the language it is written in."""


def _l(message: str, **params: object) -> Localized:
    """A label translated later, in each language of the document.

    ``params`` fill ``%(name)s`` placeholders; a callable param is itself
    ``Localized`` and is resolved in the same language.
    """

    def localized(lang: Lang) -> str:
        text = lang.gettext(message)
        if not params:
            return text
        return text % {name: value(lang) if callable(value) else value for name, value in params.items()}

    return localized
