"""Glyph preflight: every character a document shows is in the font it is shown with.

A character no font of the document has (an emoji, a rare CJK Extension B ideograph,
a private-use character) would print as an empty box in the PDF and in the client's
Word. ``check`` reads the rendered .docx as Word and LibreOffice do: for each run the
fonts its formatting names (direct, character style, paragraph style, table style,
document defaults, theme), for each character the font of its slot (``w:ascii`` for
ASCII, ``w:eastAsia`` for CJK, ``w:hAnsi`` otherwise), and that font's character map
(fontTools), found on this machine through fontconfig and read once per process.

A refusal names the character and the input field it came from
(``lines.2.description.zh``), so that the issuer can replace it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from zipfile import ZipFile

from fontTools.ttLib import TTCollection, TTFont, TTLibError
from lxml import etree

from docgen.schema import DocumentInput, Text, ValidationError, texts

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_P, _R, _T, _TBL = (f"{{{W}}}{tag}" for tag in ("p", "r", "t", "tbl"))
_P_PR, _P_STYLE, _R_PR, _R_STYLE, _R_FONTS, _TBL_PR, _TBL_STYLE = (
    f"{{{W}}}{tag}" for tag in ("pPr", "pStyle", "rPr", "rStyle", "rFonts", "tblPr", "tblStyle")
)
_VAL = f"{{{W}}}val"
_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")
# The part of the document a character came from when no input text holds it.
LABEL_PATH = "document"

# Where Word and LibreOffice write a character with the East Asian font of its run:
# CJK radicals to CJK symbols and punctuation, kana, Bopomofo, Hangul compatibility
# jamo, Kanbun, CJK strokes, enclosed CJK, compatibility, Extension A, unified
# ideographs, Yi, Hangul syllables, compatibility ideographs, vertical and
# compatibility forms, half-width and full-width forms, and planes 2 and 3 (Extensions
# B to H).
_EAST_ASIAN = (
    (0x2E80, 0x2FDF), (0x2FF0, 0x303F), (0x3040, 0x31FF), (0x3200, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF), (0x20000, 0x3FFFF),
)
_SLOTS = ("ascii", "hAnsi", "eastAsia")
_THEME_SLOTS = {"ascii": "asciiTheme", "hAnsi": "hAnsiTheme", "eastAsia": "eastAsiaTheme"}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
             Path.home() / ".local/share/fonts")
_FONT_FILE = re.compile(r".*\.(ttf|otf|ttc|otc)$", re.IGNORECASE)

Fonts = tuple[str | None, str | None, str | None]
"""The (ascii, hAnsi, eastAsia) font names of a run; None where nothing names one."""


@dataclass(frozen=True)
class Uncovered:
    """A character of the document that the font it is written with does not have."""

    path: str
    char: str
    font: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"


class GlyphError(ValidationError):
    """Characters of the document that no font it is rendered with can show.

    ``uncovered`` lists each one with its input field's path (``LABEL_PATH`` for a
    character of docgen's own text); ``errors`` says ``path: 😀 (U+1F600) ...``.
    """

    def __init__(self, uncovered: list[Uncovered]) -> None:
        self.uncovered = uncovered
        super().__init__([
            (item.path, f"{item.char} ({item.codepoint}) is in no font the document uses ({item.font}): replace it")
            for item in uncovered
        ])


class FontNotFound(LookupError):
    """A font the document names is not on this machine: nothing can be checked (nor
    rendered as designed). An installation problem, not the input's."""


def check(docx: bytes, document: DocumentInput) -> None:
    """Refuse ``docx`` (rendered from ``document``) if a character it shows is in none
    of the fonts it is written with. Raises ``GlyphError`` naming each field."""
    missing = uncovered(docx)
    if missing:
        raise GlyphError(_name_fields(missing, document))


def uncovered(docx: bytes) -> list[tuple[str, str]]:
    """``(character, font)`` for every distinct character of ``docx`` that the font of
    its run and slot lacks, in order of first appearance."""
    by_fonts: dict[Fonts, dict[str, None]] = defaultdict(dict)
    with ZipFile(BytesIO(docx)) as package:
        names = package.namelist()
        theme = next((name for name in names if re.fullmatch(r"word/theme/theme\d*\.xml", name)), None)
        styles = _Styles(
            etree.fromstring(package.read("word/styles.xml")),
            _theme_fonts(etree.fromstring(package.read(theme))) if theme else {},
        )
        for name in names:
            if _PARTS.fullmatch(name):
                for fonts, text in styles.runs(etree.fromstring(package.read(name))):
                    by_fonts[fonts].update(dict.fromkeys(text))
    found: dict[str, str] = {}
    for fonts, chars in by_fonts.items():
        for char in chars:
            if char not in found and not _exempt(char):
                font = _missing_from(char, fonts)
                if font is not None:
                    found[char] = font
    return list(found.items())


