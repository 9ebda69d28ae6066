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
import itertools
import math
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
from docx.shared import Emu, Length, Mm, Pt
from docx.text.paragraph import Paragraph

from docgen import ooxml
from docgen.i18n import Lang, Localized, _l
from docgen.ooxml import Cell, LangTag, Run
from docgen.package import repack
from docgen.typesetting import FALLBACK_FAMILY, keep_whole, keep_words, pieces, text_width

if TYPE_CHECKING:
    from docx.table import Table, _Cell

BASE_DOCUMENT = Path(__file__).with_name("base.docx")
A4 = (Mm(210), Mm(297))
# Left cell margin of the "Layout Grid" table style: where text starts in a grid column.
GRID_CELL_MARGIN = Mm(2)
# Side cell margin of the "Data Table" style: a column is its content and twice this.
DATA_CELL_MARGIN = Mm(1.5)
# What a measured width is given on top, against rounding and another renderer's
# kerning: a share of the width, and a fixed amount.
MEASURE_SLACK = (1.04, Pt(1.5))
# A table heading that does not fit its column in its style's size is set this small.
SMALL_HEADING = Pt(7.5)
# A table too wide for the page in its style's size is set smaller, down to this.
SMALLEST_TABLE_TEXT = Pt(6.5)
# A free-text column is at least this many ems wide (or as wide as its longest text).
TEXT_COLUMN_EMS = 5
# The narrowest a free-text column gets when the table is too wide for its words.
NARROWEST_TEXT_COLUMN = Mm(12)
# How each language's text is tagged for proofing: Latin text, CJK text. Chinese text
# keeps an English Latin tag: tagged zh-CN, LibreOffice breaks Latin words anywhere.
LANGUAGE_TAGS: dict[str, LangTag] = {"en": ("en-US", "zh-CN"), "zh": ("en-US", "zh-CN"), "vi": ("vi-VN", "zh-CN")}
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


# Styles whose paragraph is one line, never wrapped: set smaller when its column needs it.
ONE_LINE = frozenset({Styles.NATIONAL_HEADER, Styles.NATIONAL_MOTTO})


@dataclass(frozen=True)
class Field:
    """A labelled value: ``Effective date: 1 December 2026``."""

    label: Localized
    value: Localized
    value_style: str | None = None


@dataclass(frozen=True)
class Column:
    """A column of a data table; ``value(row, lang)`` gives a cell's text.

    A ``numeric`` column (amounts, quantities, dates) is right-aligned, and in a
    bilingual document shows each language's format on its own line where they differ
    (``2,500,000`` over ``2.500.000``). A ``whole`` one (a person's name, a code) never
    breaks a value either; both are as wide as their widest value. The other columns
    share the rest of the page by ``weight``, each at least as wide as its longest word.
    In a bilingual document a ``per_language`` column (long free text) becomes one
    column per language, which share its weight; any other shows each language's
    distinct text, ``month / 月``. ``fill(row)``, when given, is a cell's background
    colour (``RRGGBB``) or None. Adjacent columns with the same ``group`` stand under
    one heading (``Before amendment`` over its quantity and unit price).
    """

    label: Localized
    value: Callable[[Any, Lang], str]
    weight: float = 1.0
    numeric: bool = False
    per_language: bool = False
    fill: Callable[[Any], str | None] | None = None
    whole: bool = False
    group: Localized | None = None

    @property
    def unbreakable(self) -> bool:
        return self.numeric or self.whole


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


