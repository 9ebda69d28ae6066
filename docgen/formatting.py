"""Amounts, amounts in words, dates and times in English, Chinese and Vietnamese.

Public helpers, reusable by the portal. Numbers and dates follow Babel's data for
en_US, zh_Hans_CN and vi_VN; English words come from num2words, Chinese capitals and
Vietnamese words are written here by the rules clerks follow (see ``amount_in_words``).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

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
# Words stop below 10^15 (万亿 is the largest Chinese place written); no contract comes close.
WORDS_LIMIT = Decimal(10) ** 15

# Minor currency units named in English words; everything else has cents.
_ENGLISH_MINOR_UNITS = {"CNY": ("fen", "fen"), "GBP": ("penny", "pence")}
_VIETNAMESE_MINOR_UNIT = "xu"


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


def format_number(value: Decimal, lang: str) -> str:
    """Format a quantity with the locale's separators, keeping all its decimals."""
    return format_decimal(value, locale=_locale(lang), decimal_quantization=False)


def format_date_long(d: date, lang: str, contract_style: bool = False) -> str:
    """Format a date in the language's long form.

    ``22 November 2026``, ``2026年11月22日``, ``05 tháng 03 năm 2026``; with
    ``contract_style`` Vietnamese reads ``ngày 05 tháng 03 năm 2026``, as contracts
    write it: day and month in two digits, as Vietnamese administrative documents
    write them (Babel's own long form, ``5 tháng 3, 2026``, is not used there).
    """
    pattern = {
        "en": "d MMMM y",
        "zh": "long",
        "vi": "'ngày' dd 'tháng' MM 'năm' y" if contract_style else "dd 'tháng' MM 'năm' y",
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


def document_money(amount: Decimal, currency: str, lang: str) -> str:
    """An amount with its currency as a contract in ``lang`` writes it, kept on one line.

    English names the currency by its ISO code (``CNY 3,200.00``: a symbol such as
    ``CN¥`` or ``$`` is ambiguous abroad), Chinese by its name (``人民币 3,200.00``,
    ``美元 1,000.00``), Vietnamese after the number (``13.137.708 đồng``,
    ``3.200,00 USD``). A no-break space joins the currency to the number; a negative
    amount keeps its sign on the number (``CNY -3,200.00``), but documents word a
    decrease instead (see ``change_text``).
    """
    figure = format_amount(amount, currency, lang)
    unit = currency_label(currency, lang)
    return f"{figure}{NBSP}{unit}" if lang == "vi" else f"{unit}{NBSP}{figure}"


def currency_label(currency: str, lang: str) -> str:
    """How a document in ``lang`` names a currency beside a figure or in a column
    heading: ``CNY`` (en), ``人民币`` (zh), ``đồng`` or ``USD`` (vi)."""
    if lang == "zh":
        return get_currency_name(currency, locale=_locale("zh"))
    if lang == "vi" and currency == "VND":
        return _VIETNAMESE_DONG
    return currency


def amount_in_words(amount: Decimal, currency: str, lang: str, signed: bool = False) -> str:
    """Write an amount of money in words, as contracts and invoices do.

    - English: ``One hundred and twenty-three thousand, four hundred and fifty-six
      Chinese yuan and seventy-eight fen``.
    - Chinese financial capitals (大写) as a bank clerk writes them: CNY after 人民币
      in 元/角/分 (``人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分``, ``人民币壹万零伍元整``);
      another currency by its own name and minor unit (``壹仟贰佰叁拾肆美元伍拾陆美分``,
      ``壹拾贰亿伍仟万越南盾整``), never 元. 零 stands wherever zeros fall between
      two written digits (``壹亿零壹仟元整``, ``壹拾万零柒仟元零伍角``).
    - Vietnamese: ``Một tỷ hai trăm năm mươi triệu đồng``; inner groups keep their
      hundreds (``một nghìn không trăm lẻ năm``), with lẻ, mốt, tư and lăm as
      Vietnamese accounting writes them.

    A negative amount is a decrease and says so (``减少人民币叁仟贰佰元整``,
    ``Giảm ba nghìn hai trăm nhân dân tệ``, ``A reduction of ...``), never "minus";
    with ``signed`` a positive amount is worded as an increase too.

    The amount is first rounded half-up to the currency's decimals. Raises
    ``ValueError`` for amounts of 10^15 or more.
    """
    value = quantize_money(amount, currency)
    if abs(value) >= WORDS_LIMIT:
        raise ValueError(f"amount too large to write in words: {amount}")
    direction = "decrease" if value < 0 else "increase" if signed and value > 0 else None
    value = abs(value)
    if lang == "zh":
        words = _chinese_amount(value, currency)
    elif lang == "vi":
        words = _vietnamese_amount(value, currency)
    else:
        words = _english_amount(value, currency)
    if direction is not None:
        words = _CHANGE_WORDS[lang][direction] + (words if lang == "zh" else words[0].lower() + words[1:])
    return words[0].upper() + words[1:]


def change_text(amount: Decimal, figure: str, lang: str) -> str:
    """A signed amount worded as a change: ``Increase of CNY 7,000.00``,
    ``减少 3,200.00``, ``Giảm 3.200,00``; ``figure`` is the amount's absolute value
    already formatted. No change at all is the figure alone."""
    if not amount:
        return figure
    return _CHANGE_FIGURE[lang]["decrease" if amount < 0 else "increase"] + figure


_VIETNAMESE_DONG = "đồng"
NBSP = "\xa0"
# The words a change in price opens with: the decrease is written out, never a sign.
_CHANGE_WORDS = {
    "en": {"increase": "An increase of ", "decrease": "A reduction of "},
    "zh": {"increase": "增加", "decrease": "减少"},
    "vi": {"increase": "Tăng ", "decrease": "Giảm "},
}
_CHANGE_FIGURE = {
    "en": {"increase": "Increase of" + NBSP, "decrease": "Reduction of" + NBSP},
    "zh": {"increase": "增加", "decrease": "减少"},  # Chinese sets no space between words
    "vi": {"increase": "Tăng" + NBSP, "decrease": "Giảm" + NBSP},
}


def _split(value: Decimal, currency: str) -> tuple[int, int, int]:
    """The whole units, the minor units and the number of minor digits of ``value``."""
    digits = get_currency_precision(currency)
    whole = int(value)
    return whole, int((value - whole).scaleb(digits)), digits


# -- English ------------------------------------------------------------------------


def _english_amount(value: Decimal, currency: str) -> str:
    whole, minor, digits = _split(value, currency)
    words = f"{num2words(whole, lang='en')} {get_currency_name(currency, count=whole, locale='en')}"
    if minor:
        words += f" and {_english_minor(minor, digits, currency)}"
    return words


def _english_minor(minor: int, digits: int, currency: str) -> str:
    """``seventy-eight cents``, ``five pence``; a currency of three decimals: ``125/1000``."""
    if digits != 2:
        return f"{minor}/{10 ** digits}"
    singular, plural = _ENGLISH_MINOR_UNITS.get(currency, ("cent", "cents"))
    return f"{num2words(minor, lang='en')} {singular if minor == 1 else plural}"


# -- Chinese financial capitals -------------------------------------------------------

_CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CAPITAL_PLACES = ("", "拾", "佰", "仟")
# Minor units of the currencies a Chinese contract names by their own word; another
# currency's fraction is written after 点 (壹仟点壹贰伍科威特第纳尔).
_CHINESE_MINOR_UNITS = {
    "USD": "美分", "EUR": "欧分", "GBP": "便士", "HKD": "港仙", "SGD": "新加坡分",
    "AUD": "澳分", "NZD": "纽分", "CAD": "加分", "MYR": "马来西亚仙",
}


def _chinese_amount(value: Decimal, currency: str) -> str:
    whole, minor, digits = _split(value, currency)
    if currency == "CNY":
        return "人民币" + _renminbi(whole, minor // 10, minor % 10)
    name = get_currency_name(currency, locale=_locale("zh"))
    if not minor:
        return f"{_capitals(whole)}{name}整"
    unit = _CHINESE_MINOR_UNITS.get(currency)
    if unit is not None and digits == 2:
        return (f"{_capitals(whole)}{name}" if whole else "") + f"{_capitals(minor)}{unit}"
    fraction = "".join(_CAPITAL_DIGITS[int(d)] for d in f"{minor:0{digits}d}".rstrip("0"))
    return f"{_capitals(whole)}点{fraction}{name}"


def _renminbi(whole: int, jiao: int, fen: int) -> str:
    """元/角/分, 整 after 元 when there are no 角 or 分."""
    if not (whole or jiao or fen):
        return "零元整"
    slots = _integer_slots(whole, unit="元") if whole else []
    text = _write_capitals([*slots, (jiao, "角", ""), (fen, "分", "")])
    return text if jiao or fen else text + "整"


def _capitals(whole: int) -> str:
    """The capitals of a whole number: ``壹仟零伍拾``, ``零``."""
    return _write_capitals(_integer_slots(whole)) if whole else "零"


def _integer_slots(whole: int, unit: str = "") -> list[tuple[int, str, str]]:
    """The places of ``whole`` from the most significant: (digit, place, marker).

    Places are 拾/佰/仟 within a group of four; the marker after a group is 万 when
    the group has a digit, 亿 always (above 10^12 the 万 of 万亿 comes first), and
    ``unit`` after the last place."""
    text = str(whole)
    slots = []
    for index, char in enumerate(text):
        position = len(text) - 1 - index
        marker = unit if position == 0 else ""
        if position % 8 == 0 and position:
            marker = "亿"
        elif position % 4 == 0 and position and text[max(0, index - 3) : index + 1].strip("0"):
            marker = "万"
        slots.append((int(char), _CAPITAL_PLACES[position % 4], marker))
    return slots


def _write_capitals(slots: list[tuple[int, str, str]]) -> str:
    """Digits with their places; a run of zeros between two written digits is one 零,
    also where it covers a 万, 亿 or 元 place (``壹亿零壹仟``, ``壹仟元零柒分``), so
    that nothing can be written into the gap."""
    out: list[str] = []
    pending_zero = False
    for digit, place, marker in slots:
        if digit:
            if pending_zero:
                out.append("零")
            out.append(_CAPITAL_DIGITS[digit] + place)
            pending_zero = False
        elif out:
            pending_zero = True
        if marker and out:
            out.append(marker)
    return "".join(out)


# -- Vietnamese -----------------------------------------------------------------------

_VIETNAMESE_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _vietnamese_amount(value: Decimal, currency: str) -> str:
    whole, minor, digits = _split(value, currency)
    words = f"{_vietnamese_integer(whole)} {_vietnamese_currency(currency)}"
    if minor:
        minor_words = (
            f"{_vietnamese_integer(minor)} {_VIETNAMESE_MINOR_UNIT}" if digits == 2 else f"{minor}/{10 ** digits}"
        )
        words += f" và {minor_words}"
    return words


def _vietnamese_currency(currency: str) -> str:
    """``đồng``, ``đô la Mỹ``, ``nhân dân tệ``: the name in the middle of a sentence."""
    if currency == "VND":
        return _VIETNAMESE_DONG
    name = get_currency_name(currency, locale=_locale("vi"))
    return name[0].lower() + name[1:]


def _vietnamese_integer(number: int) -> str:
    """Vietnamese words for a non-negative integer, billions (tỷ) and beyond included.

    A group after a larger one is read with its hundreds (1.005 is "một nghìn không
    trăm lẻ năm"); a lone unit after the hundreds is lẻ (lẻ một, lẻ bốn, lẻ năm);
    after mươi, 1 is mốt, 4 is tư and 5 is lăm; after mười, 5 is lăm.
    """
    if number == 0:
        return _VIETNAMESE_DIGITS[0]
    billions, rest = divmod(number, 10**9)
    parts = [f"{_vietnamese_integer(billions)} tỷ"] if billions else []
    for group, scale in (
        (rest // 10**6 % 1000, "triệu"),
        (rest // 1000 % 1000, "nghìn"),
        (rest % 1000, ""),
    ):
        if group:
            parts.append(f"{_vietnamese_hundreds(group, full=bool(parts))} {scale}".rstrip())
    return " ".join(parts)


def _vietnamese_hundreds(number: int, full: bool) -> str:
    """1 to 999; ``full`` writes the hundreds even when they are none (không trăm)."""
    hundreds, tens, units = number // 100, number // 10 % 10, number % 10
    words = [f"{_VIETNAMESE_DIGITS[hundreds]} trăm"] if hundreds or full else []
    if tens == 0:
        if units:
            words.append(("lẻ " if words else "") + _VIETNAMESE_DIGITS[units])
        return " ".join(words)
    words.append("mười" if tens == 1 else f"{_VIETNAMESE_DIGITS[tens]} mươi")
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 4 and tens > 1:
        words.append("tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(_VIETNAMESE_DIGITS[units])
    return " ".join(words)
