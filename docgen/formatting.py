"""Amounts, amounts in words, dates and times in English, Chinese and Vietnamese.

Public helpers, reusable by the portal. Numbers and dates follow Babel's data for
en_US, zh_Hans_CN and vi_VN; words come from num2words and cn2an, with the
corrections their output needs for contracts (see ``amount_in_words``).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import cn2an
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_name,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)
from num2words import num2words

LOCALES = {"en": "en_US", "zh": "zh_Hans_CN", "vi": "vi_VN"}

# Grouped digits without a symbol; currency_digits=True supplies the decimals.
_PLAIN_AMOUNT = parse_pattern("#,##0.00")
# cn2an writes at most 16 integer digits; nothing a contract holds comes close.
WORDS_LIMIT = Decimal(10) ** 15

# Minor currency units named in English words; everything else has cents.
_ENGLISH_MINOR_UNITS = {"CNY": ("fen", "fen"), "GBP": ("penny", "pence")}
_VIETNAMESE_MINOR_UNIT = "xu"
_MINUS = {"en": "minus ", "zh": "负", "vi": "âm "}


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[lang])


@functools.cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round ``amount`` half-up to the currency's own decimals (VND: none, USD: 2).

    Babel rounds half-even (0.125 USD would print as $0.12), so amounts are
    quantised here before they are formatted or written in words.
    """
    return Decimal(amount).quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def plain_decimal(value: Decimal | int | str | None) -> str | None:
    """A figure as a person writes it and a program reads it back: ``99.5`` for
    99.5000, ``100`` for 100.00 (never ``1E+2``); no grouping, ``.`` as the point."""
    return None if value is None else format(Decimal(value).normalize(), "f")


class _MoneyPattern(NamedTuple):
    """A locale's standard currency pattern resolved for one currency: the text
    around the number (positive, negative), the decimals, and the separators as a
    ``str.translate`` table from Python's ``1,234.50``."""

    around: tuple[tuple[str, str], tuple[str, str]]
    spec: str
    separators: dict[int, str]


@functools.cache
def _money_pattern(currency: str, lang: str) -> _MoneyPattern | None:
    """The pattern, or None where Python's grouping in threes does not write the
    locale's numbers (Babel then formats the amount itself)."""
    locale = _locale(lang)
    pattern = locale.currency_formats["standard"]
    if pattern.grouping != (3, 3) or pattern.exp_prec or "@" in pattern.pattern or "'" in pattern.pattern:
        return None
    symbol = get_currency_symbol(currency, locale)

    def text(part: str) -> str:
        return part.replace("¤¤", currency.upper()).replace("¤", symbol)

    around = tuple((text(pattern.prefix[sign]), text(pattern.suffix[sign])) for sign in (0, 1))
    separators = str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})
    return _MoneyPattern(around, f",.{get_currency_precision(currency)}f", separators)


def format_money(amount: Decimal, currency: str, lang: str) -> str:
    """Format an amount with its currency in the language's locale (``¥1,234.50``).

    The locale's own standard currency pattern, as Babel applies it, resolved once per
    currency and language: a list of a hundred amounts formats in well under a
    millisecond. (A rounded zero is never written negative.)"""
    amount = quantize_money(amount, currency)
    pattern = _money_pattern(currency, lang)
    if pattern is None:
        locale = _locale(lang)
        return locale.currency_formats["standard"].apply(amount, locale, currency=currency, currency_digits=True)
    prefix, suffix = pattern.around[amount < 0]
    return prefix + format(abs(amount), pattern.spec).translate(pattern.separators) + suffix


def format_amount(amount: Decimal, currency: str, lang: str) -> str:
    """Format an amount without its currency symbol (``1.234,50``), for table columns
    whose heading names the currency."""
    return format_currency(
        quantize_money(amount, currency), currency, format=_PLAIN_AMOUNT, locale=_locale(lang), currency_digits=True
    )


def format_currency_symbol(currency: str, lang: str) -> str:
    """The currency's symbol in the language's locale: ``CN¥`` (en), ``¥`` (zh), ``₫``."""
    return get_currency_symbol(currency, _locale(lang))


def format_number(value: Decimal, lang: str) -> str:
    """Format a quantity with the locale's separators, keeping all its decimals."""
    return format_decimal(value, locale=_locale(lang), decimal_quantization=False)


def format_date_long(d: date, lang: str, contract_style: bool = False) -> str:
    """Format a date in the language's long form.

    ``22 November 2026``, ``2026年11月22日``, ``22 tháng 11 năm 2026``; with
    ``contract_style`` Vietnamese reads ``ngày 22 tháng 11 năm 2026``, as contracts
    write it (Babel's own long form, ``22 tháng 11, 2026``, is not used in contracts).
    """
    pattern = {
        "en": "d MMMM y",
        "zh": "long",
        "vi": "'ngày' d 'tháng' M 'năm' y" if contract_style else "d 'tháng' M 'năm' y",
    }[lang]
    return format_date(d, pattern, locale=_locale(lang))


