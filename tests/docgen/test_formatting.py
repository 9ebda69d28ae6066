"""Amounts, words and dates per locale (docgen.formatting)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from docgen.formatting import (
    LOCALES,
    amount_in_words,
    format_amount,
    format_date_long,
    format_datetime_long,
    format_money,
    quantize_money,
)

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "USD", Decimal("0.13")),  # Babel alone would print $0.12 (half-even)
        ("0.135", "USD", Decimal("0.14")),
        ("2.5", "JPY", Decimal("3")),
        ("1234567.5", "VND", Decimal("1234568")),
        ("1234566.5", "VND", Decimal("1234567")),  # half-even would give ...566
        ("-0.125", "USD", Decimal("-0.13")),
        ("1.0005", "KWD", Decimal("1.001")),
    ],
)
def test_quantize_money_rounds_half_up_to_the_currency_decimals(amount, currency, expected):
    result = quantize_money(Decimal(amount), currency)
    assert result == expected
    assert result.as_tuple().exponent == expected.as_tuple().exponent


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "expected"),
    [
        ("1234567.5", "CNY", "en", "CN¥1,234,567.50"),
        ("1234567.5", "CNY", "zh", "¥1,234,567.50"),
        ("1234567.5", "CNY", "vi", f"1.234.567,50{NBSP}CN¥"),
        ("1234567.5", "VND", "vi", f"1.234.568{NBSP}₫"),
        ("1234567.5", "VND", "en", "₫1,234,568"),
        ("0.125", "USD", "en", "$0.13"),
        ("1234566.5", "VND", "vi", f"1.234.567{NBSP}₫"),
        ("-3200", "USD", "zh", "-US$3,200.00"),
    ],
)
def test_format_money_uses_each_locale_and_the_currency_decimals(amount, currency, lang, expected):
    assert format_money(Decimal(amount), currency, lang) == expected


@pytest.mark.parametrize("lang", ["en", "zh", "vi"])
@pytest.mark.parametrize("currency", ["USD", "EUR", "CNY", "VND", "SGD", "JPY", "KWD", "GBP"])
def test_format_money_writes_what_babel_writes(lang, currency):
    """The resolved pattern is Babel's own, for small, large, negative and rounded amounts."""
    locale = Locale.parse(LOCALES[lang])
    for text in ("0", "0.5", "7", "999.995", "1000", "-1000", "12345.678", "-0.01", "999999999999.99", "1e3", "-42"):
        amount = quantize_money(Decimal(text), currency)
        amount = amount if amount else abs(amount)  # Babel writes -0.01 in yen as "-¥0"; see below
        expected = locale.currency_formats["standard"].apply(amount, locale, currency=currency, currency_digits=True)
        assert format_money(Decimal(text), currency, lang) == expected, text


def test_a_rounded_zero_is_not_negative():
    assert format_money(Decimal("-0.001"), "USD", "en") == "$0.00"


