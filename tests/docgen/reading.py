"""Reading rendered documents back: text, runs, fonts, fields (test helpers)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import docx
from docx.document import Document
from docx.oxml.ns import qn
from lxml import etree

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
CJK_FONTS = {"Noto Serif CJK SC", "Noto Sans CJK SC", "Noto Sans Mono CJK SC"}


def open_docx(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def stories(document: Document) -> list[etree._Element]:
    """The body, header and footer elements of the document's only section."""
    section = document.sections[0]
    return [document.element.body, section.header._element, section.footer._element]


def paragraph_texts(document: Document) -> list[str]:
    """Text of every paragraph (including those in table cells, header and footer)."""
    return [_text(p) for story in stories(document) for p in story.iter(qn("w:p"))]


# What a reader sees of the marks that keep a value on one line (docgen.typesetting):
# a no-break space is a space, a word joiner nothing.
AS_READ = str.maketrans({"\u00a0": " ", "\u2060": None})


def _text(element: etree._Element) -> str:
    """The text of an element as a reader reads it (see ``AS_READ``)."""
    pieces = {qn("w:tab"): "\t", qn("w:br"): "\n"}
    return "".join(
        node.text or "" if node.tag == qn("w:t") else pieces[node.tag]
        for node in element.iter(qn("w:t"), qn("w:tab"), qn("w:br"))
        if node.getparent().tag == qn("w:r")
    ).translate(AS_READ)


def cell_text(cell) -> str:
    """A table cell's text as a reader reads it (python-docx's ``cell.text``, read)."""
    return cell.text.translate(AS_READ)


def signature_cells(document: Document) -> list:
    """The cells of the signature blocks, one per party: the last row of the grid the
    layout's keeper (the document's last table) holds after the block it keeps with them."""
    keeper = document.tables[-1].rows[0].cells[0]
    return list(keeper.tables[-1].rows[-1].cells)


def full_text(document: Document) -> str:
    return "\n".join(paragraph_texts(document))


def runs(document: Document) -> Iterator[tuple[etree._Element, str]]:
    """Every run with text, and its text."""
    for story in stories(document):
        for run in story.iter(qn("w:r")):
            text = _text(run)
            if text.strip():
                yield run, text


def east_asian_font(run: etree._Element, document: Document) -> str | None:
    """The East Asian font a run resolves to: direct formatting, then its character
    style, paragraph style and table style (with their basedOn chains), then
    w:docDefaults. A theme font at any level wins there and is returned as 'theme:'."""
    styles = {s.get(qn("w:styleId")): s for s in document.styles.element.iter(qn("w:style"))}

    def font_of(rpr: etree._Element | None) -> str | None:
        fonts = None if rpr is None else rpr.find(qn("w:rFonts"))
        if fonts is None:
            return None
        if fonts.get(qn("w:eastAsiaTheme")):
            return "theme:" + fonts.get(qn("w:eastAsiaTheme"))
        return fonts.get(qn("w:eastAsia"))

    def style_chain(style_id: str | None) -> Iterator[etree._Element]:
        while style_id and style_id in styles:
            style = styles[style_id]
            yield style
            based_on = style.find(qn("w:basedOn"))
            style_id = None if based_on is None else based_on.get(qn("w:val"))

    def val(element: etree._Element | None, path: str) -> str | None:
        found = None if element is None else element.find(path)
        return None if found is None else found.get(qn("w:val"))

    run_properties = run.find(qn("w:rPr"))
    paragraph = next(a for a in run.iterancestors(qn("w:p")))
    table = next(iter(run.iterancestors(qn("w:tbl"))), None)
    default_paragraph = next(
        style_id
        for style_id, style in styles.items()
        if style.get(qn("w:type")) == "paragraph" and style.get(qn("w:default")) == "1"
    )
    paragraph_style = val(paragraph.find(qn("w:pPr")), qn("w:pStyle")) or default_paragraph
    levels: list[etree._Element | None] = [run_properties]
    levels += [s.find(qn("w:rPr")) for s in style_chain(val(run_properties, qn("w:rStyle")))]
    levels += [s.find(qn("w:rPr")) for s in style_chain(paragraph_style)]
    if table is not None:
        levels += [s.find(qn("w:rPr")) for s in style_chain(val(table.find(qn("w:tblPr")), qn("w:tblStyle")))]
    levels.append(document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}"))
    for rpr in levels:
        font = font_of(rpr)
        if font:
            return font
    return None


def footer_pattern(document: Document) -> str:
    """The footer text with its fields shown as {PAGE} and {NUMPAGES}."""
    pieces, in_result = [], False
    for run in document.sections[0].footer._element.iter(qn("w:r")):
        char = run.find(qn("w:fldChar"))
        if char is not None:
            kind = char.get(qn("w:fldCharType"))
            in_result = kind == "separate"
            continue
        instruction = run.find(qn("w:instrText"))
        if instruction is not None:
            pieces.append("{" + instruction.text.strip() + "}")
        elif not in_result:
            pieces.append("".join(t.text or "" for t in run.iter(qn("w:t"))))
    return "".join(pieces)