@dataclass(frozen=True)
class _Font:
    """How a style sets text: Latin family, bold, size."""

    family: str
    bold: bool
    size: Length

    def width(self, text: str, size: Length | None = None) -> int:
        """The width of ``text`` in EMU, with the measuring slack."""
        share, extra = MEASURE_SLACK
        return int(text_width(text, self.family, self.bold) * (size or self.size) * share) + extra


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
        self._fonts: dict[str, _Font] = {}
        self._grid: Table | None = None
        # What the last text block wrote (paragraphs, or a grid row): what signatures keep.
        self._last_block: list[ooxml.Element] = []
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
        heading = _Flow(self._document, self._style_id).paragraph("", Styles.HEADING)
        runs: list[Run] = []
        for index, lang in enumerate(self.langs):
            runs += [("\t", None)] * bool(index) + [(text(lang), self._tag(lang))]
        ooxml.append_runs(heading._p, runs)
        if self.bilingual:
            heading.paragraph_format.tab_stops.add_tab_stop(Emu(self._width // 2 + GRID_CELL_MARGIN))
        self._last_block = [heading._p]

    def paragraph(
        self, text: Localized, style: str = Styles.NORMAL, align_right: bool = False, with_previous: bool = False
    ) -> None:
        """Write a paragraph in each language (``align_right``: the Vietnamese place and
        date line); one in a ``ONE_LINE`` style (the Vietnamese national header) never
        wraps: set smaller if its column needs it. A paragraph ``with_previous`` (the
        Chinese 以下无正文 after the last clause) belongs to the text block before it:
        signatures that follow keep both with them."""
        size = None
        if style in ONE_LINE:
            column = self._width // len(self.langs) - 2 * GRID_CELL_MARGIN if self.bilingual else self._width
            font = self._font(style)
            size = min(self._fitting_size(font, text(lang), column) for lang in self.langs)

        def write(flow: _Flow, lang: Lang) -> None:
            if size is None:
                paragraph = flow.paragraph(text(lang), style)
            else:
                paragraph = flow.paragraph(keep_whole(text(lang)), style, size)
            if align_right:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT

        self._side_by_side(write, with_previous=with_previous)

    def fields(self, fields: Iterable[Field], keep_together: bool = False) -> None:
        """Write ``Label: value`` lines, one side-by-side row each; ``keep_together``
        keeps them on one page (bank details: a reader copies them from one place)."""
        fields = list(fields)
        for index, field in enumerate(fields):
            self._side_by_side(functools.partial(self._write_field, field))
            if keep_together and index < len(fields) - 1:
                for element in self._last_block:
                    ooxml.keep_with_next(element)

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

        ``totals`` are (label, amount) rows under it: the amount in each language's
        format under the last two columns, the label across the others. A ``numbered`` table
        starts with a column of row numbers. Column widths come from the content
        (``Column``); a table whose values cannot all fit sets its headings, then
        its text, smaller rather than break a number.
        """
        rows = list(rows)
        slots = [
            (column, lang)
            for column in ([_ROW_NUMBER] if numbered else []) + list(columns)
            for lang in (self.langs if column.per_language and self.bilingual else (None,))
        ]
        cells = [[self._cell(column, lang, row, number) for column, lang in slots] for number, row in enumerate(rows, 1)]
        headings = [self._heading_cell(column, lang) for column, lang in slots]
        total_rows = [(self._in_all_runs(label), self._stacked(amount)) for label, amount in totals]
        fit = self._fit_columns(slots, cells, headings, [amount for _, amount in total_rows])
        widths = [Emu(width) for width in fit.widths]
        heading_id = self._style_id(Styles.TABLE_HEADING)
        number_id = self._style_id(Styles.TABLE_NUMBER)
        text_id = self._style_id(Styles.TABLE_TEXT)
        body = ooxml.RowStamp(
            [
                ooxml.CellShape(width, number_id if column.numeric or column is _ROW_NUMBER else text_id)
                for width, (column, _) in zip(widths, slots, strict=True)
            ],
            size=fit.text_size,
        )
        span = _total_span(len(widths))
        total = ooxml.RowStamp(
            [
                ooxml.CellShape(Emu(sum(widths[:-span])), heading_id, span=len(widths) - span),
                ooxml.CellShape(Emu(sum(widths[-span:])), number_id, span=span),
            ],
            size=fit.text_size,
        )
        table = ooxml.new_table(widths, self._style_id(Styles.DATA_TABLE))
        for row in self._heading_rows(slots, headings, widths, fit.heading_size):
            table.append(row)
        filled = any(column.fill is not None for column, _ in slots)
        for row, texts in zip(rows, cells, strict=True):
            fills = [column.fill and column.fill(row) for column, _ in slots] if filled else None
            table.append(body(texts, fills))
        for label, amount in total_rows:
            table.append(total([[label], amount]))
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
        self._last_block = []

    def signatures(self, blocks: Sequence[Sequence[SignatureLine]], centred: bool = False) -> None:
        """Write a signature block per party, side by side.

        What each block says, in which language and order, is the kind's to decide
        (``docgen.kinds.common.signatures``); ``centred`` centres the lines, as
        Vietnamese signature blocks are. The blocks and the text block written just
        before them (the last clause, or a heading) are kept on one page: a signature
        never stands on a page of its own.
        """
        kept = self._take_last_block()
        self._separate_tables()
        keeper, holder = ooxml.keeper(Emu(self._width), self._style_id(Styles.LAYOUT_GRID))
        ooxml.append_to_body(self._document.element.body, keeper)
        for element in kept:
            holder.append(element)
        if kept and kept[-1].tag == ooxml.W_TBL:
            # Two tables in a row would merge into one: a paragraph keeps them apart.
            holder.append(_Flow(self._document, self._style_id).paragraph("", Styles.NORMAL)._p)
        grid = self._new_grid(len(blocks), separate=False)
        row = grid.add_row()
        ooxml.keep_row_together(row)
        for cell, lines in zip(row.cells, blocks, strict=True):
            flow = _Flow(cell, self._style_id)
            for line in lines:
                paragraph = flow.paragraph("", Styles.SIGNATURE)
                if centred:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                if not (line.label or line.value):
                    paragraph.paragraph_format.space_before = SIGNING_SPACE
                label = line.label + line.colon
                self._labelled(paragraph, [(label, None)] if label else [], [(line.value, None)] if line.value else [])
        holder.append(grid._tbl)
        holder.append(_Flow(self._document, self._style_id).paragraph("", Styles.NORMAL)._p)
        self._grid = None
        self._last_block = []

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

    def _in_all_runs(self, text: Localized) -> list[Run]:
        """``in_all`` as runs, each version tagged with its language."""
        runs: list[Run] = []
        for version, lang in self._versions(text):
            runs += [(BILINGUAL_SEPARATOR, None)] * bool(runs) + [(version, self._tag(lang))]
        return runs

    def _stacked(self, text: Localized) -> Cell:
        """Each language's distinct version in its own paragraph (``2,500,000`` over
        ``2.500.000``): a number or date each reader reads in their own format."""
        return [[(version, self._tag(lang))] for version, lang in self._versions(text)]

    def _versions(self, text: Localized) -> list[tuple[str, Lang]]:
        """The distinct versions of a text, each with the first language writing it."""
        versions: dict[str, Lang] = {}
        for lang in self.langs:
            versions.setdefault(text(lang), lang)
        return list(versions.items())

    def _tag(self, lang: Lang) -> LangTag | None:
        """The language tag of a language's text; none in a monolingual document,
        whose styles carry it."""
        return LANGUAGE_TAGS[lang.code] if self.bilingual else None

    def _cell(self, column: Column, lang: Lang | None, row: Any, number: int) -> Cell:
        if column is _ROW_NUMBER:
            return [[(str(number), None)]]

        def value(each: Lang) -> str:
            text = column.value(row, each)
            return keep_whole(text) if column.unbreakable else text

        if lang is not None:
            return [[(value(lang), self._tag(lang))]]
        if column.numeric:
            return self._stacked(value)
        return [self._in_all_runs(value)]

    def _heading_cell(self, column: Column, lang: Lang | None) -> Cell:
        """A column's heading, whose words (``序号`` too) never break."""
        if lang is not None:
            return [[(keep_words(column.label(lang)), self._tag(lang))]]
        return [self._in_all_runs(lambda each: keep_words(column.label(each)))]

    def _heading_rows(
        self, slots: Sequence[tuple[Column, Lang | None]], headings: Sequence[Cell], widths: Sequence[int], size: Length | None
    ) -> list[ooxml.Element]:
        """The heading row; with column groups, a row of group headings above it, the
        other columns' headings spanning both rows."""
        heading_id = self._style_id(Styles.TABLE_HEADING)
        if all(column.group is None for column, _ in slots):
            stamp = ooxml.RowStamp([ooxml.CellShape(Emu(width), heading_id) for width in widths], header=True, size=size)
            return [stamp(headings)]
        top_shapes, top_cells = [], []
        for group, members in itertools.groupby(zip(slots, headings, widths, strict=True), key=lambda m: m[0][0].group):
            members = list(members)
            if group is None:
                for _, heading, width in members:
                    top_shapes.append(ooxml.CellShape(Emu(width), heading_id, merge="restart"))
                    top_cells.append(heading)
            else:
                top_shapes.append(ooxml.CellShape(Emu(sum(w for *_, w in members)), heading_id, span=len(members)))
                top_cells.append([self._in_all_runs(lambda each, group=group: keep_words(group(each)))])
        grouped = [column.group is not None for column, _ in slots]
        bottom = ooxml.RowStamp(
            [
                ooxml.CellShape(Emu(width), heading_id, merge=None if in_group else "continue")
                for width, in_group in zip(widths, grouped, strict=True)
            ],
            header=True,
            size=size,
        )
        top = ooxml.RowStamp(top_shapes, header=True, size=size)
        return [top(top_cells), bottom([heading if in_group else [] for heading, in_group in zip(headings, grouped, strict=True)])]

    def _fit_columns(
        self,
        slots: Sequence[tuple[Column, Lang | None]],
        cells: Sequence[Sequence[Cell]],
        headings: Sequence[Cell],
        totals: Sequence[Cell],
    ) -> _Fit:
        """Column widths from the content (see ``Column``), and the sizes the headings
        and the text are set in when the table does not fit the page as styled."""
        text, number, heading = (self._font(style) for style in (Styles.TABLE_TEXT, Styles.TABLE_NUMBER, Styles.TABLE_HEADING))
        padding = 2 * DATA_CELL_MARGIN
        content, words = [], []
        for index, (column, _) in enumerate(slots):
            font = number if column.numeric or column is _ROW_NUMBER else text
            texts = [_text(paragraph) for row in cells for paragraph in row[index]]
            whole = column.unbreakable or column is _ROW_NUMBER
            widest = max((font.width(piece) for t in texts for piece in _pieces(t, whole)), default=0)
            if not whole:
                # A column of Chinese text breaks anywhere: at least a few characters a line.
                longest = max((font.width(t) for t in texts), default=0)
                widest = max(widest, min(longest, int(TEXT_COLUMN_EMS * font.size)))
            content.append(widest)
            words.append(max((heading.width(piece) for p in headings[index] for piece in pieces(_text(p), words_whole=True)), default=0))
        # A total stands under the last two columns (``_total_span``).
        total = max((number.width(_text(paragraph)) for cell in totals for paragraph in cell), default=0)
        span = _total_span(len(slots))
        fixed = [column.unbreakable or column is _ROW_NUMBER for column, _ in slots]
        weights = [column.weight / (len(self.langs) if lang else 1) for column, lang in slots]
        needs = _needs(content, words, padding, total, span)
        if sum(needs) <= self._width:
            return _Fit(_share(self._width, needs, weights, fixed), None, None)
        words = [int(width * SMALL_HEADING / heading.size) for width in words]
        needs = _needs(content, words, padding, total, span)
        if sum(needs) <= self._width:
            return _Fit(_share(self._width, needs, weights, fixed), SMALL_HEADING, None)
        # Too wide even so: the whole table set smaller, every value and word still
        # whole; below the smallest size, free text may break inside a long word.
        margins = padding * len(needs)
        scale = max((self._width - margins) / (sum(needs) - margins), SMALLEST_TABLE_TEXT / text.size)
        needs = [padding + int((need - padding) * scale) for need in needs]
        if sum(needs) > self._width:
            narrowest = padding + NARROWEST_TEXT_COLUMN
            needs = [need if is_fixed else min(need, narrowest) for need, is_fixed in zip(needs, fixed, strict=True)]
        return _Fit(_share(self._width, needs, weights, fixed), _scaled(SMALL_HEADING, scale), _scaled(text.size, scale))

    def _font(self, style: str) -> _Font:
        """The Latin family, weight and size a style sets text in, through its base styles."""
        if style not in self._fonts:
            family, bold, size = None, None, None
            current = self._document.styles[style]
            while current is not None:
                family = family or current.font.name
                bold = current.font.bold if bold is None else bold
                size = size or current.font.size
                current = current.base_style
            self._fonts[style] = _Font(family or FALLBACK_FAMILY, bool(bold), size or Pt(10.5))
        return self._fonts[style]

    def _fitting_size(self, font: _Font, text: str, width: int) -> Length:
        """The style's size, or the half-point size below it at which ``text`` fits ``width``."""
        needed = font.width(text)
        if needed <= width:
            return font.size
        return Pt(math.floor(font.size.pt * width / needed * 2) / 2)

    def _side_by_side(self, write: Callable[[_Flow, Lang], None], with_previous: bool = False) -> None:
        """Write a text block in each language: in the body, or in the cells of a grid
        row that never splits across pages. ``with_previous``: the block is one with
        the block before it (its paragraphs, or rows of the same grid)."""
        body = self._document.element.body
        previous = self._last_block if with_previous else []
        if not self.bilingual:
            before = len(body)
            write(_Flow(self._document, self._style_id), self.primary)
            written = [element for element in body[before - 1 : len(body) - 1] if element.tag == ooxml.W_P]
            self._last_block = (previous if all(e.tag == ooxml.W_P for e in previous) else []) + written
            return
        if self._grid is None:
            self._grid = self._new_grid(len(self.langs))
        row = self._grid.add_row()
        ooxml.keep_row_together(row)
        for cell, lang in zip(row.cells, self.langs, strict=True):
            write(_Flow(cell, self._style_id, self._tag(lang)), lang)
        same_grid = all(e.tag == ooxml.W_TR and e.getparent() is self._grid._tbl for e in previous)
        self._last_block = (previous if same_grid else []) + [row._tr]

    def _take_last_block(self) -> list[ooxml.Element]:
        """Remove the last text block from the body and return it: its paragraphs, or
        its grid row as a table of its own."""
        block, self._last_block = self._last_block, []
        if block and block[0].tag == ooxml.W_TR:
            grid = block[0].getparent()
            table = ooxml.table_of_rows(block)
            if grid.find(ooxml.W_TR) is None:
                grid.getparent().remove(grid)
            return [table]
        for element in block:
            element.getparent().remove(element)
        return block

    def _new_grid(self, columns: int, *, separate: bool = True) -> Table:
        if separate:
            self._separate_tables()
        grid = self._document.add_table(rows=0, cols=columns)
        grid.style = self._document.styles[Styles.LAYOUT_GRID]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        return grid

    def _append_block(self, table: ooxml.Element) -> None:
        self._separate_tables()
        self._grid = None
        self._last_block = []
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
        tag = self._tag(lang)
        self._labelled(paragraph, [(field.label(lang) + lang.colon, tag)], [(field.value(lang), tag)], field.value_style)

    def _labelled(
        self, paragraph: Paragraph, label: Sequence[Run], value: Sequence[Run], value_style: str | None = None
    ) -> None:
        ooxml.append_runs(paragraph._p, label, self._style_id(Styles.FIELD_LABEL))
        ooxml.append_runs(paragraph._p, value, self._style_id(value_style) if value_style else None)


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

    def __init__(self, container: Document | _Cell, style_id: Callable[[str], str], lang: LangTag | None = None) -> None:
        self._container = container
        self._style_id = style_id
        self._lang = lang
        # A new cell holds one empty paragraph; the first paragraph written reuses it.
        self._unused = None if isinstance(container, Document) else container.paragraphs[0]

    def paragraph(self, text: str, style: str, size: Length | None = None) -> Paragraph:
        if self._unused is None:
            paragraph = self._container.add_paragraph()
        else:
            paragraph, self._unused = self._unused, None
        ooxml.set_style(paragraph, self._style_id(style))
        if text:
            ooxml.add_run(paragraph, text, lang=self._lang, size=size)
        return paragraph


@dataclass(frozen=True)
class _Fit:
    """A table's column widths (EMU), and the sizes its headings and its text are set
    in (None: their styles')."""

    widths: list[int]
    heading_size: Length | None
    text_size: Length | None


def _share(total: int, needs: Sequence[int], weights: Sequence[float], fixed: Sequence[bool]) -> list[int]:
    """Widths summing to ``total``: a ``fixed`` column gets what it needs, the others
    share the rest by weight, none below what it needs."""
    widths = [need if is_fixed else None for need, is_fixed in zip(needs, fixed, strict=True)]
    while None in widths:
        rest = total - sum(width for width in widths if width is not None)
        open_ = [index for index, width in enumerate(widths) if width is None]
        weight = sum(weights[index] for index in open_)
        short = [index for index in open_ if rest * weights[index] / weight < needs[index]]
        if not short:
            for index in open_:
                widths[index] = int(rest * weights[index] / weight)
            break
        for index in short:
            widths[index] = needs[index]
    if all(fixed):
        # Only values: the last column takes what is left.
        widths[-1] += total - sum(widths)
    return widths


def _needs(content: Sequence[int], words: Sequence[int], padding: int, total: int, span: int) -> list[int]:
    """What each column needs: its content or its heading's longest word, and its
    margins; the last takes what the total under the last ``span`` columns needs more."""
    needs = [max(c, w) + padding for c, w in zip(content, words, strict=True)]
    needs[-1] += max(0, total + padding * span - sum(needs[-span:]))
    return needs


def _total_span(columns: int) -> int:
    """How many columns a total's amount spans, from the right: two, unless the label
    would then have none (a wide total need not widen the last column alone)."""
    return 2 if columns > 2 else 1


def _scaled(size: Length, scale: float) -> Length:
    """``size`` times ``scale``, down to a half point."""
    return Pt(math.floor(size.pt * scale * 2) / 2)


def _text(paragraph: Sequence[Run]) -> str:
    return "".join(text for text, _ in paragraph)


def _pieces(text: str, whole: bool) -> list[str]:
    """What must not break in a cell's paragraph: all of it, or each of its words."""
    return text.split("\n") if whole else pieces(text)


def _write_clause(number: int, clause: Localized, flow: _Flow, lang: Lang) -> None:
    flow.paragraph(f"{number}.\t{clause(lang)}", Styles.CLAUSE)


def _distinct(texts: Iterable[str]) -> str:
    return BILINGUAL_SEPARATOR.join(dict.fromkeys(texts))
