"""python -m docgen: kinds, render, bad input."""

from __future__ import annotations

import json

import pytest

from .conftest import INPUTS, docgen
from .reading import full_text, open_docx


def test_kinds_lists_the_kinds():
    result = docgen("kinds")
    assert result.returncode == 0
    assert result.stdout.split() == ["amendment", "work_order", "plan", "review_pack", "invoice", "statement",
                                     "credit_note", "portfolio_report", "quotation"]


def test_render_writes_the_document(tmp_path):
    out = tmp_path / "wo.docx"
    result = docgen("render", str(INPUTS / "work_order.json"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Bên A" in full_text(open_docx(out.read_bytes()))


def test_lang_overrides_the_input_languages(tmp_path):
    out = tmp_path / "wo.docx"
    assert docgen("render", str(INPUTS / "work_order.json"), "-o", str(out), "--lang", "zh+vi").returncode == 0
    text = full_text(open_docx(out.read_bytes()))
    assert "甲方：星越贸易股份公司" in text and "Bên A (Khách hàng): Công ty Cổ phần Thương mại Sao Việt" in text


def test_bad_input_prints_one_line_per_problem_and_writes_nothing(tmp_path, work_order):
    work_order["contract"].pop("currency")
    work_order["lines"][0]["unit_price"] = "abc"
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(work_order), encoding="utf-8")
    out = tmp_path / "bad.docx"
    result = docgen("render", str(source), "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["contract.currency: required", "lines.0.unit_price: not a decimal amount"]
    assert not out.exists()


def test_bad_lang_option(tmp_path):
    out = tmp_path / "x.docx"
    result = docgen("render", str(INPUTS / "plan.json"), "-o", str(out), "--lang", "en+fr")
    assert (result.returncode, result.stderr.strip()) == (2, "languages: unknown language 'fr' (use en, zh, vi)")
    assert not out.exists()


@pytest.mark.parametrize(("content", "message"), [("{not json", "input: not valid JSON"), (None, "input: cannot read")])
def test_unreadable_input(tmp_path, content, message):
    source = tmp_path / "in.json"
    if content is not None:
        source.write_text(content, encoding="utf-8")
    result = docgen("render", str(source), "-o", str(tmp_path / "x.docx"))
    assert result.returncode == 2
    assert result.stderr.startswith(message)


def test_pdf_without_libreoffice_is_a_clear_error(tmp_path):
    out = tmp_path / "x.pdf"
    result = docgen("render", str(INPUTS / "plan.json"), "-o", str(out), env={"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "LibreOffice (soffice) is not on PATH" in result.stderr
    assert list(tmp_path.iterdir()) == []
