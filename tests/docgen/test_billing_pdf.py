"""The invoice and the statement of account through LibreOffice, in English, Chinese,
Vietnamese, and English beside Chinese and beside Vietnamese: every amount, number, code and date of the
document comes out of the PDF whole (``pdftotext`` puts a figure broken across lines or
cells on two, and joins one broken at a hyphen without it), as often as the document
holds it; and the totals a reader checks are among them.

One batch conversion for the ten documents; the layout's own split-number matrix
covers every kind in every language and pair."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from docx.oxml.ns import qn

from docgen import render
from docgen.i18n import Lang
from docgen.kinds.statement import table_date
from docgen.pdf import to_pdf
from docgen.typesetting import WORD_JOINER

from .conftest import load_input
from .reading import open_docx

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        shutil.which("soffice") is None or shutil.which("pdftotext") is None,
        reason="needs LibreOffice (soffice) and poppler-utils (pdftotext) on PATH",
    ),
]

KINDS = ("invoice", "statement", "credit_note")
LANGUAGE_SETS = (["en"], ["zh"], ["vi"], ["en", "zh"], ["en", "vi"])
# What must never break: codes (INV-2026-11-0457, BKCHCNBJ300, 91310115MA1K4QXX3B), dates written as one
# word (2026年11月30日, 15/06/2026, 2026-06-15, 14 Aug 2026) and grouped numbers with
# their currency (CNY 149,857.50, 人民币 149,857.50, 13.137.707.949 đồng: a no-break space). Short numbers (a day count) cannot.
FIGURE = re.compile(
    r"[A-Z]{2,}[A-Z0-9]*(?:-[A-Z0-9]+)+"
    r"|\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6,}\b"
    r"|\d{4}年\d{1,2}月\d{1,2}日"
    r"|\d{1,2}[ \u00a0][A-Z][a-z]{2}[ \u00a0]\d{4}"
    r"|(?:[A-Z]{3}\u00a0|[\u4e00-\u9fff]{2,5}\u00a0)?\d[\d.,/\-\u2011\u00a0]*\d(?:\u00a0(?:[A-Z]{3}|đồng))?"
)


def squeezed(text: str) -> str:
    """Without spaces: pdftotext spaces Chinese from digits (2026 年 11 月) and turns a
    no-break space into a space; with plain hyphens for non-breaking ones and without
    the word joiners that keep a value whole (nothing is drawn for them). A figure
    broken across lines is still on two."""
    text = unicodedata.normalize("NFC", text).replace("\u2011", "-").replace(WORD_JOINER, "")
    return "".join(text.split())


def figures(docx: bytes) -> Counter[str]:
    """How many times the document's body holds each figure of three characters or more
    (the header, repeated on every page, would hide a figure broken once in the body)."""
    found = Counter()
    for paragraph in open_docx(docx).element.body.iter(qn("w:p")):
        text = "".join(t.text or "" for t in paragraph.iter(qn("w:t"))).replace(WORD_JOINER, "")
        found.update(squeezed(match) for match in FIGURE.findall(text) if len(squeezed(match)) >= 3)
    return found


def pdf_lines(pdf: bytes, docx: bytes, tmp_path) -> list[str]:
    """The PDF's lines, squeezed, without the page header's."""
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    header = squeezed(open_docx(docx).sections[0].header.paragraphs[0].text)
    return [line for line in map(squeezed, text.splitlines()) if line != header]


def checked_totals(kind: str, lang: Lang) -> list[str]:
    """The figures a reader checks first, in the tables' language (the first)."""
    if kind == "invoice":
        return [lang.money(Decimal(value)) for value in ("141375.00", "8482.50", "149857.50", "147737.50")] + [
            "INV-2026-11-0457", "PO-HN-2026-0193", "BKCHCNBJ300"]
    if kind == "credit_note":  # the credited invoice's number beside a long Vietnamese label
        return [lang.money(Decimal("12700000")), "SC-2026-0006", "INV-SVT-VN-202610", "MSA-2025-031"]
    vnd, usd = Lang(lang.code, currency="VND"), Lang(lang.code, currency="USD")
    return [vnd.amount(Decimal("16621907949")), vnd.amount(Decimal("13137707949")), usd.amount(Decimal("18450.75")),
            "INV-SV-2026-0330", table_date(date(2026, 8, 14), lang)]


@pytest.fixture(scope="module")
def rendered():
    documents = {(kind, "+".join(langs)): render(load_input(kind), langs)
                 for kind in KINDS for langs in LANGUAGE_SETS}
    return {key: (docx, pdf) for (key, docx), pdf in zip(documents.items(), to_pdf(list(documents.values())),
                                                          strict=True)}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids="+".join)
def test_every_figure_comes_out_whole(rendered, tmp_path, kind, languages):
    docx, pdf = rendered[kind, "+".join(languages)]
    expected = figures(docx)
    lang = Lang(languages[0], currency=load_input(kind).get("currency"))
    assert {squeezed(total) for total in checked_totals(kind, lang)} <= set(expected)
    lines = pdf_lines(pdf, docx, tmp_path)
    broken = {figure: (count, sum(line.count(figure) for line in lines)) for figure, count in expected.items()
              if sum(line.count(figure) for line in lines) < count}
    assert broken == {}, f"{kind} {'+'.join(languages)}: figure: (times in the document, whole in the PDF)"
