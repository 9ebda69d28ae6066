"""Raw WordprocessingML that python-docx has no API for.

Every lxml manipulation of docgen lives here: East Asian fonts and language tags,
page fields, table rows built in one pass, and the few edits that turn python-docx's
default template into the house-style base document. Callers pass python-docx objects
or their elements and plain values; lengths are python-docx ``Length`` values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Length
from docx.table import _Row
from docx.text.paragraph import Paragraph
from docx.text.run import Run as DocxRun
from lxml import etree

from docgen.typesetting import CJK, WORD_JOINER

Element = etree._Element

W_R = qn("w:r")
W_T = qn("w:t")
W_TBL = qn("w:tbl")
W_TC = qn("w:tc")
W_TR = qn("w:tr")
W_P = qn("w:p")
W_STYLE = qn("w:style")
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

# Theme font attributes win over explicit font names in Word, so they must go
# wherever we name a font (python-docx issues #154, #1139, #1601).
_THEME_FONT_ATTRIBUTES = tuple(
    qn(name) for name in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
)
# Children of w:rPr that must follow w:lang (CT_RPr sequence in ECMA-376).
_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")
# Children of w:tcPr that must follow w:shd (CT_TcPr sequence in ECMA-376).
_AFTER_SHD = (
    "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark",
    "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange",
)
_FIRST_TAG = re.compile(r"^<w:\w+")

LangTag = tuple[str, str]
"""A ``w:lang`` tag: the language of Latin text (``w:val``) and of CJK text (``w:eastAsia``)."""
Run = tuple[str, LangTag | None]
"""A stretch of text and the language it is proofed in (None: the document's)."""


def _w(xml: str) -> Element:
    """Parse one WordprocessingML element written with the ``w:`` prefix."""
    return parse_xml(_FIRST_TAG.sub(rf"\g<0> {nsdecls('w')}", xml, count=1))


# -- fonts and language tags -------------------------------------------------


def doc_defaults_rpr(styles_element: Element) -> Element:
    """Return ``w:docDefaults/w:rPrDefault/w:rPr`` of a styles part, creating it."""
    defaults = styles_element.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = _w("<w:docDefaults/>")
        styles_element.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = _w("<w:rPrDefault/>")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = _w("<w:rPr/>")
        rpr_default.append(rpr)
    return rpr


def set_fonts(rpr: Element, latin: str, east_asian: str) -> None:
    """Name the Latin and East Asian typefaces of a ``w:rPr`` and drop theme fonts.

    python-docx's ``font.name`` writes only ``w:ascii``/``w:hAnsi``; without
    ``w:eastAsia`` Chinese text falls back to whatever the theme or application picks.
    """
    fonts = rpr.get_or_add_rFonts()
    for attribute in _THEME_FONT_ATTRIBUTES:
        fonts.attrib.pop(attribute, None)
    for name in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(name), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def set_language(rpr: Element, latin: str, east_asian: str) -> None:
    """Tag a ``w:rPr`` with the language of its Latin and of its East Asian text.

    The Latin tag must never be zh-CN: LibreOffice then breaks English words and
    numbers anywhere on a line.
    """
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = _w("<w:lang/>")
        rpr.insert_element_before(lang, *_AFTER_LANG)
    lang.set(qn("w:val"), latin)
    lang.set(qn("w:eastAsia"), east_asian)


def set_theme_font_lang(settings_element: Element, latin: str, east_asian: str) -> None:
    """Set ``w:themeFontLang`` so that CJK falls back to a Chinese, not Japanese, font."""
    element = settings_element.find(qn("w:themeFontLang"))
    if element is None:
        element = _w("<w:themeFontLang/>")
        settings_element.append(element)
    element.set(qn("w:val"), latin)
    element.set(qn("w:eastAsia"), east_asian)


def font_table(fonts: Iterable[tuple[str, str, str]]) -> bytes:
    """Serialise a ``word/fontTable.xml`` naming (name, family, charset) fonts."""
    entries = "".join(
        f"<w:font w:name={quoteattr(name)}><w:charset w:val={quoteattr(charset)}/>"
        f"<w:family w:val={quoteattr(family)}/><w:pitch w:val=\"variable\"/></w:font>"
        for name, family, charset in fonts
    )
    root = _w(f"<w:fonts>{entries}</w:fonts>")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# -- styles of the base document ----------------------------------------------


def keep_only_styles(styles_element: Element, style_ids: Iterable[str]) -> None:
    """Remove every style not in ``style_ids`` and the latent style list."""
    keep = set(style_ids)
    for style in styles_element.findall(W_STYLE):
        if style.get(qn("w:styleId")) not in keep:
            styles_element.remove(style)
    latent = styles_element.find(qn("w:latentStyles"))
    if latent is not None:
        styles_element.remove(latent)


def strip_theme_fonts(styles_element: Element) -> None:
    """Drop theme font references from every ``w:rFonts`` of a styles part."""
    for fonts in styles_element.iter(qn("w:rFonts")):
        for attribute in _THEME_FONT_ATTRIBUTES:
            fonts.attrib.pop(attribute, None)


def remove_children(element: Element, *tags: str) -> None:
    """Remove the children of ``element`` with the given ``w:``-prefixed tags."""
    for tag in tags:
        for child in element.findall(qn(tag)):
            element.remove(child)


def define_table_style(
    style_element: Element,
    *,
    border: Length | None,
    border_color: str = "808080",
    cell_margin: Length,
    row_margin: Length,
    header_fill: str | None = None,
) -> None:
    """Give a table style its borders, cell margins (sides, top and bottom) and
    first-row shading.

    python-docx can create a table style but not set any of its table properties.
    """
    remove_children(style_element, "w:tblPr", "w:tblStylePr")
    if border is None:
        borders = ""
    else:
        size = round(border.pt * 8)  # eighths of a point
        line = f'w:val="single" w:sz="{size}" w:space="0" w:color="{border_color}"'
        borders = "<w:tblBorders>" + "".join(
            f"<w:{edge} {line}/>" for edge in ("top", "left", "bottom", "right", "insideH", "insideV")
        ) + "</w:tblBorders>"
    sides, ends = cell_margin.twips, row_margin.twips
    style_element.append(
        _w(
            f"<w:tblPr>{borders}<w:tblCellMar>"
            f'<w:top w:w="{ends}" w:type="dxa"/><w:left w:w="{sides}" w:type="dxa"/>'
            f'<w:bottom w:w="{ends}" w:type="dxa"/><w:right w:w="{sides}" w:type="dxa"/>'
            "</w:tblCellMar></w:tblPr>"
        )
    )
    if header_fill:
        style_element.append(
            _w(
                '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/></w:rPr><w:tcPr>'
                f'<w:shd w:val="clear" w:color="auto" w:fill="{header_fill}"/></w:tcPr></w:tblStylePr>'
            )
        )


# -- paragraphs and runs --------------------------------------------------------


def set_style(item: Paragraph | DocxRun, style_id: str) -> None:
    """Apply a paragraph or character style by id.

    python-docx's ``.style`` setters scan every style of the document on each call
    (to drop the default style's reference); documents apply styles thousands of times.
    """
    item._element.style = style_id


def add_run(
    paragraph: Paragraph, text: str, style_id: str | None = None, lang: LangTag | None = None, size: Length | None = None
) -> None:
    """Append ``text`` (line breaks and tabs included) to a paragraph as runs of one
    style, tagged with ``lang`` and set in ``size`` when given."""
    append_runs(paragraph._p, [(text, lang)], style_id, size)


# LibreOffice breaks Chinese-tagged text between any two ideographs, word joiner or not:
# a stretch that a word joiner holds together is tagged with a non-Chinese language.
_TOKEN = f"(?:[{CJK}]|[^\\s{WORD_JOINER}{CJK}]+)"
_JOINED = re.compile(f"{_TOKEN}(?:{WORD_JOINER}{_TOKEN})+")
_UNBROKEN_EAST_ASIAN = "en-US"


def append_runs(p: Element, runs: Iterable[Run], style_id: str | None = None, size: Length | None = None) -> None:
    """Append runs to a ``w:p``: each with its language tag, the character style
    ``style_id`` and font ``size`` when given; a stretch joined by word joiners gets
    its own run that Chinese line breaking leaves whole."""
    for text, lang in runs:
        if WORD_JOINER not in text:
            _append_run(p, text, style_id, size, lang)
            continue
        position = 0
        for joined in _JOINED.finditer(text):
            if joined.start() > position:
                _append_run(p, text[position:joined.start()], style_id, size, lang)
            latin = lang[0] if lang else None
            _append_run(p, joined.group(), style_id, size, (latin, _UNBROKEN_EAST_ASIAN))
            position = joined.end()
        if position < len(text) or not text:
            _append_run(p, text[position:], style_id, size, lang)


_W_RPR, _W_RSTYLE, _W_SZ, _W_SZ_CS, _W_LANG = (qn(f"w:{name}") for name in ("rPr", "rStyle", "sz", "szCs", "lang"))
_W_VAL, _W_EAST_ASIA = qn("w:val"), qn("w:eastAsia")


def _append_run(
    p: Element, text: str, style_id: str | None, size: Length | None, lang: tuple[str | None, str] | None
) -> None:
    run = etree.SubElement(p, W_R)
    if style_id is not None or size is not None or lang is not None:
        properties = etree.SubElement(run, _W_RPR)
        if style_id is not None:
            etree.SubElement(properties, _W_RSTYLE).set(_W_VAL, style_id)
        if size is not None:
            half_points = str(round(size.pt * 2))
            etree.SubElement(properties, _W_SZ).set(_W_VAL, half_points)
            etree.SubElement(properties, _W_SZ_CS).set(_W_VAL, half_points)
        if lang is not None:
            tag = etree.SubElement(properties, _W_LANG)
            if lang[0]:
                tag.set(_W_VAL, lang[0])
            tag.set(_W_EAST_ASIA, lang[1])
    t = etree.SubElement(run, W_T)
    t.set(XML_SPACE, "preserve")
    set_text(t, text)


# -- fields -------------------------------------------------------------------


def add_field(paragraph: Paragraph, instruction: str, cached: str) -> None:
    """Append a complex field (e.g. ``PAGE``) to a paragraph; ``cached`` shows until updated.

    Word and LibreOffice recompute PAGE and NUMPAGES on every layout.
    """
    for xml in (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        f"<w:r><w:t>{cached}</w:t></w:r>",
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        paragraph._p.append(_w(xml))


# -- tables -------------------------------------------------------------------


def ends_with_table(body: Element) -> bool:
    """Whether the last block of a ``w:body`` (before its ``w:sectPr``) is a table."""
    last = body[-1] if len(body) else None
    if last is not None and last.tag == qn("w:sectPr"):
        last = last.getprevious()
    return last is not None and last.tag == W_TBL


def keep_row_together(row: _Row | Element) -> None:
    """Keep a table row (python-docx's or a ``w:tr``) on one page (``w:cantSplit``)."""
    tr = row._tr if isinstance(row, _Row) else row
    tr.get_or_add_trPr().append(_w("<w:cantSplit/>"))


def keep_with_next(element: Element) -> None:
    """Keep every paragraph of ``element`` (a ``w:p``, or a row's or table's) on the
    page of what follows it (``w:keepNext``)."""
    for p in [element] if element.tag == W_P else element.iter(W_P):
        p.get_or_add_pPr().keepNext_val = True


def keeper(width: Length, style_id: str) -> tuple[Element, Element]:
    """A one-cell table, borderless and without cell margins, whose only row never
    splits: what its cell holds stays on one page in Word and LibreOffice alike (a
    paragraph's "keep with next" does not hold a table row in LibreOffice).

    Returns the ``w:tbl`` and its empty ``w:tc``; the cell must end with a paragraph.
    """
    margins = "".join(f'<w:{side} w:w="0" w:type="dxa"/>' for side in ("top", "left", "bottom", "right"))
    table = _w(
        f'<w:tbl><w:tblPr><w:tblStyle w:val="{style_id}"/><w:tblW w:w="{width.twips}" w:type="dxa"/>'
        f'<w:tblLayout w:type="fixed"/><w:tblCellMar>{margins}</w:tblCellMar></w:tblPr>'
        f'<w:tblGrid><w:gridCol w:w="{width.twips}"/></w:tblGrid>'
        f'<w:tr><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr><w:tcW w:w="{width.twips}" w:type="dxa"/>'
        "</w:tcPr></w:tc></w:tr></w:tbl>"
    )
    return table, table.find(f"{W_TR}/{W_TC}")


def table_of_rows(rows: Sequence[Element]) -> Element:
    """A new table holding ``rows`` (moved out of their table), with its properties."""
    source = rows[0].getparent()
    table = etree.Element(W_TBL)
    for part in ("w:tblPr", "w:tblGrid"):
        table.append(deepcopy(source.find(qn(part))))
    for row in rows:
        table.append(row)
    return table


def append_to_body(body: Element, block: Element) -> None:
    """Append a block-level element to a ``w:body``, keeping ``w:sectPr`` last."""
    body.insert_element_before(block, "w:sectPr")


@dataclass(frozen=True)
class CellShape:
    """One cell of a row shape: its width, paragraph style id, column span and
    vertical merge."""

    width: Length
    style_id: str
    span: int = 1
    merge: str | None = None  # "restart" or "continue": merged with the cell above or below


def new_table(widths: Sequence[Length], style_id: str) -> Element:
    """Return an empty fixed-layout ``w:tbl`` with one grid column per width."""
    grid = "".join(f'<w:gridCol w:w="{width.twips}"/>' for width in widths)
    total = sum(width.twips for width in widths)
    return _w(
        f'<w:tbl><w:tblPr><w:tblStyle w:val="{style_id}"/><w:tblW w:w="{total}" w:type="dxa"/>'
        '<w:tblLayout w:type="fixed"/><w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0"'
        ' w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid></w:tbl>"
    )


Cell = Sequence[Sequence[Run]]
"""What a table cell holds: its paragraphs, each a sequence of runs."""


class RowStamp:
    """Stamps out table rows of one shape, filling each cell with its paragraphs.

    Building a prototype row once and deep-copying it is what makes a 2,000-line table
    fast: python-docx builds every row, cell, paragraph and run through Python objects
    that look their grid and properties up again on each access. ``size`` sets the
    font size of every run (a heading row in a smaller font).
    """

    def __init__(self, cells: Sequence[CellShape], *, header: bool = False, size: Length | None = None) -> None:
        row_properties = "<w:cantSplit/>" + ("<w:tblHeader/>" if header else "")
        tcs = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{cell.width.twips}" w:type="dxa"/>'
            + (f'<w:gridSpan w:val="{cell.span}"/>' if cell.span > 1 else "")
            + ('<w:vMerge w:val="restart"/>' if cell.merge == "restart" else "<w:vMerge/>" if cell.merge else "")
            + f'</w:tcPr><w:p><w:pPr><w:pStyle w:val="{cell.style_id}"/></w:pPr></w:p></w:tc>'
            for cell in cells
        )
        self._prototype = _w(f"<w:tr><w:trPr>{row_properties}</w:trPr>{tcs}</w:tr>")
        self._size = size

    def __call__(self, cells: Sequence[Cell], fills: Sequence[str | None] | None = None) -> Element:
        """Return a new ``w:tr`` with ``cells`` filled in order, and each cell with a
        ``fills`` colour shaded with it."""
        row = deepcopy(self._prototype)
        for tc, paragraphs in zip(row.iterchildren(W_TC), cells, strict=True):
            first = tc.find(W_P)
            for index, runs in enumerate(paragraphs):
                p = first if index == 0 else tc.makeelement(W_P)
                if index:
                    p.append(deepcopy(first.find(qn("w:pPr"))))
                    tc.append(p)
                append_runs(p, runs, size=self._size)
        if fills is not None:
            for tc, fill in zip(row.iterchildren(W_TC), fills, strict=True):
                if fill:
                    shade_cell(tc, fill)
        return row


def shade_cell(tc: Element, fill: str) -> None:
    """Give a table cell (``w:tc``) a background colour, ``RRGGBB``, over the table style's."""
    properties = tc.get_or_add_tcPr()
    remove_children(properties, "w:shd")
    properties.insert_element_before(
        _w(f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'), *_AFTER_SHD
    )


# -- pictures -----------------------------------------------------------------


def set_alt_text(inline: Element, description: str) -> None:
    """Give an inline picture (``wp:inline``) its alternative text, ``wp:docPr/@descr``."""
    inline.docPr.set("descr", description)


def set_text(t: Element, text: str) -> None:
    """Put ``text`` into a ``w:t``, turning line breaks and tabs into their elements."""
    if "\n" not in text and "\t" not in text:
        t.text = text
        return
    run = t.getparent()
    position = run.index(t)
    run.remove(t)
    for line_number, line in enumerate(text.split("\n")):
        pieces = []
        if line_number:
            pieces.append(etree.Element(qn("w:br")))
        for cell_number, chunk in enumerate(line.split("\t")):
            if cell_number:
                pieces.append(etree.Element(qn("w:tab")))
            if chunk:
                element = etree.Element(W_T)
                element.set(XML_SPACE, "preserve")
                element.text = chunk
                pieces.append(element)
        for piece in pieces:
            run.insert(position, piece)
            position += 1
