"""Rendered documents, opened again with python-docx: text, fonts, fields, page, bytes."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from docx.oxml.ns import qn

from docgen import render

from .conftest import KIND_NAMES, LANGUAGE_SETS
from .reading import CJK, CJK_FONTS, cell_text, east_asian_font, footer_pattern, full_text, open_docx, runs

FOOTERS = {"en": "Page {PAGE} of {NUMPAGES}", "zh": "第 {PAGE} 页，共 {NUMPAGES} 页", "vi": "Trang {PAGE} / {NUMPAGES}"}
CASES = [(kind, languages) for kind in KIND_NAMES for languages in LANGUAGE_SETS]


@pytest.fixture(scope="module")
def rendered():
    """Every kind in every language and pair, rendered once for this module."""
    from .conftest import load_input

    return {(kind, "+".join(langs)): render(load_input(kind), langs) for kind, langs in CASES}


def _ids(case):
    return f"{case[0]}-{'+'.join(case[1])}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_page_is_a4_with_number_in_header_and_page_fields_in_footer(rendered, case):
    kind, languages = case
    document = open_docx(rendered[kind, "+".join(languages)])
    section = document.sections[0]
    assert (round(section.page_width.mm, 1), round(section.page_height.mm, 1)) == (210, 297)
    number = {
        "amendment": "AMD-2026-0003", "work_order": "WO-2026-0012", "plan": "JBP-2027-0001", "review_pack": "MSR-2026-11",
        "invoice": "INV-2026-11-0457", "statement": "SOA-20261205-3",
    }[kind]
    assert section.header.paragraphs[0].text.endswith(f"· {number}")
    assert footer_pattern(document) == " | ".join(FOOTERS[lang] for lang in languages)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_run_with_chinese_text_resolves_to_a_cjk_font(rendered, case):
    kind, languages = case
    document = open_docx(rendered[kind, "+".join(languages)])
    chinese_runs = [(run, text) for run, text in runs(document) if CJK.search(text)]
    if "zh" in languages:
        assert chinese_runs
    for run, text in chinese_runs:
        assert east_asian_font(run, document) in CJK_FONTS, text


@pytest.mark.parametrize("languages", [["vi"], ["en", "zh"]], ids="+".join)
def test_styles_name_noto_fonts_and_tag_languages_without_theme_fonts(amendment, languages):
    data = render(amendment, languages)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        styles = package.read("word/styles.xml").decode()
        settings = package.read("word/settings.xml").decode()
    assert "Theme=" not in styles and "w:cstheme" not in styles
    defaults = open_docx(data).styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    fonts = defaults.find(qn("w:rFonts"))
    assert (fonts.get(qn("w:ascii")), fonts.get(qn("w:eastAsia"))) == ("Noto Serif", "Noto Serif CJK SC")
    lang = defaults.find(qn("w:lang"))
    assert lang.get(qn("w:val")) == ("vi-VN" if languages[0] == "vi" else "en-US")
    assert lang.get(qn("w:eastAsia")) == "zh-CN"
    assert 'w:val="zh-CN"' not in styles
    assert re.search(r'<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/>', settings)


def test_chinese_amendment_names_parties_and_writes_amounts_and_dates_in_chinese(amendment):
    text = full_text(open_docx(render(amendment, ["zh"])))
    for expected in (
        "合同补充协议",
        "编号：AMD-2026-0003",
        "甲方：华南精密制造有限公司",
        "乙方：Meridian Business Services Ltd",
        "生效日期：2026年12月1日",
        "2024年3月1日签订的《主服务协议》（编号：MSA-2024-018）",
        "价款增减净额",
        "增加人民币 7,000.00",
        "价款增减净额（大写）：增加人民币柒仟元整",
        "数量",
        "单价（人民币）",
        "增加10,200.00",
        "减少3,200.00",
        "甲方（盖章）：华南精密制造有限公司",
        "法定代表人或授权代表（签字）：",
        "日期：    年  月  日",
        "（以下无正文）",
        "代表人：陈静",
        "职务：采购总监",
    ):
        assert expected in text, expected
    assert "CỘNG HÒA" not in text and "负" not in text and "¥" not in text


def test_amendment_records_the_approval_in_the_clients_time_zone(amendment):
    text = full_text(open_docx(render(amendment, ["en"])))
    request = amendment["change_request"]
    assert "Change request: CR-0042: Add payroll for Vietnam entity" in text
    assert "Approved by: 陈静 (typed signature)" in text
    assert "Approved at: 20 November 2026, 16:15 China Standard Time (Asia/Shanghai, UTC+08:00)" in text
    assert f"Version hash: {request['version']}" in text
    assert len(request["version"]) == 64


def test_approval_time_falls_back_to_the_document_zone_then_utc(amendment):
    del amendment["client"]["timezone"]
    assert "08:15 Coordinated Universal Time (UTC, UTC+00:00)" in full_text(open_docx(render(amendment, ["en"])))
    amendment["timezone"] = "Asia/Ho_Chi_Minh"
    assert "15:15 Indochina Time (Asia/Ho_Chi_Minh, UTC+07:00)" in full_text(open_docx(render(amendment, ["en"])))


def test_vietnamese_contract_has_national_header_and_bên_a_bên_b(work_order):
    text = full_text(open_docx(render(work_order, ["vi"])))
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Đơn đặt hàng công việc",
        "Bên A (Khách hàng): Công ty Cổ phần Thương mại Sao Việt",
        "Bên B (Nhà cung cấp dịch vụ): Công ty TNHH Dịch vụ Doanh nghiệp Meridian Việt Nam",
        "được lập ngày 15 tháng 12 năm 2026",
        "từ ngày 04 tháng 01 năm 2027 đến ngày 31 tháng 03 năm 2027",
        "1.250.000.000 đồng",
        "875.000.000",
        "Tổng cộng (bằng chữ): Một tỷ hai trăm năm mươi triệu đồng",
        "Số lượng",
        "Đơn giá (đồng)",
        "Thành tiền (đồng)",
        "Căn cứ Bộ luật Dân sự số 91/2015/QH13 ngày 24 tháng 11 năm 2015;",
        "Căn cứ Luật Thương mại số 36/2005/QH11 ngày 14 tháng 06 năm 2005;",
        "ĐẠI DIỆN BÊN A",
        "(Ký, ghi rõ họ tên và đóng dấu)",
    ):
        assert expected in text, expected


def test_vietnamese_plan_has_no_national_header_and_names_the_client(plan):
    text = full_text(open_docx(render(plan, ["vi"])))
    assert "CỘNG HÒA" not in text
    assert "Khách hàng: Huanan Precision Manufacturing Co., Ltd." in text
    assert "Kế hoạch kinh doanh chung" in text and "Năm tài chính 2027" in text


def test_plan_in_chinese(plan):
    text = full_text(open_docx(render(plan, ["zh"])))
    for expected in (
        "联合业务计划",
        "2027财年",
        "客户：华南精密制造有限公司",
        "关键绩效指标",
        "2027年3月31日",
        "进行中",
        "要求修改",
        "签署确认",
        "人民币 123,456.83",
        "合计（大写）：人民币壹拾贰万叁仟肆佰伍拾陆元捌角叁分",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("plan_type", "period", "title"), [("qbp", "2027-Q1", "Q1 2027"), ("mbp", "2027-03", "March 2027")]
)
def test_plan_periods_are_written_out(plan, plan_type, period, title):
    plan.update(plan_type=plan_type, period=period)
    text = full_text(open_docx(render(plan, ["en"])))
    assert title in text
    assert {"qbp": "Quarterly business plan", "mbp": "Monthly business plan"}[plan_type] in text


def test_bilingual_document_sets_languages_side_by_side_with_both_table_labels(amendment):
    document = open_docx(render(amendment, ["en", "zh"]))
    grid = document.tables[0]
    assert [cell.text for cell in grid.rows[0].cells] == [
        "Contract amendment\nNo. AMD-2026-0003",
        "合同补充协议\n编号：AMD-2026-0003",
    ]
    clauses = next(table for table in document.tables if table.rows[0].cells[0].text.startswith("1.\tThis amendment"))
    assert cell_text(clauses.rows[0].cells[1]).startswith("1.\t本补充协议自2026年12月1日起生效")
    lines = next(table for table in document.tables if cell_text(table.rows[0].cells[0]) == "No. / 序号")
    # The old and the new terms of each line stand under "Before" and "After".
    groups = [cell_text(cell) for cell in lines.rows[0].cells]
    assert groups == [
        "No. / 序号",
        "Change / 变更类型",
        "Description",
        "说明",
        "Unit / 单位",
        *["Before / 变更前"] * 2,
        *["After / 变更后"] * 2,
        "Price impact (CNY) / 价款增减（人民币）",
    ]
    assert [cell_text(cell) for cell in lines.rows[1].cells][5:9] == [
        "Quantity / 数量", "Unit price (CNY) / 单价（人民币）"
    ] * 2
    added, removed = ([cell_text(cell) for cell in row.cells] for row in lines.rows[2:4])
    assert added[2:4] == ["Payroll processing, Vietnam", "越南薪资处理"]
    assert added[5:] == ["—", "—", "120", "85.00", "Increase of 10,200.00\n增加10,200.00"]
    assert removed[5:] == ["1", "3,200.00", "—", "—", "Reduction of 3,200.00\n减少3,200.00"]
    # Each reader sees the total in their own words and format.
    assert cell_text(lines.rows[-1].cells[-1]) == "Increase of CNY 7,000.00\n增加人民币 7,000.00"
    text = full_text(document)
    assert "Net price impact (in words): An increase of seven thousand Chinese yuan" in text
    assert "价款增减净额（大写）：增加人民币柒仟元整" in text
    assert "Changes in scope and price\t服务范围及价款变更" in text


def test_table_header_repeats_and_rows_do_not_split(work_order):
    document = open_docx(render(work_order, ["vi"]))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "STT")
    rows = table._tbl.tr_lst
    assert rows[0].find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
    assert all(row.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None for row in rows)


def test_chinese_document_has_no_english_label(example):
    """With Chinese input text, the only Latin letters left are identifiers."""
    data = example("amendment")
    data["provider"]["name"] = "子午商务服务有限公司"
    data["provider"]["address"] = "香港湾仔港湾道18号"
    data["provider"]["representative"] = "朴丽娜"
    allowed = {"AMD", "MSA", "CR", "Asia", "Shanghai", "UTC"}
    text = full_text(open_docx(render(data, ["zh"])))
    words = set(re.findall(r"[A-Za-z]{2,}", text.replace(data["change_request"]["version"], "")))
    assert words <= allowed, words - allowed


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_same_input_gives_identical_bytes(example, kind):
    first = render(example(kind), ["en", "zh"])
    assert render(example(kind), ["en", "zh"]) == first


def test_bytes_are_identical_across_processes(amendment, tmp_path):
    script = (
        "import hashlib, json, sys, docgen;"
        "data = json.load(open(sys.argv[1], encoding='utf-8'));"
        "print(hashlib.sha256(docgen.render(data)).hexdigest())"
    )
    source = tmp_path / "in.json"
    source.write_text(__import__("json").dumps(amendment), encoding="utf-8")
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(source)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(render(amendment)).hexdigest()}


def test_package_has_fixed_entries_and_properties_from_the_input(amendment):
    data = render(amendment)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        infos = package.infolist()
        core = package.read("docProps/core.xml").decode()
    assert infos[0].filename == "[Content_Types].xml"
    assert [info.filename for info in infos[1:]] == sorted(info.filename for info in infos[1:])
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr for info in infos} == {0o100644 << 16}
    assert "python-docx" not in core
    properties = open_docx(data).core_properties
    assert properties.created == properties.modified == datetime(2026, 11, 22, tzinfo=timezone.utc)
    assert properties.author == "Meridian Business Services Ltd"
    assert properties.title == "Contract amendment AMD-2026-0003"
    assert properties.subject == "Add payroll for Vietnam entity"


LONG_TITLE = "Year-end payroll and personal income tax finalisation for every entity " * 5  # 360 characters


def test_a_title_longer_than_a_core_property_holds_is_shortened_there_and_whole_in_the_body(work_order):
    """Word's core properties hold 255 characters; python-docx refuses more."""
    work_order["title"] = {"en": LONG_TITLE.strip(), "vi": LONG_TITLE.strip()}
    document = open_docx(render(work_order, ["en"]))
    subject = document.core_properties.subject
    assert len(subject) == 255 and subject.endswith("…")
    assert LONG_TITLE.strip().startswith(subject[:-1])
    assert LONG_TITLE.strip() in full_text(document)


