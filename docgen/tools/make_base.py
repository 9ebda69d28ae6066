"""Generate ``docgen/base.docx``, the house-style base document.

    python -m docgen.tools.make_base

The base holds the styles, fonts, A4 margins and the (empty) header and footer that
every document starts from. A business user may restyle it in Word instead: keep the
style names of ``docgen.layout.Styles``. It starts from python-docx's default template,
without the parts docgen does not use (Letter-size thumbnail, styles-with-effects,
custom XML, numbering, web settings) and without the template's 160 styles, so that
every render loads and saves a small package.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Length, Mm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.styles.styles import Styles as StyleCollection

from docgen import ooxml
from docgen.layout import A4, BASE_DOCUMENT, DATA_CELL_MARGIN, GRID_CELL_MARGIN, Styles
from docgen.package import repack

SERIF = ("Noto Serif", "Noto Serif CJK SC")
SANS = ("Noto Sans", "Noto Sans CJK SC")
MONO = ("Noto Sans Mono CJK SC", "Noto Sans Mono CJK SC")
INK = RGBColor(0x1F, 0x2A, 0x37)
HEADER_FILL = "E8EDF3"
# Styles of the default template that Word expects to exist.
KEPT_STYLE_IDS = ("Normal", "DefaultParagraphFont", "TableNormal", "NoList")
# Name, family, charset (86: GB2312) for word/fontTable.xml.
FONTS = (
    ("Noto Serif", "roman", "00"),
    ("Noto Sans", "swiss", "00"),
    ("Noto Serif CJK SC", "roman", "86"),
    ("Noto Sans CJK SC", "swiss", "86"),
    ("Noto Sans Mono CJK SC", "modern", "86"),
)
APP_PROPERTIES = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    b"<Application>docgen</Application></Properties>"
)
# python-docx has no constant for Word 2010's styles-with-effects part.
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
UNUSED_PARTS = (RT.THUMBNAIL, RT.CUSTOM_XML, RT.NUMBERING, RT.WEB_SETTINGS, STYLES_WITH_EFFECTS)
BUILT_IN_STYLES = (Styles.TITLE, Styles.SUBTITLE, Styles.HEADING, Styles.HEADER, Styles.FOOTER)


def build() -> bytes:
    """Return the base document's bytes."""
    document = docx.Document()
    for relationships in (document.part.package.rels, document.part.rels):
        for rel_id, relationship in list(relationships.items()):
            if relationship.reltype in UNUSED_PARTS:
                relationships.pop(rel_id)

    _define_styles(document.styles)

    settings = document.settings.element
    ooxml.remove_children(settings, "w:rsids", "w:savePreviewPicture", "w:attachedTemplate")
    ooxml.set_theme_font_lang(settings, "en-US", "zh-CN")

    section = document.sections[0]
    section.page_width, section.page_height = A4
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin = section.right_margin = Mm(20)
    section.header_distance = section.footer_distance = Mm(10)
    section.header.paragraphs[0].style = document.styles[Styles.HEADER]
    section.footer.paragraphs[0].style = document.styles[Styles.FOOTER]

    properties = document.core_properties
    properties.author = properties.last_modified_by = ""
    properties.title = properties.subject = properties.comments = properties.keywords = ""
    properties.created = properties.modified = datetime(2026, 1, 1)
    properties.revision = 1

    buffer = BytesIO()
    document.save(buffer)
    return repack(
        buffer.getvalue(),
        replace={"docProps/app.xml": APP_PROPERTIES, "word/fontTable.xml": ooxml.font_table(FONTS)},
    )


