"""What each reader expects: amounts in words checked against oracles written here
(Chinese capitals and Vietnamese words read back into numbers, and the rules clerks
follow checked one by one) over sparse amounts with zeros in every position; currency
names; decreases; Vietnamese dates, place and legal bases; signature blocks per
language; the prevailing language; British and American spelling; titles and units
translated from plain input."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal

import pytest

from docgen import ValidationError, render
from docgen.formatting import amount_in_words, document_money
from tests.docgen.conftest import docgen
from tests.docgen.reading import cell_text, full_text, open_docx, signature_cells

NBSP = "\xa0"


def sparse_amounts(max_digits: int = 13) -> list[int]:
    """Every whole number of up to ``max_digits`` digits written with 0 and 1 only
    (1, 10, 11, 100, ..., 1 000 000 000 000): a zero in every position and every run."""
    return [int("".join(bits)) for width in range(1, max_digits + 1)
            for bits in itertools.product("01", repeat=width) if bits[0] == "1"]


AMOUNTS = sparse_amounts()
MINORS = (0, 1, 10, 11)  # .00, .01, .10, .11: zeros in the 角 and 分 places too


# -- an oracle for Chinese capitals -------------------------------------------------------

DIGIT = {c: n for n, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def read_capitals(text: str) -> int:
    """The whole number Chinese capitals write (``壹拾亿零壹仟万`` is 1 010 000 000).

    Every place has its digit written (壹拾, never 拾 alone), as on a cheque."""
    total = myriads = section = digit = 0
    for char in text:
        if char in DIGIT:
            digit = DIGIT[char]
        elif char in PLACE:
            assert digit, f"a place without its digit in {text!r}"
            section += digit * PLACE[char]
            digit = 0
        elif char == "万":
            myriads += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + myriads + section + digit) * 10**8
            myriads = section = digit = 0
        else:
            raise AssertionError(f"not a capital: {char!r} in {text!r}")
    return total + myriads + section + digit


def read_renminbi(words: str) -> Decimal:
    assert words.startswith("人民币"), words
    body = words.removeprefix("人民币")
    whole, _, fraction = body.partition("元")
    if "元" not in body:
        whole, fraction = "", body
    amount = Decimal(read_capitals(whole) if whole else 0)
    for unit, scale in (("角", Decimal("0.1")), ("分", Decimal("0.01"))):
        match = re.search(f"([壹贰叁肆伍陆柒捌玖]){unit}", fraction)
        if match:
            amount += DIGIT[match[1]] * scale
    return amount


def zero_runs(digits: str) -> int:
    """Runs of zeros between two non-zero digits: where a clerk writes 零."""
    return len(re.findall(r"(?<=[1-9])0+(?=[1-9])", digits))


@pytest.mark.parametrize("minor", MINORS)
def test_chinese_capitals_read_back_and_write_one_零_per_inner_run_of_zeros(minor):
    for whole in AMOUNTS:
        amount = Decimal(whole) + Decimal(minor) / 100
        words = amount_in_words(amount, "CNY", "zh")
        assert read_renminbi(words) == amount, words
        digits = str(whole) + (f"{minor:02d}" if minor else "")
        assert words.count("零") == zero_runs(digits), words
        assert "零零" not in words and not re.search("零[元万亿角分整]", words), words
        # 整 after 元 when nothing follows, never after 分
        assert words.endswith("元整") == (minor == 0), words


def test_chinese_capitals_the_clerks_examples():
    for amount, words in (
        ("100001000", "人民币壹亿零壹仟元整"),
        ("10005", "人民币壹万零伍元整"),
        ("1050", "人民币壹仟零伍拾元整"),
        ("1680.32", "人民币壹仟陆佰捌拾元零叁角贰分"),
        ("1000000000001", "人民币壹万亿零壹元整"),
    ):
        assert amount_in_words(Decimal(amount), "CNY", "zh") == words


# -- an oracle for Vietnamese words ----------------------------------------------------------

UNITS_VI = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
            "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
SCALES_VI = {"nghìn": 10**3, "triệu": 10**6, "tỷ": 10**9}


def read_vietnamese(words: list[str]) -> int:
    """The number Vietnamese words write; the largest scale splits the words."""
    for scale in ("tỷ", "triệu", "nghìn"):
        if scale in words:
            at = len(words) - 1 - words[::-1].index(scale)
            return read_vietnamese(words[:at]) * SCALES_VI[scale] + (read_vietnamese(words[at + 1:]) if words[at + 1:] else 0)
    value, rest = 0, list(words)
    if "trăm" in rest:
        at = rest.index("trăm")
        value += UNITS_VI[rest[at - 1]] * 100
        rest = rest[at + 1:]
    if rest[:1] == ["lẻ"]:
        return value + UNITS_VI[rest[1]]
    if rest[:1] == ["mười"]:
        return value + 10 + (UNITS_VI[rest[1]] if len(rest) > 1 else 0)
    if "mươi" in rest:
        return value + UNITS_VI[rest[0]] * 10 + (UNITS_VI[rest[2]] if len(rest) > 2 else 0)
    return value + (UNITS_VI[rest[0]] if rest else 0)


def check_vietnamese_rules(words: list[str]) -> None:
    """lẻ before a lone unit; mốt and tư only after mươi; lăm only after mười/mươi;
    mười for ten, mươi for the other tens; never linh (one convention)."""
    text = " ".join(words)
    assert "linh" not in words, text
    for before, word in itertools.pairwise(words):
        if word in ("mốt", "tư"):
            assert before == "mươi", text
        if word == "lăm":
            assert before in ("mười", "mươi"), text
        if word == "mươi":
            assert before not in ("một", "không"), text
        if before == "mươi":
            assert word not in ("một", "bốn", "năm"), text
        if before == "lẻ":
            assert word in UNITS_VI and word not in ("mốt", "tư", "lăm", "không"), text


@pytest.mark.parametrize("minor", MINORS)
def test_vietnamese_words_read_back_and_follow_one_convention(minor):
    for whole in AMOUNTS + [21, 24, 25, 15, 14, 105, 1004, 1_000_021]:
        amount = Decimal(whole) + Decimal(minor) / 100
        words = amount_in_words(amount, "USD", "vi")
        text, _, cents = words.partition(" đô la Mỹ")
        tokens = text.lower().split()
        check_vietnamese_rules(tokens)
        assert read_vietnamese(tokens) == whole, words
        if minor:
            cent_words = cents.removeprefix(" và ").removesuffix(" xu").split()
            check_vietnamese_rules(cent_words)
            assert read_vietnamese(cent_words) == minor, words
        else:
            assert cents == "", words


def test_vietnamese_inner_groups_keep_their_hundreds():
    assert amount_in_words(Decimal("1005"), "VND", "vi") == "Một nghìn không trăm lẻ năm đồng"
    assert amount_in_words(Decimal("2024"), "VND", "vi") == "Hai nghìn không trăm hai mươi tư đồng"
    assert amount_in_words(Decimal("13137708"), "VND", "vi") == (
        "Mười ba triệu một trăm ba mươi bảy nghìn bảy trăm lẻ tám đồng")


# -- currencies and decreases ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "zh_name", "vi_name", "en_name"),
    [
        ("USD", "美元", "đô la Mỹ", "US dollars"),
        ("EUR", "欧元", "euro", "euros"),
        ("GBP", "英镑", "bảng Anh", "British pounds"),
        ("HKD", "港元", "đô la Hồng Kông", "Hong Kong dollars"),
        ("SGD", "新加坡元", "đô la Singapore", "Singapore dollars"),
        ("VND", "越南盾", "đồng", "dong"),
        ("JPY", "日元", "yên Nhật", "Japanese yen"),
    ],
)
def test_amounts_in_another_currency_are_named_by_it_not_by_元(currency, zh_name, vi_name, en_name):
    amount = Decimal("3200")
    zh = amount_in_words(amount, currency, "zh")
    assert zh == f"叁仟贰佰{zh_name}整"
    assert "元" not in zh.replace(zh_name, "") and "人民币" not in zh
    assert amount_in_words(amount, currency, "vi").endswith(f" {vi_name}")
    assert amount_in_words(amount, currency, "en").endswith(f" {en_name}")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", "减少人民币叁仟贰佰元整"),
        ("vi", "Giảm ba nghìn hai trăm nhân dân tệ"),
        ("en", "A reduction of three thousand, two hundred Chinese yuan"),
    ],
)
def test_a_decrease_is_written_as_a_decrease(lang, expected):
    words = amount_in_words(Decimal("-3200"), "CNY", lang)
    assert words == expected
    assert not re.search("负|âm|minus", words, re.IGNORECASE)


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "expected"),
    [
        ("3200", "CNY", "en", "CNY 3,200.00"),
        ("13137708", "VND", "en", "VND 13,137,708"),
        ("3200", "CNY", "zh", "人民币 3,200.00"),
        ("1000", "USD", "zh", "美元 1,000.00"),
        ("13137708", "VND", "vi", "13.137.708 đồng"),
        ("3200", "USD", "vi", "3.200,00 USD"),
    ],
)
def test_document_money_names_the_currency_as_each_reader_writes_it(amount, currency, lang, expected):
    assert document_money(Decimal(amount), currency, lang) == expected.replace(" ", NBSP, 1)


def test_no_signed_amount_or_currency_symbol_reaches_a_document(example):
    amendment = example("amendment")
    amendment["lines"][0]["quantity"] = "10"  # the removal outweighs the addition
    for languages in (["en"], ["zh"], ["vi"], ["en", "zh"]):
        text = full_text(open_docx(render(amendment, languages)))
        assert not re.search(r"(?<![A-Za-z0-9])-\d|负|Âm |Minus|CN¥|¥|₫", text), languages
    assert "减少人民币 2,350.00" in full_text(open_docx(render(amendment, ["zh"])))
    assert "Reduction of CNY 2,350.00" in full_text(open_docx(render(amendment, ["en"])))


# -- Vietnamese documents: dates, place, legal bases ----------------------------------------


def test_vietnamese_contract_opens_with_place_date_and_legal_bases(example):
    work_order = example("work_order")
    work_order["place"] = {"en": "Hanoi", "zh": "河内", "vi": "Hà Nội"}
    work_order["date"] = "2026-03-01"
    text = full_text(open_docx(render(work_order, ["vi"])))
    assert "Hà Nội, ngày 01 tháng 03 năm 2026" in text
    bases = [line for line in text.splitlines() if line.startswith("Căn cứ")]
    assert bases == [
        "Căn cứ Bộ luật Dân sự số 91/2015/QH13 ngày 24 tháng 11 năm 2015;",
        "Căn cứ Luật Thương mại số 36/2005/QH11 ngày 14 tháng 06 năm 2005;",
        f"Căn cứ {work_order['contract']['title']['vi']} số {work_order['contract']['number']} ký ngày 10 tháng 06 năm 2025;",
    ]
    english = full_text(open_docx(render(work_order, ["en", "vi"])))
    assert "Hanoi, 1 March 2026" in english and "Pursuant to the Civil Code of Vietnam" in english
    # A Chinese or English document alone has no Vietnamese conventions.
    alone = full_text(open_docx(render(work_order, ["zh"])))
    assert "河内" not in alone and "民法典" not in alone


# -- signature blocks ----------------------------------------------------------------------


def signature_text(data: dict, languages: list[str]) -> str:
    document = open_docx(render(data, languages))
    return "\n".join(cell_text(cell) for cell in signature_cells(document))


def test_chinese_signature_block(amendment):
    text = signature_text(amendment, ["zh"])
    for line in ("甲方（盖章）：华南精密制造有限公司", "乙方（盖章）：", "法定代表人或授权代表（签字）：",
                 "姓名：陈静", "职务：采购总监", "日期：    年  月  日"):
        assert line in text, line
    assert "（以下无正文）" in full_text(open_docx(render(amendment, ["zh"])))


def test_vietnamese_signature_block_is_centred_with_the_real_title(work_order):
    document = open_docx(render(work_order, ["vi"]))
    cell = signature_cells(document)[1]
    lines = [cell_text(p) for p in cell.paragraphs]
    assert lines[:2] == ["ĐẠI DIỆN BÊN B", "(Ký, ghi rõ họ tên và đóng dấu)"]
    assert lines[-2:] == [work_order["provider"]["representative"], "Tổng Giám đốc"]
    assert all(p.alignment == 1 for p in cell.paragraphs)  # centred
    assert "Người đại diện theo ủy quyền" not in full_text(document)


def test_english_signature_block(amendment):
    text = signature_text(amendment, ["en"])
    for line in ("Signed for and on behalf of Huanan Precision Manufacturing Co., Ltd.",
                 "Authorized signatory: ", "Name: 陈静", "Title: Procurement Director", "Date: "):
        assert line in text, line


def test_bilingual_party_labels_and_signature_lines_say_each_thing_once(amendment):
    text = full_text(open_docx(render(amendment, ["en", "zh"])))
    assert "Party A (Client): Huanan Precision Manufacturing Co., Ltd." in text and "甲方：华南精密制造有限公司" in text
    block = signature_text(amendment, ["en", "zh"])
    assert "Name / 姓名：陈静" in block and block.count("陈静") == 1


# -- prevailing language ---------------------------------------------------------------------


def test_bilingual_document_states_the_prevailing_language_in_both_columns(amendment):
    text = full_text(open_docx(render(amendment, ["en", "zh"])))
    assert "This document is made in English and Chinese; in case of discrepancy the English version prevails." in text
    assert "本文件以英文和中文两种文字书就；两种文本如有不一致，以英文文本为准。" in text
    amendment["prevailing_language"] = "zh"
    text = full_text(open_docx(render(amendment, ["en", "zh"])))
    assert "the Chinese version prevails" in text and "以中文文本为准" in text


@pytest.mark.parametrize("kind", ["plan", "review_pack", "work_order"])
def test_every_kind_states_it_in_vietnamese_too(example, kind):
    text = full_text(open_docx(render(example(kind), ["vi", "en"])))
    assert "bản tiếng Việt được ưu tiên áp dụng" in text and "the Vietnamese version prevails" in text
    assert "version prevails" not in full_text(open_docx(render(example(kind), ["en"])))


def test_the_prevailing_language_is_one_of_the_documents(amendment):
    amendment["prevailing_language"] = "vi"
    with pytest.raises(ValidationError) as refused:
        render(amendment, ["en", "zh"])
    assert refused.value.errors == [("prevailing_language", "not one of the document's languages (en, zh)")]


# -- British and American English -------------------------------------------------------------


def test_spelling_follows_the_input(amendment):
    assert "Authorized signatory" in signature_text(amendment, ["en"])
    amendment["english"] = "GB"
    british = signature_text(amendment, ["en"])
    assert "Authorised signatory" in british and "Authorized" not in british


# -- titles and units from plain input ----------------------------------------------------------


def test_plain_english_titles_and_units_come_out_in_the_documents_language(tmp_path, amendment):
    amendment["provider"]["title"] = "Client Service Director"
    amendment["client"]["title"] = "General Director"
    amendment["lines"][0]["unit"] = "payslip/month"
    amendment["lines"][1]["unit"] = "month"
    source = tmp_path / "in.json"
    source.write_text(json.dumps(amendment), encoding="utf-8")
    out = tmp_path / "out.docx"
    assert docgen("render", str(source), "-o", str(out), "--lang", "vi").returncode == 0
    text = full_text(open_docx(out.read_bytes()))
    for expected in ("Giám đốc Dịch vụ Khách hàng", "Tổng Giám đốc", "phiếu lương/tháng", "tháng"):
        assert expected in text, expected
    assert "Client Service Director" not in text and "payslip" not in text
    zh = full_text(open_docx(render(amendment, ["zh"])))
    assert "客户服务总监" in zh and "总经理" in zh and "份工资单/月" in zh


def test_a_title_given_in_chinese_is_translated_into_english(amendment):
    amendment["client"]["title"] = "财务总监"
    assert "Title: Finance Director" in signature_text(amendment, ["en"])
    amendment["client"]["title"] = "Chief Happiness Officer"  # not a common title: shown as given
    assert "职务：Chief Happiness Officer" in signature_text(amendment, ["zh"])