# -- which font a run and a character use -----------------------------------------------


class _Styles:
    """The styles part, resolved the way Word does for each run: direct formatting over
    the character style over the paragraph style over the table style over the
    document defaults, each style over the one it is based on, font slot by slot."""

    def __init__(self, styles: etree._Element, theme: Mapping[str, str]) -> None:
        self._theme = theme
        self._resolved_runs: dict[tuple, Fonts] = {}
        self._resolved_styles: dict[str | None, Fonts] = {}
        self._styles = {style.get(f"{{{W}}}styleId"): style for style in styles.iter(f"{{{W}}}style")}
        self._default_paragraph = next(
            (sid for sid, style in self._styles.items()
             if style.get(f"{{{W}}}type") == "paragraph" and style.get(f"{{{W}}}default") in ("1", "true")),
            None,
        )
        defaults = _child(_child(_child(styles, f"{{{W}}}docDefaults"), f"{{{W}}}rPrDefault"), _R_PR)
        self._defaults = self._fonts_of(defaults)

    def runs(self, root: etree._Element) -> Iterable[tuple[Fonts, str]]:
        """Each run's fonts and text in a document, header or footer part."""
        table_styles: dict[etree._Element, str | None] = {}
        for paragraph in root.iter(_P):
            table = next(paragraph.iterancestors(_TBL), None)
            if table is not None and table not in table_styles:
                table_styles[table] = _val(_child(_child(table, _TBL_PR), _TBL_STYLE))
            paragraph_style = _val(_child(_child(paragraph, _P_PR), _P_STYLE)) or self._default_paragraph
            table_style = table_styles.get(table) if table is not None else None
            for run in paragraph.iterchildren(_R):
                text = "".join(t.text or "" for t in run.iterchildren(_T))
                if text:
                    properties = _child(run, _R_PR)
                    yield self._run_fonts(
                        self._fonts_of(properties), _val(_child(properties, _R_STYLE)), paragraph_style, table_style
                    ), text

    def _run_fonts(self, direct: Fonts, character: str | None, paragraph: str | None, table: str | None) -> Fonts:
        key = (direct, character, paragraph, table)
        if key not in self._resolved_runs:
            layers = (direct, self._style(character), self._style(paragraph), self._style(table), self._defaults)
            self._resolved_runs[key] = tuple(
                next((layer[slot] for layer in layers if layer[slot]), None) for slot in range(len(_SLOTS))
            )
        return self._resolved_runs[key]

    def _style(self, style_id: str | None, seen: frozenset[str] = frozenset()) -> Fonts:
        if style_id not in self._resolved_styles:
            style = self._styles.get(style_id) if style_id else None
            if style is None or style_id in seen:  # no such style, or a loop of basedOn
                return (None, None, None)
            own = self._fonts_of(_child(style, _R_PR))
            based = self._style(_val(_child(style, f"{{{W}}}basedOn")), seen | {style_id})
            self._resolved_styles[style_id] = tuple(
                mine or inherited for mine, inherited in zip(own, based, strict=True)
            )
        return self._resolved_styles[style_id]

    def _fonts_of(self, properties: etree._Element | None) -> Fonts:
        fonts = _child(properties, _R_FONTS)
        if fonts is None:
            return (None, None, None)
        # A theme font wins over the name beside it, as in Word.
        return tuple(
            self._theme.get(fonts.get(f"{{{W}}}{_THEME_SLOTS[slot]}") or "") or fonts.get(f"{{{W}}}{slot}")
            for slot in _SLOTS
        )


