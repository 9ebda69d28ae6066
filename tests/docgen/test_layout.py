"""Layout mechanics a reader relies on, read from the .docx: each language's text tagged
and formatted its own way, rows and signatures kept together, columns as wide as their
values (the PDF geometry test, test_pdf_layout.py, checks what LibreOffice makes of it)."""

from __future__ import annotations

import shutil

import pytest
from docx.oxml.ns import qn

from docgen import render
from docgen.layout import DATA_CELL_MARGIN
from docgen.tools import make_metrics
from docgen.typesetting import NBSP, WORD_JOINER, keep_whole, text_width

from .reading import cell_text, open_docx

W_VAL, W_EAST_ASIA = qn("w:val"), qn("w:eastAsia")


def _tagged(document, text: str) -> set[tuple[str | None, str | None]]:
    """The language tags of the runs holding ``text``."""
    tags = set()
    for run in document.element.body.iter(qn("w:r")):
        if text in "".join(t.text or "" for t in run.iter(qn("w:t"))):
            lang = run.find(f"{qn('w:rPr')}/{qn('w:lang')}")
            tags.add((None, None) if lang is None else (lang.get(W_VAL), lang.get(W_EAST_ASIA)))
    return tags


def test_each_column_of_a_bilingual_document_is_tagged_with_its_language(work_order):
    document = open_docx(render(work_order, ["en", "vi"]))
    assert _tagged(document, "Year-end payroll closing") == {("en-US", "zh-CN")}
    assert _tagged(document, "Khóa sổ lương cuối năm") == {("vi-VN", "zh-CN")}
    assert _tagged(document, "Điều khoản") == {("vi-VN", "zh-CN")}


def test_a_vietnamese_reader_sees_amounts_and_dates_in_vietnamese_in_a_bilingual_table(work_order, plan):
    lines = next(
        table for table in open_docx(render(work_order, ["en", "vi"])).tables if table.rows[0].cells[0].text == "No. / STT"
    )
    assert cell_text(lines.rows[1].cells[-1]) == "875,000,000\n875.000.000"
    plan["initiatives"][0]["due"] = "2027-12-31"
    initiatives = next(
        table
        for table in open_docx(render(plan, ["en", "zh"])).tables
        if "Initiative" in table.rows[0].cells[1].text
    )
    assert "31 December 2027\n2027年12月31日" in [cell_text(cell) for cell in initiatives.rows[1].cells]


def test_values_and_names_are_written_whole(example):
    data = example("amendment")
    data["client"]["representative"] = "欧阳建国"
    data["provider"]["representative"] = "Nguyễn Thị Phương Thảo"
    text = "\n".join(p.text for p in open_docx(render(data, ["vi"])).element.body.iter(qn("w:t")))
    assert f"ngày{NBSP}01{NBSP}tháng{NBSP}12{NBSP}năm{NBSP}2026" in text
    # The dates of the place and date line and of the legal bases too.
    assert f"Ngày{NBSP}22{NBSP}tháng{NBSP}11{NBSP}năm{NBSP}2026" in text
    assert f"ngày{NBSP}24{NBSP}tháng{NBSP}11{NBSP}năm{NBSP}2015" in text
    assert keep_whole("欧阳建国") in text and "Nguyễn\xa0Thị\xa0Phương\xa0Thảo" in text
    # LibreOffice breaks a Chinese-tagged run between ideographs, word joiner or not.
    assert _tagged(open_docx(render(data, ["zh"])), keep_whole("欧阳建国")) == {(None, "en-US")}
    assert WORD_JOINER.join("欧阳建国") == keep_whole("欧阳建国")


def test_side_by_side_rows_never_split_and_the_last_clause_stays_with_the_signatures(amendment):
    document = open_docx(render(amendment, ["en", "vi"]))
    grids = [table for table in document.tables if table.style.name == "Layout Grid"]
    rows = [row for table in grids for row in table._tbl.tr_lst]
    assert rows and all(row.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None for row in rows)
    keeper = document.tables[-1]._tbl
    assert len(keeper.tr_lst) == 1 and keeper.tr_lst[0].find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None
    kept = "".join(t.text for t in keeper.iter(qn("w:t")))
    # The last clause of a bilingual contract says which language prevails.
    assert "in case of discrepancy the English version prevails" in kept
    assert "Signed for and on behalf of" in kept and "ĐẠI DIỆN BÊN A" in kept


@pytest.mark.parametrize("languages", [["zh"], ["en", "zh"]])
def test_the_chinese_end_of_text_line_stays_with_the_last_clause_and_the_signatures(amendment, languages):
    """以下无正文 ends the text: never alone at the top of a page of signatures."""
    keeper = open_docx(render(amendment, languages)).tables[-1]._tbl
    kept = "".join(t.text for t in keeper.iter(qn("w:t")))
    last_clause = "双方各执一份" if languages == ["zh"] else "以英文文本为准"
    assert last_clause in kept and "（以下无正文）" in kept and "甲方（盖章）" in kept
    assert kept.index(last_clause) < kept.index("（以下无正文）") < kept.index("甲方（盖章）")


def test_a_lines_unit_is_written_whole(amendment):
    amendment["lines"][0]["unit"] = {"en": "payslip/month", "zh": "份工资单/月", "vi": "phiếu lương/tháng"}
    for languages, unit in ((["zh"], "份工资单/月"), (["vi"], "phiếu lương/tháng"), (["en", "zh"], "份工资单/月")):
        text = "".join(t.text for t in open_docx(render(amendment, languages)).element.body.iter(qn("w:t")))
        assert keep_whole(unit) in text, languages


def test_widow_and_orphan_control_is_on_in_the_normal_style(amendment):
    normal = open_docx(render(amendment, ["en"])).styles["Normal"]
    assert normal.paragraph_format.widow_control is True


def test_the_vietnamese_national_header_is_set_to_fit_its_column(work_order):
    document = open_docx(render(work_order, ["en", "vi"]))
    column = document.tables[0].columns[1].width - 2 * DATA_CELL_MARGIN
    paragraph = next(p for p in document.tables[0].rows[0].cells[1].paragraphs if p.text.startswith("CỘNG"))
    size = paragraph.runs[0].font.size
    assert size is not None and size.pt < 11
    assert text_width(paragraph.text, "Noto Serif", True) * size <= column
    assert " " not in paragraph.text


def test_an_amount_column_is_as_wide_as_its_widest_amount(work_order):
    work_order["lines"][0]["unit_price"] = "13137707949"
    document = open_docx(render(work_order, ["vi"]))
    lines = next(table for table in document.tables if table.rows[0].cells[0].text == "STT")
    widest = cell_text(lines.rows[1].cells[-1])
    assert widest == "4.598.197.782.150"
    assert lines.columns[-1].width >= text_width(widest, "Noto Serif", False) * 9 * 12700 + 2 * DATA_CELL_MARGIN


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="needs fontconfig (fc-match)")
def test_the_committed_font_widths_match_the_installed_fonts():
    if not all(make_metrics.font_file(family).name.startswith("Noto") for family in make_metrics.FAMILIES):
        pytest.skip("the Noto fonts are not installed (fonts-noto-core)")
    assert make_metrics.WIDTHS_FILE.read_text(encoding="utf-8") == make_metrics.build()
