"""Converted to PDF by LibreOffice, the Chinese and Vietnamese text is really there."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from docgen import render
from docgen.pdf import to_pdf

from .conftest import INPUTS, docgen, load_input

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        shutil.which("soffice") is None or shutil.which("pdftotext") is None,
        reason="needs LibreOffice (soffice) and poppler-utils (pdftotext) on PATH",
    ),
]


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return unicodedata.normalize("NFC", text)


def test_documents_in_each_language_keep_their_text_in_pdf(tmp_path):
    documents = {
        "en": render(load_input("amendment"), ["en"]),
        "zh": render(load_input("amendment"), ["zh"]),
        "vi": render(load_input("work_order"), ["vi"]),
        "zh+vi": render(load_input("plan"), ["zh", "vi"]),
    }
    texts = dict(zip(documents, (pdf_text(pdf, tmp_path) for pdf in to_pdf(list(documents.values()))), strict=True))

    assert "Page 1 of 2" in texts["en"] and "An increase of seven thousand Chinese yuan" in " ".join(texts["en"].split())
    # Compare characters, not paragraphs: wraps and table cells split the text.
    chinese = texts["zh"]
    for expected in ("合同补充协议", "甲方", "乙方", "人民币柒仟元整", "第 1 页，共 2 页", "2026年12月1日"):
        assert set(expected) <= set(chinese), expected
    assert "人民币柒仟元整" in chinese
    vietnamese = texts["vi"]
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Bên A",
        "Một tỷ hai trăm năm mươi triệu đồng",
    ):
        assert set(expected.split()) <= set(vietnamese.split()), expected
    both = texts["zh+vi"]
    assert {"联", "合", "业", "务", "计", "划"} <= set(both)
    assert {"KẾ", "HOẠCH", "Ký", "xác", "nhận"} <= set(both.split())


def test_cli_writes_a_pdf(tmp_path):
    out = tmp_path / "wo.pdf"
    result = docgen("render", str(INPUTS / "work_order.json"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert "Bên A" in pdf_text(out.read_bytes(), tmp_path)
    assert not out.with_suffix(".docx").exists()
