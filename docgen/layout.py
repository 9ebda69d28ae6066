"""Page layout on the house-style base document, in one language or two side by side.

A ``Layout`` is written top to bottom by a kind's ``build`` function. Text blocks
(titles, headings, paragraphs, labelled fields, numbered clauses) take ``Localized``
values and are written once per language: alone in a monolingual document, or in the
two columns of a borderless grid in a bilingual one, each block in its own row so that
the languages stay level. Data tables and signature blocks span the page, with labels
in both languages ("Quantity / 数量") and long free text in a column per language.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docx
from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.exceptions import InvalidImageStreamError, UnexpectedEndOfFileError, UnrecognizedImageError
from docx.image.image import Image
from docx.shared import Emu, Mm
from docx.text.paragraph import Paragraph

from docgen import ooxml
from docgen.i18n import Lang, Localized, _l
from docgen.package import repack

if TYPE_CHECKING:
    from docx.table import Table, _Cell

BASE_DOCUMENT = Path(__file__).with_name("base.docx")
A4 = (Mm(210), Mm(297))
# Left cell margin of the "Layout Grid" table style: where text starts in a grid column.
GRID_CELL_MARGIN = Mm(2)
BILINGUAL_SEPARATOR = " / "
# A picture is as wide as the text, or narrower so as to be at most this share of its height.
PICTURE_MAX_HEIGHT = 0.6
# The blank space above a signature line that has no text (a Vietnamese block's
# signature and seal go there).
SIGNING_SPACE = Mm(22)
_PLACEHOLDER = re.compile(r"%\((page|pages)\)s")
_FIELDS = {"page": "PAGE", "pages": "NUMPAGES"}
# What a core property (title, subject, author) holds: Word's limit, which python-docx
# enforces by raising. The body of the document keeps the whole text.
CORE_PROPERTY_LENGTH = 255


def _fit_property(text: str) -> str:
    """``text`` as a core property holds it: shortened with an ellipsis when too long."""
    if len(text) <= CORE_PROPERTY_LENGTH:
        return text
    return text[:CORE_PROPERTY_LENGTH - 1] + "…"


class Styles:
    """Names of the base document's styles (a business user may restyle them in Word)."""

    NORMAL = "Normal"
    TITLE = "Title"
    SUBTITLE = "Subtitle"
    HEADING = "Heading 1"
    NATIONAL_HEADER = "National Header"
    NATIONAL_MOTTO = "National Motto"
    CLAUSE = "Clause"
    SIGNATURE = "Signature"
    HEADER = "Header"
    FOOTER = "Footer"
    TABLE_TEXT = "Table Text"
    TABLE_NUMBER = "Table Number"
    TABLE_HEADING = "Table Heading"
    FIELD_LABEL = "Field Label"
    HASH = "Hash"
    DATA_TABLE = "Data Table"
    LAYOUT_GRID = "Layout Grid"


@dataclass(frozen=True)
class Field:
    """A labelled value: ``Effective date: 1 December 2026``."""

    label: Localized
    value: Localized
    value_style: str | None = None


@dataclass(frozen=True)
class Column:
    """A column of a data table; ``value(row, lang)`` gives a cell's text.

    ``weight`` is the column's share of the page width. In a bilingual document a
    ``per_language`` column (long free text) becomes one column per language, which
    share its weight; a ``numeric`` one is right-aligned and written in the first
    language's format; any other shows each language's distinct text, ``month / 月``.
    ``fill(row)``, when given, is a cell's background colour (``RRGGBB``) or None.
    """

    label: Localized
    value: Callable[[Any, Lang], str]
    weight: float = 1.0
    numeric: bool = False
    per_language: bool = False
    fill: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class SignatureLine:
    """One line of a signature block, already in its language: a label in the field
    label style, its ``colon`` (``": "``, ``"："``) and a value after it (any may be
    empty). A line with neither label nor value is the blank space a signature and
    seal go into."""

    label: str = ""
    value: str = ""
    colon: str = ""


# The row number column of a numbered table; ``Layout._cell`` numbers its cells.
_ROW_NUMBER = Column(_l("No."), lambda row, lang: "", weight=0.8, numeric=True)