def test_format_amount_drops_the_symbol_but_keeps_the_decimals():
    assert format_amount(Decimal("3200"), "CNY", "en") == "3,200.00"
    assert format_amount(Decimal("3200"), "CNY", "vi") == "3.200,00"
    assert format_amount(Decimal("3200.5"), "VND", "vi") == "3.201"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("123456.78", "CNY", "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
        ("12345", "CNY", "人民币壹万贰仟叁佰肆拾伍元整"),
        ("0.05", "CNY", "人民币伍分"),
        ("10005.50", "CNY", "人民币壹万零伍元伍角"),
        ("1000.07", "CNY", "人民币壹仟元零柒分"),
        ("100000001", "CNY", "人民币壹亿零壹元整"),
        ("1250000000", "CNY", "人民币壹拾贰亿伍仟万元整"),
        # 零 wherever zeros fall between two written digits, also over 万, 亿 and 元.
        ("1010000000", "CNY", "人民币壹拾亿零壹仟万元整"),
        ("100001000", "CNY", "人民币壹亿零壹仟元整"),
        ("1050", "CNY", "人民币壹仟零伍拾元整"),
        ("107000.53", "CNY", "人民币壹拾万零柒仟元零伍角叁分"),
        ("1000000000000", "CNY", "人民币壹万亿元整"),
        ("0", "CNY", "人民币零元整"),
        # Another currency by its own name and minor unit, never 元.
        ("1234.56", "USD", "壹仟贰佰叁拾肆美元伍拾陆美分"),
        ("0.05", "EUR", "伍欧分"),
        ("1250000000", "VND", "壹拾贰亿伍仟万越南盾整"),
        ("10005", "JPY", "壹万零伍日元整"),
        ("1000.125", "KWD", "壹仟点壹贰伍科威特第纳尔"),
        ("-1200", "CNY", "减少人民币壹仟贰佰元整"),
        ("0.125", "CNY", "人民币壹角叁分"),
    ],
)
def test_chinese_financial_capitals(amount, currency, expected):
    assert amount_in_words(Decimal(amount), currency, "zh") == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1250000000", "VND", "Một tỷ hai trăm năm mươi triệu đồng"),
        # num2words says "một nghìn lẻ năm": inner groups must keep their hundreds.
        ("1005", "VND", "Một nghìn không trăm lẻ năm đồng"),
        ("1000005000", "VND", "Một tỷ không trăm lẻ năm nghìn đồng"),
        ("1050000", "VND", "Một triệu không trăm năm mươi nghìn đồng"),
        ("10000000015", "VND", "Mười tỷ không trăm mười lăm đồng"),
        ("1000000000000", "VND", "Một nghìn tỷ đồng"),
        ("21", "VND", "Hai mươi mốt đồng"),
        ("25", "VND", "Hai mươi lăm đồng"),
        ("10005.50", "USD", "Mười nghìn không trăm lẻ năm đô la Mỹ và năm mươi xu"),
        ("0", "VND", "Không đồng"),
    ],
)
def test_vietnamese_words(amount, currency, expected):
    assert amount_in_words(Decimal(amount), currency, "vi") == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (
            "123456.78",
            "CNY",
            "One hundred and twenty-three thousand, four hundred and fifty-six Chinese yuan and seventy-eight fen",
        ),
        ("10005.50", "USD", "Ten thousand and five US dollars and fifty cents"),
        ("0.05", "USD", "Zero US dollars and five cents"),
        ("1", "USD", "One US dollar"),
        ("1250000000", "VND", "One billion, two hundred and fifty million Vietnamese dong"),
        ("-7000", "CNY", "A reduction of seven thousand Chinese yuan"),
    ],
)
def test_english_words(amount, currency, expected):
    assert amount_in_words(Decimal(amount), currency, "en") == expected


def test_words_refuse_amounts_of_ten_to_the_fifteen_or_more():
    with pytest.raises(ValueError, match="too large"):
        amount_in_words(Decimal("1e15"), "CNY", "zh")


@pytest.mark.parametrize(
    ("lang", "contract_style", "expected"),
    [
        ("en", False, "22 November 2026"),
        ("zh", False, "2026年11月22日"),
        ("vi", False, "22 tháng 11 năm 2026"),
        ("vi", True, "ngày 22 tháng 11 năm 2026"),
        ("en", True, "22 November 2026"),
    ],
)
def test_long_dates(lang, contract_style, expected):
    assert format_date_long(date(2026, 11, 22), lang, contract_style) == expected


def test_vietnamese_dates_write_day_and_month_in_two_digits():
    assert format_date_long(date(2027, 2, 1), "vi", contract_style=True) == "ngày 01 tháng 02 năm 2027"
    assert format_date_long(date(2026, 3, 1), "vi") == "01 tháng 03 năm 2026"
    assert format_date_long(date(2027, 2, 1), "en") == "1 February 2027"


def test_datetime_is_shown_in_the_given_zone_and_names_it():
    moment = datetime(2026, 11, 20, 8, 15, tzinfo=timezone.utc)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert format_datetime_long(moment, shanghai, "en") == (
        "20 November 2026, 16:15 China Standard Time (Asia/Shanghai, UTC+08:00)"
    )
    assert format_datetime_long(moment, shanghai, "zh") == "2026年11月20日 16:15 中国标准时间（Asia/Shanghai，UTC+08:00）"
    assert format_datetime_long(moment, ZoneInfo("Asia/Ho_Chi_Minh"), "vi", contract_style=True).startswith(
        "15:15 ngày 20 tháng 11 năm 2026"
    )
    assert "UTC+00:00" in format_datetime_long(moment, ZoneInfo("UTC"), "en")
