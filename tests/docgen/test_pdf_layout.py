"""What a reader of the PDF notices: no amount, date, number or name split across two
lines, table headings whole, the signature block on one page with the clause before it,
and no page opening on the lone last word of a clause.

Every kind in every language and pair is rendered with hostile but valid input (amounts
of nine to thirteen digits in VND and CNY, long names, long titles, many lines),
converted by LibreOffice once for the module, and read back with ``pdftotext
-bbox-layout``: each word with its box, grouped in lines and blocks.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx.oxml.ns import qn
from lxml import etree

from docgen import render
from docgen.formatting import quantize_money
from docgen.i18n import Lang
from docgen.kinds import KINDS
from docgen.pdf import to_pdf
from docgen.schema import parse
from tests.conftest import skip_or_fail

from .conftest import load_input
from .reading import open_docx

pytestmark = pytest.mark.pdf

LANGUAGE_SETS = ("en", "zh", "vi", "en+zh", "en+vi", "zh+vi", "zh+en", "vi+en")
# Each currency in every language somewhere in the matrix, alternating by language set.
CURRENCIES = dict(zip(LANGUAGE_SETS, ("CNY", "VND") * 4, strict=True))
# The kinds resting on a contract or a plan; the invoice and the statement have their own
# figures test (test_billing_pdf.py).
CASES = [(kind, languages) for kind in ("amendment", "work_order", "plan", "review_pack") for languages in LANGUAGE_SETS]

PERSON_A = "欧阳建国"
PERSON_B = "Nguyễn Thị Phương Thảo"
PERSON_C = "Trần Thị Ngọc Bích"
LAST_DAY = "2027-12-31"
# Amounts of nine to thirteen digits before the decimals, as VND and CNY contracts hold.
PRICES = ("13137707949.49", "100010001.01", "1234567890.12", "99999999999.99", "987654321.98", "120000.00")
QUANTITIES = ("1", "7200", "12", "3", "7500", "350")

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u2060\u200b\u200d\ufeff"))
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")
_LATIN = "0-9A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_IS_LATIN = re.compile(f"[{_LATIN}]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# A body line lies between the top and bottom margins (20 mm); header and footer do not.
BODY_TOP, BODY_BOTTOM = 20 / 25.4 * 72 - 2, (297 - 20) / 25.4 * 72 + 2
# A line of Chinese is one "word" to pdftotext: this many characters are a lone word.
LONE_CJK = 4
# The last word of a clause; not a clause's number ("5.").
CLAUSE_END = re.compile(r"(?<!^\d)(?<!^\d\d)[.。;；!?！？]$")


def normalize(text: str) -> str:
    """Text as a reader reads it: NFC, no zero-width marks, one space between words and
    none beside a CJK character (the PDF spaces digits from ideographs), in lower case
    (a title is set in capitals)."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH).replace("\xa0", " ").casefold()
    return _SPACE_BY_CJK.sub("", " ".join(text.split()))


def occurrences(value: str, text: str) -> int:
    """How often ``value`` stands whole in ``text``: not inside a longer number or
    Latin word (Chinese has no word boundaries to check)."""
    start = rf"(?<![{_LATIN}])(?<!\d[.,])" if _IS_LATIN.match(value[0]) else ""
    end = rf"(?![{_LATIN}]|[.,]\d)" if _IS_LATIN.match(value[-1]) else ""
    return len(re.findall(start + re.escape(value) + end, text))


# -- hostile input --------------------------------------------------------------


def _parties(data: dict) -> None:
    data["client"]["representative"] = PERSON_A
    data["provider"]["representative"] = PERSON_B
    data["provider"]["name"] = {
        "en": "Meridian Business Services Vietnam Company Limited",
        "zh": "子午商务服务（越南）有限责任公司",
        "vi": "Công ty TNHH Dịch vụ Doanh nghiệp Meridian Việt Nam",
    }


def _lines(count: int, *, amendment: bool = False) -> list[dict]:
    lines = []
    for index in range(count):
        line = {
            "description": {
                "en": f"Payroll processing and personal income tax finalisation, entity {index + 1}",
                "zh": f"薪资处理及个人所得税汇算清缴（第{index + 1}实体）",
                "vi": f"Xử lý tiền lương và quyết toán thuế thu nhập cá nhân, pháp nhân {index + 1}",
            },
            "quantity": QUANTITIES[index % len(QUANTITIES)],
            "unit": {"en": "payslip/month", "zh": "份工资单/月", "vi": "phiếu lương/tháng"},
            "unit_price": PRICES[index % len(PRICES)],
        }
        if amendment:
            line["change"] = ("add", "modify", "remove")[index % 3]
            if line["change"] == "modify":
                line |= {"old_quantity": "7200", "old_unit_price": "120000.00"}
        lines.append(line)
    return lines


