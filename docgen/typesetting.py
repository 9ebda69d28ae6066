"""How wide text sets, and how to keep a value on one line.

Column widths come from the content: a table measures its cells with the advance
widths of the fonts the base document names (``font_widths.json``, made by
``docgen.tools.make_metrics``; every CJK ideograph and full-width sign is one em) and
gives each column at least the width of what must not break in it.

A value that must stay on one line (an amount, a date, a person's name, a code) is
written with no-break spaces, and with word joiners (U+2060) between its characters
where Chinese line breaking would otherwise allow a break (``欧阳建国``,
``2027年12月31日``). LibreOffice honours a word joiner only in text it does not break
as Chinese, so the run holding one is tagged with a non-Chinese East Asian language
(``ooxml.add_runs``); measured in rendered PDFs.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

NBSP = "\u00a0"
WORD_JOINER = "\u2060"
WIDTHS_FILE = Path(__file__).with_name("font_widths.json")
FALLBACK_FAMILY = "Noto Serif"

# Characters Chinese line breaking breaks between (ideographs, kana, hangul, full-width signs).
CJK = "\u2e80-\u303f\u3040-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_IS_CJK = re.compile(f"[{CJK}]")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Break opportunities a measure assumes: spaces, tabs and line ends (a no-break space is
# none), and between two CJK characters, except before closing and after opening signs.
_SPACES = re.compile(r"[ \t\n]+")
_CLOSING = frozenset("，。、；：！？）》」』】〕…%％")
_OPENING = frozenset("（《「『【〔")
# Where a kept-whole value joins its characters: around CJK characters, and after a
# hyphen or slash, which Latin line breaking would break after (LibreOffice breaks
# INV-SVT-VN-202610 before its digits too).
_JOIN_CJK = re.compile(f"(?<=[{CJK}])(?=[{CJK}])")
_JOIN_AFTER = re.compile(rf"(?<=[{CJK}])(?=\S)|(?<=\S)(?=[{CJK}])|(?<=[-/])(?=\S)")


@functools.cache
def _widths() -> dict[str, dict[str, dict[int, float]]]:
    table = json.loads(WIDTHS_FILE.read_text(encoding="utf-8"))
    return {
        family: {style: {int(code): width / 1000 for code, width in codes.items()} for style, codes in styles.items()}
        for family, styles in table.items()
    }


@functools.lru_cache(maxsize=65536)
def keep_whole(text: str) -> str:
    """``text`` with no break opportunity left: no-break spaces, joined characters."""
    text = text.replace(" ", NBSP)
    if text.isascii() and "-" not in text and "/" not in text:
        return text
    return _JOIN_AFTER.sub(WORD_JOINER, text)


def keep_words(text: str) -> str:
    """``text`` with its Chinese words unbroken (a heading's ``序号``): the characters of
    each stretch of CJK text joined; spaces still break."""
    return _JOIN_CJK.sub(WORD_JOINER, text)


def is_cjk(char: str) -> bool:
    return bool(_IS_CJK.match(char))


@functools.lru_cache(maxsize=65536)
def text_width(text: str, family: str, bold: bool) -> float:
    """The width of ``text`` in ems of its font size; a character the table does not
    know counts one em (as wide as an ideograph), so a measure errs wide."""
    widths = _widths()
    metrics = widths.get(family, widths[FALLBACK_FAMILY])["bold" if bold else "regular"]
    return sum(0.0 if char in _ZERO_WIDTH else metrics.get(ord(char), 1.0) for char in text)


@functools.lru_cache(maxsize=65536)
def pieces(text: str, *, words_whole: bool = False) -> tuple[str, ...]:
    """The pieces of ``text`` a line never breaks inside.

    Latin words are whole; Chinese text breaks between characters, unless
    ``words_whole`` (a heading: ``序号`` must not break) or a word joiner joins them.
    """
    found = []
    for word in _SPACES.split(text):
        if not word:
            continue
        if words_whole or not _IS_CJK.search(word):
            found.append(word)
            continue
        piece = ""
        for char in word:
            if piece and _breaks_between(piece[-1], char):
                found.append(piece)
                piece = ""
            piece += char
        found.append(piece)
    return tuple(found)


def _breaks_between(before: str, after: str) -> bool:
    if WORD_JOINER in (before, after) or before in _OPENING or after in _CLOSING:
        return False
    return is_cjk(before) or is_cjk(after)
