"""The monthly service review pack: scorecard, charts, sections, languages, input checks."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal

import pytest
from docx.oxml.ns import qn

from docgen import render, validate
from docgen.i18n import Lang
from docgen.kinds.review_pack import percent

from .reading import cell_text, full_text, open_docx

LANGUAGE_SETS = (["en"], ["zh"], ["vi"], ["en", "zh"], ["en", "vi"])
KPI_NAMES = {
    "en": ["Payroll accuracy", "Payroll on time", "Incidents resolved within SLA", "First contact resolution"],
    "zh": ["薪资准确率", "薪资按时发放率", "在服务水平协议时限内解决的事件", "首次联系解决率"],
    "vi": ["Độ chính xác tiền lương", "Tỷ lệ trả lương đúng hạn", "Sự cố được giải quyết đúng SLA"],
}
# Status of each KPI of the example, in order, and how each language writes it.
STATUSES = ["amber", "green", "red", "green", "none"]
STATUS_WORDS = {
    "en": {"green": "Green", "amber": "Amber", "red": "Red", "none": "No data"},
    "zh": {"green": "绿灯", "amber": "黄灯", "red": "红灯", "none": "无数据"},
    "vi": {"green": "Xanh", "amber": "Vàng", "red": "Đỏ", "none": "Chưa có số liệu"},
}
FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "none": None}
# Attainment, KPIs met, overall attainment and a change, as each language writes them.
PERCENTAGES = {
    "en": ["99.6%", "105.6%", "50.0%", "97.5%", "-0.3%", "+1.3%", "95.0%"],
    "zh": ["99.6%", "105.6%", "50.0%", "97.5%", "-0.3%", "+1.3%", "95.0%"],
    "vi": ["99,6%", "105,6%", "50,0%", "97,5%", "-0,3%", "+1,3%", "95,0%"],
}


def _png(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _table(document, first_heading: str):
    return next(table for table in document.tables if cell_text(table.rows[0].cells[0]) == first_heading)


def _pictures(document) -> list[tuple[str, bytes, int, int]]:
    """Every inline picture: alternative text, image bytes, width and height (EMU)."""
    pictures = []
    for shape in document.inline_shapes:
        inline = shape._inline
        embed = inline.find(f".//{qn('a:blip')}").get(qn("r:embed"))
        pictures.append((inline.docPr.get("descr"), document.part.related_parts[embed].blob, shape.width, shape.height))
    return pictures


def _fill(cell) -> str | None:
    shading = cell._tc.find(f"{qn('w:tcPr')}/{qn('w:shd')}")
    return None if shading is None else shading.get(qn("w:fill"))


@pytest.fixture(scope="module")
def rendered():
    from .conftest import load_input

    return {"+".join(langs): render(load_input("review_pack"), langs) for langs in LANGUAGE_SETS}


@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids="+".join)
def test_scorecard_names_kpis_and_writes_statuses_and_percentages_in_each_language(rendered, languages):
    document = open_docx(rendered["+".join(languages)])
    text = full_text(document)
    for lang in languages:
        for name in KPI_NAMES[lang]:
            assert name in text, name
        for value in PERCENTAGES[languages[0]]:
            assert value in text, value
    scorecard = next(table for table in document.tables if cell_text(table.rows[1].cells[0]) == "PAY-ACC")
    status_column = len(scorecard.rows[0].cells) - 2
    cells = [row.cells[status_column] for row in scorecard.rows[1:]]
    expected = [" / ".join(dict.fromkeys(STATUS_WORDS[lang][status] for lang in languages)) for status in STATUSES]
    assert [cell_text(cell) for cell in cells] == expected
    # Colour is not the only signal: the word is there, and the cell is shaded with it.
    assert [_fill(cell) for cell in cells] == [FILLS[status] for status in STATUSES]


SECTIONS = {
    "en": (
        "Monthly service review\nNovember 2026",
        "Client: Huanan Precision Manufacturing Co., Ltd.",
        "2 of 4 KPIs met (50.0%, bar 85%)",
        "Overall attainment: 97.5%",
        "PAY-ACC Payroll accuracy: Two retro-pay corrections in Vietnam",
        "Requests opened: 12",
        "Requests escalated: 1",
        "First response within SLA: 95.0%",
        "Resolution within SLA: 90.0%",
        "Price impact (CNY)",
        "42,980.00",
        "20 November 2026",
        "Disputed",
        "CNY 19,345.67",
        "Action items overdue: 1",
    ),
    "zh": (
        "月度服务回顾\n2026年11月",
        "客户：华南精密制造有限公司",
        "绩效记分卡",
        "4 项关键绩效指标中 2 项达标（50.0%，达标线 85%）",
        "总体达成率：97.5%",
        "服务请求与 SLA 达成情况",
        "SLA 时限内首次响应：95.0%",
        "已批准",
        "已驳回",
        "已付款",
        "有争议",
        "人民币 19,345.67",
        "逾期行动项：1",
    ),
    "vi": (
        "Đánh giá dịch vụ hằng tháng\ntháng 11 năm 2026",
        "Khách hàng: Công ty TNHH Sản xuất Chính xác Hoa Nam",
        "Bảng điểm hiệu suất",
        "2/4 chỉ số KPI đạt mục tiêu (50,0%, ngưỡng 85%)",
        "Tỷ lệ đạt tổng thể: 97,5%",
        "Phản hồi đầu tiên trong hạn SLA: 95,0%",
        "Ngày: 05 tháng 12 năm 2026",
    ),
}
OVERDUE_ACTION = {"en": ("No.", "Open (overdue)"), "zh": ("序号", "待处理（逾期）"), "vi": ("STT", "Đang mở (quá hạn)")}


@pytest.mark.parametrize("lang", ["en", "zh", "vi"])
def test_sections_in_each_language_and_no_contract_wording(rendered, lang):
    document = open_docx(rendered[lang])
    text = full_text(document)
    for expected in SECTIONS[lang]:
        assert expected in text, expected
    assert "CỘNG HÒA" not in text and "Bên A" not in text
    numbers, status = OVERDUE_ACTION[lang]
    overdue = _table(document, numbers).rows[2].cells[-1]
    assert (overdue.text, _fill(overdue)) == (status, FILLS["red"])


def test_chinese_review_pack_has_no_english_label(review_pack):
    review_pack["provider"] = {"name": "子午商务服务有限公司", "representative": "朴丽娜"}
    words = set(re.findall(r"[A-Za-z]{2,}", full_text(open_docx(render(review_pack, ["zh"])))))
    allowed = {"MSR", "PAY", "ACC", "OT", "INC", "SLA", "HELP", "FCR", "INV", "CR", "Lena", "Park"}
    assert words <= allowed, words - allowed


@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids="+".join)
def test_each_chart_is_embedded_once_at_page_width_with_its_title_as_alt_text(rendered, review_pack, languages):
    document = open_docx(rendered["+".join(languages)])
    pictures = _pictures(document)
    charts = review_pack["charts"]
    assert len(pictures) == len(charts)
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    text = full_text(document)
    for (description, blob, width, height), chart in zip(pictures, charts, strict=True):
        title = " / ".join(dict.fromkeys(chart["title"][lang] for lang in languages))
        assert description == title
        assert title in text  # the caption above the picture
        assert blob == base64.b64decode(chart["png_base64"])
        assert width == text_width
        assert height > 0


def test_a_tall_chart_is_narrowed_to_fit_the_page(review_pack):
    review_pack["charts"] = [{"title": "Tall", "png_base64": _encoded(_png(10, 100))}]
    document = open_docx(render(review_pack, ["en"]))
    [(_, _, width, height)] = _pictures(document)
    section = document.sections[0]
    text_height = section.page_height - section.top_margin - section.bottom_margin
    assert height <= 0.6 * text_height + 1
    assert abs(height - 10 * width) <= 10


def test_the_same_chart_twice_is_stored_once_and_bytes_do_not_change(review_pack):
    review_pack["charts"].append({"title": "Again", "png_base64": review_pack["charts"][0]["png_base64"]})
    first = render(review_pack, ["en", "vi"])
    assert render(review_pack, ["en", "vi"]) == first
    document = open_docx(first)
    assert [picture[0] for picture in _pictures(document)][-1] == "Again"
    media = [part for part in document.part.package.parts if part.partname.startswith("/word/media/")]
    assert sorted(part.partname for part in media) == ["/word/media/image1.png", "/word/media/image2.png"]


@pytest.mark.parametrize("languages", [["en"], ["zh"]], ids="+".join)
def test_empty_sections_say_so(review_pack, languages):
    review_pack["scorecard"].update(kpis=[], kpis_met_ratio=None, overall_attainment=None)
    review_pack.update(charts=[], commentary=[], change_requests=[])
    review_pack["invoices"] = {"issued": [], "open": []}
    review_pack["actions"] = {"opened": 0, "closed": 0, "overdue": 0}
    document = open_docx(render(review_pack, languages))
    text = full_text(document)
    sentences = {
        "en": [
            "The scorecard has no KPIs.",
            "No commentary this month.",
            "No change requests were decided this month.",
            "No invoices were issued this month.",
            "No invoices are open.",
            "No action items to report this month.",
        ],
        "zh": ["绩效记分卡中没有关键绩效指标。", "本月无评述。", "本月没有已决定的变更请求。", "本月未开具发票。", "没有未结发票。", "本月没有需要报告的行动项。"],
    }[languages[0]]
    for sentence in sentences:
        assert sentence in text, sentence
    assert all(table.style.name == "Layout Grid" for table in document.tables)  # no data table
    assert not document.inline_shapes


def test_no_kpi_measured_and_no_sla_data(review_pack):
    for kpi in review_pack["scorecard"]["kpis"]:
        kpi.update(actual=None, attainment=None, status="none", change=None)
    review_pack["scorecard"].update(kpis_met_ratio=None, overall_attainment=None)
    review_pack["requests"].update(first_response_met=None, resolution_met=None)
    text = full_text(open_docx(render(review_pack, ["en"])))
    assert "No KPI was measured this month." in text
    assert "KPIs met (" not in text and "Overall attainment" not in text
    assert "First response within SLA: No data" in text


@pytest.mark.parametrize(
    ("value", "lang", "signed", "expected"),
    [
        ("0.99955", "en", False, "100.0%"),  # half-up, where Babel would round half-even
        ("0.99945", "en", False, "99.9%"),
        ("12.5", "vi", False, "1.250,0%"),
        ("-0.00004", "en", True, "0.0%"),  # no "-0.0%"
        ("0.0125", "vi", True, "+1,3%"),
        ("-0.0421", "zh", True, "-4.2%"),
    ],
)
def test_percentages_have_one_decimal_in_the_locale(value, lang, signed, expected):
    assert percent(Decimal(value), Lang(lang), signed) == expected


def test_review_pack_problems_are_listed_with_their_paths(review_pack):
    review_pack["period"] = "2026-13"
    kpis = review_pack["scorecard"]["kpis"]
    kpis[0]["status"] = "blue"
    kpis[1]["attainment"] = "-0.5"
    kpis[2]["name"] = {"fr": "Incidents"}
    review_pack["scorecard"]["threshold"] = "85%"
    review_pack["requests"]["opened"] = -1
    review_pack["requests"]["closed"] = "ten"
    review_pack["change_requests"][0]["decision"] = "pending"
    review_pack["change_requests"][1]["decided_at"] = "last week"
    review_pack["invoices"]["issued"][0]["status"] = "void"
    review_pack["invoices"]["open"][0]["days_overdue"] = True
    review_pack["actions"]["items"][0]["status"] = "blocked"
    del review_pack["currency"]
    assert dict(validate(review_pack)) == {
        "period": "not a month (YYYY-MM)",
        "scorecard.kpis.0.status": "must be one of: 'green', 'amber', 'red' or 'none'",
        "scorecard.kpis.1.attainment": "must not be negative",
        "scorecard.kpis.2.name": "unknown language 'fr' (use en, zh, vi)",
        "scorecard.threshold": "not a decimal amount",
        "requests.opened": "must not be negative",
        "requests.closed": "not a whole number",
        "change_requests.0.decision": "must be one of: 'approved', 'rejected' or 'implemented'",
        "change_requests.1.decided_at": "not a valid date and time (ISO 8601, e.g. 2026-11-20T08:15:00Z)",
        "currency": "required",
        "invoices.issued.0.status": "must be one of: 'issued', 'overdue', 'paid', 'disputed' or 'credited'",
        "invoices.open.0.days_overdue": "not a whole number",
        "actions.items.0.status": "must be one of: 'open', 'in_progress', 'done' or 'cancelled'",
    }


@pytest.mark.parametrize(
    ("png_base64", "message"),
    [
        ("not base64!", "not valid base64"),
        ("iVBORw0KGgo", "not valid base64"),  # padding missing
        (_encoded(b"\xff\xd8\xff\xe0" + bytes(100)), "not a PNG image"),  # a JPEG
        (_encoded(b"GIF89a" + bytes(100)), "not a PNG image"),
        (_encoded(b"\x89PNG\r\n\x1a\n"), "not a readable PNG image"),
        (_encoded(_png(4, 3)[:30]), "not a readable PNG image"),
        (_encoded(_png(0, 0)), "not a readable PNG image"),
        (_encoded(_png(4, 3) + bytes(2 * 1024 * 1024)), "larger than 2 MB"),
        ("A" * (3 * 1024 * 1024), "larger than 2 MB"),
        ("", "required"),
        (None, "required"),
    ],
)
def test_a_chart_must_be_a_png_of_at_most_2_mb(review_pack, png_base64, message):
    review_pack["charts"][1]["png_base64"] = png_base64
    assert validate(review_pack) == [("charts.1.png_base64", message)]


def test_a_chart_in_base64_with_line_breaks_is_accepted(review_pack):
    encoded = review_pack["charts"][0]["png_base64"]
    review_pack["charts"][0]["png_base64"] = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert validate(review_pack) == []


def test_at_most_four_charts(review_pack):
    chart = review_pack["charts"][0]
    review_pack["charts"] = [chart] * 4
    assert validate(review_pack) == []
    review_pack["charts"] = [chart] * 5
    assert validate(review_pack) == [("charts", "at most 4 charts")]


def test_share_of_kpis_met_must_agree_with_the_kpis(review_pack):
    review_pack["scorecard"]["kpis_met_ratio"] = "0.8000"
    assert validate(review_pack) == [
        ("scorecard.kpis_met_ratio", "does not match the KPIs: 2 of 4 measured are green (0.5000)")
    ]


def test_open_total_must_be_the_sum_of_the_open_invoices(review_pack):
    review_pack["invoices"]["open_total"] = "19345.66"
    assert validate(review_pack) == [("invoices.open_total", "does not match the open invoices (sum 19345.67)")]
    del review_pack["invoices"]["open_total"]
    assert validate(review_pack) == []


@pytest.mark.pdf
@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="needs LibreOffice (soffice) and poppler-utils (pdftotext) on PATH",
)
def test_chinese_review_pack_keeps_its_text_and_images_in_pdf(rendered, tmp_path):
    from docgen.pdf import to_pdf

    [pdf] = to_pdf([rendered["zh"]])
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    for expected in ("月度服务回顾", "绩效记分卡", "红", "黄", "绿", "待处理（逾期）", "人民币19,345.67"):
        assert set(expected) <= set(text.stdout), expected
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True)
    assert len(images.stdout.splitlines()) - 2 >= 2