@functools.cache
def _base_document() -> bytes:
    return BASE_DOCUMENT.read_bytes()


class Layout:
    """A document being written in one or two languages (``langs[0]`` on the left)."""

    def __init__(self, langs: Sequence[Lang]) -> None:
        self.langs = tuple(langs)
        self.primary = self.langs[0]
        self.bilingual = len(self.langs) == 2
        self._document: Document = docx.Document(BytesIO(_base_document()))
        self._style_ids: dict[str, str] = {}
        self._grid: Table | None = None
        section = self._document.sections[0]
        section.page_width, section.page_height = A4
        self._width = section.page_width - section.left_margin - section.right_margin
        self._height = section.page_height - section.top_margin - section.bottom_margin
        latin = "vi-VN" if self.primary.code == "vi" else "en-US"
        ooxml.set_language(ooxml.doc_defaults_rpr(self._document.styles.element), latin, "zh-CN")

    # -- text blocks, side by side ---------------------------------------------

    def title(self, title: Localized, subtitle: Localized | None = None) -> None:
        def write(flow: _Flow, lang: Lang) -> None:
            flow.paragraph(title(lang), Styles.TITLE)
            if subtitle is not None:
                flow.paragraph(subtitle(lang), Styles.SUBTITLE)

        self._side_by_side(write)

    def heading(self, text: Localized) -> None:
        """Write a section heading across the page, kept with the block that follows.

        In a bilingual document the second language starts at a tab stop over the
        right column: LibreOffice keeps a paragraph, but not a table row, with the
        next table, so a heading in a grid row could end a page alone.
        """
        self._grid = None
        self._separate_tables()
        heading = _Flow(self._document, self._style_id).paragraph(
            "\t".join(text(lang) for lang in self.langs), Styles.HEADING
        )
        if self.bilingual:
            heading.paragraph_format.tab_stops.add_tab_stop(Emu(self._width // 2 + GRID_CELL_MARGIN))

    def paragraph(self, text: Localized, style: str = Styles.NORMAL, align_right: bool = False) -> None:
        def write(flow: _Flow, lang: Lang) -> None:
            paragraph = flow.paragraph(text(lang), style)
            if align_right:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT

        self._side_by_side(write)

    def fields(self, fields: Iterable[Field]) -> None:
        """Write ``Label: value`` lines, one side-by-side row each."""
        for field in fields:
            self._side_by_side(functools.partial(self._write_field, field))

    def numbered(self, items: Sequence[Localized]) -> None:
        """Write numbered clauses; clause n of each language shares a row."""
        for number, item in enumerate(items, start=1):
            self._side_by_side(functools.partial(_write_clause, number, item))

    # -- blocks across the page ------------------------------------------------

    def table(
        self,
        columns: Sequence[Column],
        rows: Iterable[Any],
        totals: Sequence[tuple[Localized, Localized]] = (),
        numbered: bool = False,
    ) -> None:
        """Write a data table whose header row repeats on every page.

        ``totals`` are (label, amount) rows under it: the label across all columns
        but the last, the amount in the first language's format. A ``numbered``
        table starts with a column of row numbers.
        """
        slots = [
            (column, lang)
            for column in ([_ROW_NUMBER] if numbered else []) + list(columns)
            for lang in (self.langs if column.per_language and self.bilingual else (None,))
        ]
        shares = [column.weight / (len(self.langs) if lang else 1) for column, lang in slots]
        widths = [Emu(int(self._width * share / sum(shares))) for share in shares]
        heading_id = self._style_id(Styles.TABLE_HEADING)
        number_id = self._style_id(Styles.TABLE_NUMBER)
        text_id = self._style_id(Styles.TABLE_TEXT)
        header = ooxml.RowStamp([ooxml.CellShape(width, heading_id) for width in widths], header=True)
        body = ooxml.RowStamp(
            [
                ooxml.CellShape(width, number_id if column.numeric else text_id)
                for width, (column, _) in zip(widths, slots, strict=True)
            ]
        )
        total = ooxml.RowStamp(
            [
                ooxml.CellShape(Emu(sum(widths[:-1])), heading_id, span=len(widths) - 1),
                ooxml.CellShape(widths[-1], number_id),
            ]
        )
        table = ooxml.new_table(widths, self._style_id(Styles.DATA_TABLE))
        labels = [self.in_all(column.label) if lang is None else column.label(lang) for column, lang in slots]
        table.append(header(labels))
        filled = any(column.fill is not None for column, _ in slots)
        for number, row in enumerate(rows, start=1):
            texts = [self._cell(column, lang, row, number) for column, lang in slots]
            fills = [column.fill and column.fill(row) for column, _ in slots] if filled else None
            table.append(body(texts, fills))
        for label, amount in totals:
            table.append(total([self.in_all(label), amount(self.primary)]))
        self._append_block(table)

    def picture(self, image: bytes, title: Localized) -> None:
        """Write a picture (PNG or JPEG bytes) across the page, under its title.

        The picture is as wide as the text, or narrower when it would otherwise take
        more than ``PICTURE_MAX_HEIGHT`` of the page's text height. The title is in
        every language of the document, kept on the picture's page, and is the
        picture's alternative text.
        """
        self._grid = None
        self._separate_tables()
        flow = _Flow(self._document, self._style_id)
        description = self.in_all(title)
        caption = flow.paragraph("", Styles.NORMAL)
        ooxml.add_run(caption, description, self._style_id(Styles.FIELD_LABEL))
        caption.paragraph_format.keep_with_next = True
        holder = flow.paragraph("", Styles.NORMAL)
        holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pixel_width, pixel_height = image_pixels(image)
        width = min(self._width, int(self._height * PICTURE_MAX_HEIGHT * pixel_width / pixel_height))
        height = max(1, round(width * pixel_height / pixel_width))
        shape = holder.add_run().add_picture(BytesIO(image), Emu(width), Emu(height))
        ooxml.set_alt_text(shape._inline, description)

    def signatures(self, blocks: Sequence[Sequence[SignatureLine]], centred: bool = False) -> None:
        """Write a signature block per party, side by side, kept on one page.

        What each block says, in which language and order, is the kind's to decide
        (``docgen.kinds.common.signatures``); ``centred`` centres the lines, as
        Vietnamese signature blocks are.
        """
        row = self._new_grid(len(blocks)).add_row()
        ooxml.keep_row_together(row)
        for cell, lines in zip(row.cells, blocks, strict=True):
            flow = _Flow(cell, self._style_id)
            for line in lines:
                paragraph = flow.paragraph("", Styles.SIGNATURE)
                if centred:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                if not (line.label or line.value):
                    paragraph.paragraph_format.space_before = SIGNING_SPACE
                self._labelled(paragraph, line.label + line.colon, line.value)
        self._grid = None

    # -- page furniture and saving ---------------------------------------------

    def page_furniture(self, title: Localized, number: str) -> None:
        """Write the header (title and document number) and the footer's "Page X of Y".

        Both are in every language of the document. The header goes into the base
        document's first header paragraph and the page numbers into its first footer
        paragraph; anything else a user put there stays.
        """
        section = self._document.sections[0]
        section.header.paragraphs[0].text = f"{self.in_all(title)} · {number}"
        footer = section.footer.paragraphs[0]
        for index, lang in enumerate(self.langs):
            if index:
                footer.add_run(" | ")
            # Split "第 %(page)s 页，共 %(pages)s 页" into text and the two fields.
            for position, piece in enumerate(_PLACEHOLDER.split(lang.gettext("Page %(page)s of %(pages)s"))):
                if position % 2:
                    ooxml.add_field(footer, _FIELDS[piece], "1")
                elif piece:
                    footer.add_run(piece)

    def save(self, *, title: str, subject: str, author: str, created: datetime) -> bytes:
        """Return the document as deterministic .docx bytes with its core properties."""
        properties = self._document.core_properties
        properties.title = _fit_property(title)
        properties.subject = _fit_property(subject)
        properties.author = properties.last_modified_by = _fit_property(author)
        properties.created = properties.modified = created
        properties.language = ", ".join(lang.code for lang in self.langs)
        properties.revision = 1
        buffer = BytesIO()
        self._document.save(buffer)
        return repack(buffer.getvalue())

    # -- helpers ---------------------------------------------------------------

    def in_all(self, text: Localized) -> str:
        """The text in each language, distinct versions joined: ``Quantity / 数量``."""
        return _distinct(text(lang) for lang in self.langs)

    def _cell(self, column: Column, lang: Lang | None, row: Any, number: int) -> str:
        if column is _ROW_NUMBER:
            return str(number)
        if lang is None and column.numeric:
            lang = self.primary
        if lang is not None:
            return column.value(row, lang)
        return _distinct(column.value(row, each) for each in self.langs)

    def _side_by_side(self, write: Callable[[_Flow, Lang], None]) -> None:
        if not self.bilingual:
            write(_Flow(self._document, self._style_id), self.primary)
            return
        if self._grid is None:
            self._grid = self._new_grid(len(self.langs))
        for cell, lang in zip(self._grid.add_row().cells, self.langs, strict=True):
            write(_Flow(cell, self._style_id), lang)

    def _new_grid(self, columns: int) -> Table:
        self._separate_tables()
        grid = self._document.add_table(rows=0, cols=columns)
        grid.style = self._document.styles[Styles.LAYOUT_GRID]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        return grid

    def _append_block(self, table: ooxml.Element) -> None:
        self._separate_tables()
        self._grid = None
        ooxml.append_to_body(self._document.element.body, table)

    def _separate_tables(self) -> None:
        # Adjacent tables would merge into one in Word; a paragraph keeps them apart.
        if ooxml.ends_with_table(self._document.element.body):
            _Flow(self._document, self._style_id).paragraph("", Styles.NORMAL)

    def _style_id(self, name: str) -> str:
        """The id of the base document's style called ``name``, looked up once."""
        if name not in self._style_ids:
            self._style_ids[name] = self._document.styles[name].style_id
        return self._style_ids[name]

    def _write_field(self, field: Field, flow: _Flow, lang: Lang) -> None:
        paragraph = flow.paragraph("", Styles.NORMAL)
        self._labelled(paragraph, field.label(lang) + lang.colon, field.value(lang), field.value_style)

    def _labelled(self, paragraph: Paragraph, label: str, value: str, value_style: str | None = None) -> None:
        if label:
            ooxml.add_run(paragraph, label, self._style_id(Styles.FIELD_LABEL))
        if value:
            ooxml.add_run(paragraph, value, self._style_id(value_style) if value_style else None)


def image_pixels(image: bytes) -> tuple[int, int]:
    """The width and height in pixels of a picture ``Layout.picture`` can place.

    Raises ``ValueError`` when the bytes are not an image python-docx can read.
    """
    try:
        found = Image.from_blob(image)
        size = found.px_width, found.px_height
    except (
        UnrecognizedImageError,
        InvalidImageStreamError,
        UnexpectedEndOfFileError,
        struct.error,
        ArithmeticError,
        LookupError,
        ValueError,
    ) as error:
        # A damaged header fails in the format's parser: a short read, a bad offset.
        raise ValueError("not a readable image") from error
    if min(size) < 1:
        raise ValueError("not a readable image")
    return size


class _Flow:
    """Where one language's text goes: the document body, or its cell of a grid row."""

    def __init__(self, container: Document | _Cell, style_id: Callable[[str], str]) -> None:
        self._container = container
        self._style_id = style_id
        # A new cell holds one empty paragraph; the first paragraph written reuses it.
        self._unused = None if isinstance(container, Document) else container.paragraphs[0]

    def paragraph(self, text: str, style: str) -> Paragraph:
        if self._unused is None:
            paragraph = self._container.add_paragraph()
        else:
            paragraph, self._unused = self._unused, None
        ooxml.set_style(paragraph, self._style_id(style))
        if text:
            ooxml.add_run(paragraph, text)
        return paragraph


def _write_clause(number: int, clause: Localized, flow: _Flow, lang: Lang) -> None:
    flow.paragraph(f"{number}.\t{clause(lang)}", Styles.CLAUSE)


def _distinct(texts: Iterable[str]) -> str:
    return BILINGUAL_SEPARATOR.join(dict.fromkeys(texts))