def format_month(year: int, month: int, lang: str) -> str:
    """Format a calendar month: ``March 2027``, ``2027年3月``, ``tháng 3 năm 2027``."""
    return format_skeleton("yMMMM", date(year, month, 1), locale=_locale(lang))


def format_datetime_long(moment: datetime, zone: ZoneInfo, lang: str, contract_style: bool = False) -> str:
    """Format an aware date-time in ``zone``, naming the zone and its UTC offset.

    ``20 November 2026, 16:15 China Standard Time (Asia/Shanghai, UTC+08:00)``.
    """
    local = moment.astimezone(zone)
    locale = _locale(lang)
    day = format_date_long(local.date(), lang, contract_style)
    clock = format_time(local, "HH:mm", locale=locale)
    offset = local.strftime("%z")
    zone_text = get_timezone_name(local, "long", locale=locale)
    where = f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
    if lang == "zh":
        return f"{day} {clock} {zone_text}（{where.replace(', ', '，')}）"
    if lang == "vi":
        return f"{clock} {day}, {zone_text} ({where})"
    return f"{day}, {clock} {zone_text} ({where})"


def amount_in_words(amount: Decimal, currency: str, lang: str) -> str:
    """Write an amount of money in words, as contracts and invoices do.

    - English: ``One hundred and twenty-three thousand, four hundred and fifty-six
      Chinese yuan and seventy-eight fen``.
    - Chinese financial capitals (大写) after the currency's name:
      ``人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分``, ``人民币壹万元整``, ``美元伍角``,
      ``越南盾壹拾贰亿伍仟万元整``.
    - Vietnamese: ``Một tỷ hai trăm năm mươi triệu đồng``; inner groups keep their
      hundreds as Vietnamese accounting requires (``một nghìn không trăm lẻ năm``),
      which num2words leaves out.

    The amount is first rounded half-up to the currency's decimals. Raises
    ``ValueError`` for amounts of 10^15 or more.
    """
    value = quantize_money(amount, currency)
    if abs(value) >= WORDS_LIMIT:
        raise ValueError(f"amount too large to write in words: {amount}")
    digits = get_currency_precision(currency)
    sign = _MINUS[lang] if value < 0 else ""
    value = abs(value)
    if lang == "zh":
        return get_currency_name(currency, locale=_locale("zh")) + sign + _chinese_capitals(value, digits)
    whole = int(value)
    minor = int((value - whole).scaleb(digits))
    if lang == "vi":
        unit = "đồng" if currency == "VND" else get_currency_name(currency, count=whole, locale=_locale("vi"))
        words = f"{_vietnamese_integer(whole)} {unit}"
        if minor:
            words += f" và {_minor_words(minor, digits, 'vi')}"
    else:
        words = f"{num2words(whole, lang='en')} {get_currency_name(currency, count=whole, locale='en')}"
        if minor:
            words += f" and {_minor_words(minor, digits, 'en', currency)}"
    words = sign + words
    return words[0].upper() + words[1:]


def _chinese_capitals(value: Decimal, digits: int) -> str:
    """Financial capitals for a non-negative amount: 元/角/分 when the currency has cents."""
    if digits in (0, 2):
        # cn2an's "rmb" mode gets the zeros right (壹万零伍元伍角, 壹仟元零柒分).
        return cn2an.an2cn(str(value), "rmb")
    return cn2an.an2cn(str(value), "up")


def _minor_words(minor: int, digits: int, lang: str, currency: str = "") -> str:
    """The minor units of an amount: ``seventy-eight cents``, ``năm mươi xu``, ``125/1000``."""
    if digits != 2:
        return f"{minor}/{10 ** digits}"
    if lang == "vi":
        return f"{_vietnamese_integer(minor)} {_VIETNAMESE_MINOR_UNIT}"
    singular, plural = _ENGLISH_MINOR_UNITS.get(currency, ("cent", "cents"))
    return f"{num2words(minor, lang='en')} {singular if minor == 1 else plural}"


def _vietnamese_integer(number: int) -> str:
    """Vietnamese words for a non-negative integer, billions (tỷ) and beyond included."""
    if number == 0:
        return "không"
    billions, rest = divmod(number, 10**9)
    parts = [f"{_vietnamese_integer(billions)} tỷ"] if billions else []
    for group, scale in (
        (rest // 10**6 % 1000, "triệu"),
        (rest // 1000 % 1000, "nghìn"),
        (rest % 1000, ""),
    ):
        if not group:
            continue
        words = num2words(group, lang="vi")
        if parts and group < 100:
            # A group after a larger one is read with its hundreds: 1.005 is
            # "một nghìn không trăm lẻ năm", not "một nghìn lẻ năm".
            words = "không trăm " + ("lẻ " if group < 10 else "") + words
        parts.append(f"{words} {scale}".rstrip())
    return " ".join(parts)