def hostile(kind: str, languages: str) -> dict:
    data = copy.deepcopy(load_input(kind))
    data["languages"] = languages.split("+")
    currency = CURRENCIES[languages]
    _parties(data)
    data["date"] = "2027-12-30"
    if kind in ("amendment", "work_order"):
        data["contract"] |= {"currency": currency, "number": "MSA-2024-000018", "signed_on": "2024-11-28"}
    if kind == "amendment":
        data["number"] = "AMD-2027-000123"
        data["effective_date"] = LAST_DAY
        data["change_request"] |= {
            "approved_by": PERSON_A,
            "approved_at": "2027-12-29T15:45:00Z",
            "title": {
                "en": "Add payroll and personal income tax finalisation for the new Vietnam and Shenzhen entities",
                "zh": "新增越南及深圳新设实体的薪资处理与个人所得税汇算清缴服务",
                "vi": "Bổ sung dịch vụ tính lương và quyết toán thuế thu nhập cá nhân cho các pháp nhân mới",
            },
        }
        data["lines"] = _lines(12, amendment=True)
        data["clauses"] = [
            {
                "en": "The Provider shall start payroll processing for every new entity within thirty days.",
                "zh": "乙方应在三十日内为每一新设实体开始提供薪资处理服务。",
                "vi": "Bên B bắt đầu xử lý tiền lương cho từng pháp nhân mới trong vòng ba mươi ngày.",
            }
        ] * 3
    elif kind == "work_order":
        data["number"] = "WO-2027-004481"
        data["po_number"] = "PO-SV-2027-004481"
        data["end_date"] = LAST_DAY
        data["lines"] = _lines(14)
    elif kind == "plan":
        data["number"] = "JBP-2027-000001"
        data["currency"] = currency
        for initiative, owner in zip(data["initiatives"], (PERSON_A, PERSON_B), strict=True):
            initiative |= {"owner": owner, "due": LAST_DAY}
        data["budget"] = [
            {"item": {"en": f"Onboarding project, phase {n}", "zh": f"上线项目第{n}期", "vi": f"Dự án triển khai, giai đoạn {n}"},
             "amount": price}
            for n, price in enumerate(PRICES, start=1)
        ]
        data["risks"][0]["owner"] = PERSON_C
        data["reviews"][0]["reviewer"] = PERSON_B
        data["reviews"][1]["reviewer"] = PERSON_A
    else:
        data["number"] = "MSR-2027-000012"
        data["currency"] = currency
        for change, price in zip(data["change_requests"], PRICES, strict=False):
            change["price_impact"] = price
        invoices = data["invoices"]
        for invoice, price in zip(invoices["issued"], PRICES[2:], strict=False):
            invoice |= {"total": price, "issue_date": LAST_DAY}
        for invoice, price in zip(invoices["open"], PRICES[3:], strict=False):
            invoice |= {"amount": price, "due_date": LAST_DAY}
        invoices.pop("open_total", None)
        for item, owner in zip(data["actions"]["items"], (PERSON_A, PERSON_B, PERSON_C), strict=False):
            item |= {"owner": owner, "due": LAST_DAY}
    return data


# -- what the input implies --------------------------------------------------------------


def _amounts(kind: str, data: dict) -> list[Decimal]:
    """Every amount the document writes, the totals included."""
    if kind in ("amendment", "work_order"):
        document = parse(KINDS[kind].model, data)
        amounts = [line.amount for line in document.lines] + [line.unit_price for line in document.lines]
        amounts += [line.old_unit_price for line in document.lines if getattr(line, "old_unit_price", None)]
        currency = document.currency
        return amounts + [sum((quantize_money(a, currency) for a in amounts[: len(document.lines)]), Decimal(0))]
    if kind == "plan":
        amounts = [Decimal(item["amount"]) for item in data["budget"]]
        return amounts + [sum((quantize_money(a, data["currency"]) for a in amounts), Decimal(0))]
    invoices = data["invoices"]
    amounts = [Decimal(change["price_impact"]) for change in data["change_requests"]]
    amounts += [Decimal(invoice["total"]) for invoice in invoices["issued"]]
    opened = [Decimal(invoice["amount"]) for invoice in invoices["open"]]
    return amounts + opened + [sum((quantize_money(a, data["currency"]) for a in opened), Decimal(0))]