def test_hostile_text_is_cleaned_and_kept_literal(amendment):
    amendment["clauses"] = [
        "Null\x00 vertical\x0b form\x0c unit\x1f nonchar\ufffe surrogate\ud800 end",
        "Vie\u0302\u0323t Nam",  # decomposed: Việt
        "{{ 7*7 }} {% if true %}x{% endif %} Smith & Sons <Ltd> %(date)s",
    ]
    amendment["client"]["name"] = "ACME\x07 Ltd"
    text = full_text(open_docx(render(amendment, ["en"])))
    assert "Null vertical form unit nonchar surrogate end" in text
    assert "Việt Nam" in text
    assert "{{ 7*7 }} {% if true %}x{% endif %} Smith & Sons <Ltd> %(date)s" in text
    assert "ACME Ltd" in text and "49" not in text


def test_long_clause_and_two_thousand_line_table_render(work_order):
    clause = "Lorem ipsum dolor sit amet. " * 715  # 20,020 characters
    work_order["acceptance_criteria"] = [clause]
    line = work_order["lines"][0]
    work_order["lines"] = [dict(line, quantity=str(index + 1)) for index in range(2000)]
    document = open_docx(render(work_order, ["en", "vi"]))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "No. / STT")
    assert len(table.rows) == 1 + 2000 + 1
    assert table.rows[2000].cells[0].text == "2000"
    # 2,500,000 x (1 + ... + 2000), in the English and the Vietnamese format
    assert cell_text(table.rows[-1].cells[-1]) == "VND 5,002,500,000,000\n5.002.500.000.000 đồng"
    assert clause.strip() in full_text(document)


def test_line_amounts_and_totals_are_exact_decimals_that_add_up(amendment):
    amendment["lines"] = [
        {"change": "add", "description": "A", "quantity": "3", "unit": "h", "unit_price": "0.1"},
        {"change": "add", "description": "B", "quantity": "0.5", "unit": "h", "unit_price": "0.25"},
        {"change": "modify", "description": "C", "quantity": "1", "unit": "h", "unit_price": "0.005"},
        {"change": "remove", "description": "D", "quantity": "2", "unit": "h", "unit_price": "0.1"},
    ]
    document = open_docx(render(amendment, ["en"]))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "No.")
    # 3 x 0.1 is 0.30 exactly (a float gives 0.30000000000000004); 0.125 and 0.005
    # round half-up; a removed line counts against the total.
    assert [cell_text(row.cells[-1]) for row in table.rows[2:]] == [
        "Increase of 0.30", "Increase of 0.13", "Increase of 0.01", "Reduction of 0.20", "Increase of CNY 0.24"]
    assert "Net price impact (in words): An increase of zero Chinese yuan and twenty-four fen" in full_text(document)