def _child(element: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child of ``element`` with ``tag``: properties come first, so this is
    quicker than ``find``, which parses its path on every call."""
    if element is not None:
        for child in element:
            if child.tag == tag:
                return child
    return None


def _val(element: etree._Element | None) -> str | None:
    return element.get(_VAL) if element is not None else None


def _theme_fonts(theme: etree._Element) -> dict[str, str]:
    """The theme's font names by the ``w:*Theme`` values that refer to them."""
    names = {}
    for scheme in ("major", "minor"):
        fonts = theme.find(f".//{{{A}}}{scheme}Font")
        if fonts is None:
            continue
        latin = fonts.find(f"{{{A}}}latin")
        east_asian = fonts.find(f"{{{A}}}ea")
        chinese = fonts.find(f"{{{A}}}font[@script='Hans']")
        east_asian_name = (east_asian.get("typeface") if east_asian is not None else "") or (
            chinese.get("typeface") if chinese is not None else "")
        if latin is not None and latin.get("typeface"):
            names[f"{scheme}Ascii"] = names[f"{scheme}HAnsi"] = latin.get("typeface")
        if east_asian_name:
            names[f"{scheme}EastAsia"] = east_asian_name
    return names


def _exempt(char: str) -> bool:
    """Whitespace, and the invisible characters that layout and typing add (soft hyphen,
    word joiner, zero-width joiners, variation selectors): no glyph is drawn for them."""
    return char.isspace() or unicodedata.category(char) == "Cf" or 0xFE00 <= ord(char) <= 0xFE0F \
        or 0xE0100 <= ord(char) <= 0xE01EF


def _slot(char: str) -> int:
    codepoint = ord(char)
    if codepoint < 0x80:
        return 0
    if any(low <= codepoint <= high for low, high in _EAST_ASIAN):
        return 2
    return 1


def _missing_from(char: str, fonts: Fonts) -> str | None:
    """The font that should show ``char`` but lacks it, or None when it is shown.

    Punctuation, symbols and digits belong to no script: Word and LibreOffice write them
    with either font of the run, by the text around them, so either font will do.
    """
    slot = _slot(char)
    font = fonts[slot] or fonts[1] or fonts[0] or fonts[2]
    if font is None:
        raise FontNotFound("the document names no font for its text")
    if ord(char) in character_map(font):
        return None
    if unicodedata.category(char)[0] in "PSN":
        other = fonts[2] if slot != 2 else fonts[1]
        if other and ord(char) in character_map(other):
            return None
    return font


# -- fonts on this machine --------------------------------------------------------------


@functools.cache
def character_map(font: str) -> frozenset[int]:
    """The code points the font named ``font`` has glyphs for, as installed here."""
    path, index = font_file(font)
    try:
        with TTFont(path, fontNumber=index, lazy=True) as loaded:
            return frozenset(loaded.getBestCmap() or ())
    except (OSError, TTLibError) as error:
        raise FontNotFound(f"cannot read the font {font!r} ({path}): {error}") from None


@functools.cache
def font_file(font: str) -> tuple[str, int]:
    """The file (and index in a collection) this machine renders ``font`` with: what
    fontconfig matches, as LibreOffice does; else the system font whose family it is."""
    fc_match = shutil.which("fc-match")
    if fc_match:
        answer = subprocess.run([fc_match, "-f", "%{file}\t%{index}", font], capture_output=True, text=True,
                                timeout=30, check=False)
        path, _, index = answer.stdout.partition("\t")
        if answer.returncode == 0 and path and os.path.exists(path):
            return path, int(index or 0)
    found = _system_fonts().get(font.casefold())
    if found is None:
        raise FontNotFound(f"the font {font!r} is not installed")
    return found


@functools.cache
def _system_fonts() -> dict[str, tuple[str, int]]:
    """Family name (case-folded) to file and index, for the fonts in the system font
    folders; a regular face first. Used where fontconfig is not installed."""
    found: dict[str, tuple[str, int]] = {}
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if _FONT_FILE.fullmatch(path.name):
                for index, (family, regular) in enumerate(_families(path)):
                    if family and (regular or family.casefold() not in found):
                        found[family.casefold()] = (str(path), index)
    return found


def _families(path: Path) -> list[tuple[str | None, bool]]:
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            with TTCollection(path, lazy=True) as collection:
                return [_family(font) for font in collection.fonts]
        with TTFont(path, lazy=True) as font:
            return [_family(font)]
    except (OSError, TTLibError):
        return []


def _family(font: TTFont) -> tuple[str | None, bool]:
    return _name(font, 16) or _name(font, 1), (_name(font, 2) or "").lower() == "regular"


def _name(font: TTFont, name_id: int) -> str | None:
    record = font["name"].getName(name_id, 3, 1) or font["name"].getName(name_id, 1, 0)
    return record.toUnicode() if record is not None else None


# -- which input field a character came from ------------------------------------------------


def _name_fields(missing: list[tuple[str, str]], document: DocumentInput) -> list[Uncovered]:
    """Each uncovered character with every input field of the document's languages that
    holds it (a source text shown for a missing language counts as shown)."""
    shown = list(_shown_texts(document))
    result = []
    for char, font in missing:
        paths = [path for path, text in shown if char in text] or [LABEL_PATH]
        result.extend(Uncovered(path, char, font) for path in paths)
    return result


def _shown_texts(document: DocumentInput) -> Iterable[tuple[str, str]]:
    languages = document.languages
    for path, value in texts(document):
        if isinstance(value, str):
            yield path, value
            continue
        shows_source = isinstance(value, Text) and not all(value.has(lang) for lang in languages)
        for lang, text in value.items():
            if not lang:
                yield path, text
            elif lang in languages or (shows_source and lang == value.source_language):
                yield f"{path}.{lang}", text