def expected_whole(kind: str, data: dict) -> tuple[set[str], set[str]]:
    """The values that must stand whole on one line: (all of them, those the document
    must show at least once, in every one of its languages' formats)."""
    document = parse(KINDS[kind].model, data)
    langs = [
        Lang(code, currency=document.currency, zone=document.zone, contract_style=KINDS[kind].contract)
        for code in document.languages
    ]
    amounts = _amounts(kind, data)
    widest = max(amounts[:-1], key=abs)  # the total is written once, in a totals row
    last_day = date.fromisoformat(LAST_DAY)
    days = {last_day, document.date}
    quantities = {Decimal(q) for q in QUANTITIES}
    values: set[str] = {PERSON_A, PERSON_B, document.number}
    contract = getattr(document, "contract", None)
    if contract is not None:  # named in the opening sentence (MSA-2025-027)
        values.add(contract.number)
    required: set[str] = {PERSON_A, document.number}
    for lang in langs:
        values |= {lang.amount(amount) for amount in amounts} | {lang.money(amount) for amount in amounts}
        values |= {lang.date(day) for day in days} | {lang.short_date(day) for day in days}
        values |= {lang.number(quantity) for quantity in quantities}
        # In a table in plans and review packs, in a sentence in contracts.
        required |= {lang.amount(widest), lang.date(last_day) if KINDS[kind].contract else lang.short_date(last_day)}
    # One to three digits have nowhere to break.
    return {normalize(value) for value in values if len(value) > 3}, {normalize(value) for value in required}


# -- reading the PDF ------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    page: int
    block: int
    top: float
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return normalize(" ".join(self.words))