def _define_styles(styles: StyleCollection) -> None:
    ooxml.keep_only_styles(styles.element, KEPT_STYLE_IDS)
    ooxml.strip_theme_fonts(styles.element)
    defaults = ooxml.doc_defaults_rpr(styles.element)
    ooxml.set_fonts(defaults, *SERIF)
    ooxml.set_language(defaults, "en-US", "zh-CN")

    normal = styles[Styles.NORMAL]
    _font(normal, SERIF, Pt(10.5))
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.15
    # No paragraph leaves a single line at the foot or the head of a page.
    normal.paragraph_format.widow_control = True

    title = _paragraph_style(styles, Styles.TITLE, SANS, Pt(16), bold=True)
    title.font.all_caps = True
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = Pt(6)
    title.paragraph_format.keep_with_next = True

    subtitle = _paragraph_style(styles, Styles.SUBTITLE, SANS, Pt(10.5))
    subtitle.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.paragraph_format.space_after = Pt(10)
    subtitle.paragraph_format.keep_with_next = True

    heading = _paragraph_style(styles, Styles.HEADING, SANS, Pt(11.5), bold=True)
    heading.paragraph_format.space_before = Pt(10)
    heading.paragraph_format.keep_with_next = True
    heading.paragraph_format.keep_together = True

    national = _paragraph_style(styles, Styles.NATIONAL_HEADER, SERIF, Pt(11), bold=True)
    national.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    national.paragraph_format.space_after = Pt(0)
    motto = _paragraph_style(styles, Styles.NATIONAL_MOTTO, SERIF, Pt(11), bold=True, base=national)
    motto.font.underline = True
    motto.paragraph_format.space_after = Pt(12)

    clause = _paragraph_style(styles, Styles.CLAUSE, SERIF, Pt(10.5))
    clause.paragraph_format.left_indent = Mm(7)
    clause.paragraph_format.first_line_indent = -Mm(7)
    clause.paragraph_format.tab_stops.add_tab_stop(Mm(7), WD_TAB_ALIGNMENT.LEFT)

    signature = _paragraph_style(styles, Styles.SIGNATURE, SERIF, Pt(10))
    signature.paragraph_format.space_before = Pt(8)

    for name, alignment in ((Styles.HEADER, WD_ALIGN_PARAGRAPH.RIGHT), (Styles.FOOTER, WD_ALIGN_PARAGRAPH.CENTER)):
        furniture = _paragraph_style(styles, name, SANS, Pt(8.5))
        furniture.font.color.rgb = RGBColor(0x59, 0x63, 0x6E)
        furniture.paragraph_format.alignment = alignment
        furniture.paragraph_format.space_after = Pt(0)

    table_text = _paragraph_style(styles, Styles.TABLE_TEXT, SERIF, Pt(9))
    table_text.paragraph_format.space_after = Pt(0)
    table_text.paragraph_format.line_spacing = 1.0
    number = _paragraph_style(styles, Styles.TABLE_NUMBER, SERIF, Pt(9), base=table_text)
    number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph_style(styles, Styles.TABLE_HEADING, SANS, Pt(9), bold=True, base=table_text)

    label = styles.add_style(Styles.FIELD_LABEL, WD_STYLE_TYPE.CHARACTER)
    label.font.bold = True
    hash_style = styles.add_style(Styles.HASH, WD_STYLE_TYPE.CHARACTER)
    _font(hash_style, MONO, Pt(8.5))

    data_table = styles.add_style(Styles.DATA_TABLE, WD_STYLE_TYPE.TABLE)
    ooxml.define_table_style(
        data_table.element, border=Pt(0.5), cell_margin=DATA_CELL_MARGIN, row_margin=Mm(0.8), header_fill=HEADER_FILL
    )
    grid = styles.add_style(Styles.LAYOUT_GRID, WD_STYLE_TYPE.TABLE)
    ooxml.define_table_style(grid.element, border=None, cell_margin=GRID_CELL_MARGIN, row_margin=Mm(0))


def _paragraph_style(
    styles: StyleCollection,
    name: str,
    fonts: tuple[str, str],
    size: Length,
    *,
    bold: bool = False,
    base: BaseStyle | None = None,
) -> BaseStyle:
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH, builtin=name in BUILT_IN_STYLES)
    style.base_style = base or styles[Styles.NORMAL]
    style.font.bold = bold
    _font(style, fonts, size)
    if fonts == SANS:
        style.font.color.rgb = INK
    return style


def _font(style: BaseStyle, fonts: tuple[str, str], size: Length) -> None:
    style.font.size = size
    ooxml.set_fonts(style.element.get_or_add_rPr(), *fonts)


def main() -> None:
    Path(BASE_DOCUMENT).write_bytes(build())
    print(f"wrote {BASE_DOCUMENT}")


if __name__ == "__main__":
    main()