def pdf_lines(pdf: Path) -> list[Line]:
    """The body lines of every page (header and footer left out), in reading order."""
    html = subprocess.run(
        ["pdftotext", "-bbox-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout
    root = etree.fromstring(html, etree.HTMLParser(encoding="utf-8"))
    lines = []
    for page_number, page in enumerate(root.iter("page"), start=1):
        for block_number, block in enumerate(page.iter("block")):
            for line in block.iter("line"):
                words = tuple(word.text or "" for word in line.iter("word"))
                top, bottom = float(line.get("ymin")), float(line.get("ymax"))
                if top >= BODY_TOP and bottom <= BODY_BOTTOM and words:
                    lines.append(Line(page_number, block_number, top, words))
    return lines


def body_paragraphs(body: etree._Element) -> Iterator[str]:
    for paragraph in body.iter(qn("w:p")):
        yield normalize("".join(node.text or " " for node in paragraph.iter(qn("w:t"), qn("w:tab"), qn("w:br"))))


@dataclass(frozen=True)
class Rendered:
    kind: str
    languages: str
    data: dict
    docx: bytes
    lines: list[Line]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[tuple[str, str], Rendered]:
    """Every case rendered and converted once, in one batch, for the whole module."""
    for tool in ("soffice", "pdftotext"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed (Debian packages libreoffice-writer-nogui, poppler-utils)")
    inputs = {case: hostile(*case) for case in CASES}
    documents = {case: render(data) for case, data in inputs.items()}
    folder = tmp_path_factory.mktemp("pdf-layout")
    results = {}
    for (case, docx), pdf in zip(documents.items(), to_pdf(list(documents.values())), strict=True):
        path = folder / f"{case[0]}-{case[1]}.pdf"
        path.write_bytes(pdf)
        results[case] = Rendered(*case, inputs[case], docx, pdf_lines(path))
    return results


def _case_id(case: tuple[str, str]) -> str:
    return "-".join(case)


# -- what a reader sees -----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_no_amount_date_number_or_name_is_split_across_lines(rendered, case):
    document = rendered[case]
    values, required = expected_whole(case[0], document.data)
    body = open_docx(document.docx).element.body
    paragraphs = list(body_paragraphs(body))
    lines = [line.text for line in document.lines]
    missing = sorted(value for value in required if not any(occurrences(value, p) for p in paragraphs))
    assert not missing, f"not written in every language's format: {missing}"
    split = {}
    for value in values:
        written = sum(occurrences(value, paragraph) for paragraph in paragraphs)
        whole = sum(occurrences(value, line) for line in lines)
        if whole < written:
            split[value] = (written, whole)
    assert not split, f"split across lines (times written, times whole on a line): {split}"


def _heading_rows(body: etree._Element) -> list[etree._Element]:
    """The heading rows of the data tables (repeated on each page)."""
    return [row for row in body.iter(qn("w:tr")) if row.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_table_headings_never_break_inside_a_word(rendered, case):
    document = rendered[case]
    body = open_docx(document.docx).element.body
    words = set()
    for row in _heading_rows(body):
        for paragraph in body_paragraphs(row):
            words |= {word for word in re.split(r"[\s/()（）]+", _CJK_RUN.sub(" ", paragraph)) if len(word) > 1}
            words |= set(_CJK_RUN.findall(paragraph))
    assert words
    lines = [line.text for line in document.lines]
    headings = [paragraph for row in _heading_rows(body) for paragraph in body_paragraphs(row)]
    # A heading repeats on every page; the same words may stand in the text too.
    broken = sorted(
        word
        for word in words
        if sum(occurrences(word, line) for line in lines) < sum(occurrences(word, p) for p in headings)
    )
    assert not broken, f"heading words broken across lines: {broken}"


def _signature_table(body: etree._Element) -> etree._Element | None:
    """The table whose own cells hold the signature lines (style "Signature")."""
    for table in body.iter(qn("w:tbl")):
        own = [p for p in table.iter(qn("w:p")) if next(p.iterancestors(qn("w:tbl"))) is table]
        if any(p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}[@{qn('w:val')}='Signature']") is not None for p in own):
            return table
    return None


def _block_before(table: etree._Element) -> list[etree._Element]:
    """The paragraphs of the block written just before ``table``: a paragraph, or the
    last row of a table, looking out of the cells that hold it."""
    element = table
    while element is not None:
        previous = element.getprevious()
        while previous is not None and (
            previous.tag not in (qn("w:p"), qn("w:tbl")) or not "".join(previous.itertext()).strip()
        ):
            previous = previous.getprevious()
        if previous is not None:
            if previous.tag == qn("w:p"):
                return [previous]
            return list(previous.findall(qn("w:tr"))[-1].iter(qn("w:p")))
        element = next(element.iterancestors(qn("w:tbl")), None)
    return []


def _page_of(paragraph: str, lines: list[Line], *, end: bool) -> int | None:
    """The page of a paragraph's first (or last) line: the last line in the document
    that its text starts (ends) with, or that starts (ends) it."""
    flat = paragraph.replace(" ", "")
    for line in reversed(lines):
        piece = line.text.replace(" ", "")
        if end and (flat.endswith(piece) or piece.endswith(flat[-12:])):
            return line.page
        if not end and (flat.startswith(piece) or piece.startswith(flat[:12])):
            return line.page
    return None


@pytest.mark.parametrize("case", [case for case in CASES if case[0] != "review_pack"], ids=_case_id)
def test_signature_block_is_on_one_page_with_the_block_before_it(rendered, case):
    """The block is the document's last: it and the clause (or heading) before it start
    and end on one page."""
    document = rendered[case]
    body = open_docx(document.docx).element.body
    table = _signature_table(body)
    assert table is not None
    paragraphs = [*_block_before(table), *table.iter(qn("w:p"))]
    texts = [normalize("".join(t.text or "" for t in p.iter(qn("w:t")))) for p in paragraphs]
    pages = {
        (text, side): _page_of(text, document.lines, end=side == "end")
        for text in texts
        if text
        for side in ("start", "end")
    }
    by_page: dict[int | None, list[str]] = {}
    for (text, side), page in pages.items():
        by_page.setdefault(page, []).append(f"{side} of {text[:40]!r}")
    assert len(by_page) == 1 and None not in by_page, f"pages of the block's lines: {by_page}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_no_page_opens_with_the_lone_last_word_of_a_clause(rendered, case):
    document = rendered[case]
    body = open_docx(document.docx).element.body
    headings = {word for row in _heading_rows(body) for text in body_paragraphs(row) for word in text.split()}
    top = {}
    for line in document.lines:
        top[line.page] = min(top.get(line.page, line.top), line.top)
    lone = [
        (line.page, line.text)
        for line in document.lines
        if line.page > 1
        and line.top - top[line.page] < 2
        and len(line.words) == 1
        and (len(line.text) <= LONE_CJK or not _CJK_RUN.search(line.text))
        and CLAUSE_END.search(line.text)
        and line.text not in headings
    ]
    assert not lone, f"pages opening with a lone last word: {lone}"
