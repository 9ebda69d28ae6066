"""Generate ``docgen/font_widths.json``: the advance widths of the Latin fonts the
base document names, for the characters of English and Vietnamese text.

    python -m docgen.tools.make_metrics

docgen sizes table columns from their content (``docgen.typesetting``). It reads these
widths from a committed table rather than from the fonts at render time, so that a
document's bytes do not depend on the fonts of the machine that renders it. Chinese
characters need no table: the CJK fonts give every ideograph and full-width sign one em.
The widths are rounded up to a thousandth of an em, so that a measure errs wide.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

from fontTools.ttLib import TTFont

WIDTHS_FILE = Path(__file__).resolve().parent.parent / "font_widths.json"
FAMILIES = ("Noto Serif", "Noto Sans")
STYLES = {"regular": "", "bold": ":bold"}
# Basic Latin, Latin-1, Latin Extended-A, Vietnamese (Ơ ơ Ư ư and the stacked marks),
# general punctuation and currency signs.
RANGES = (
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x100, 0x17F),
    (0x1A0, 0x1A1),
    (0x1AF, 0x1B0),
    (0x1EA0, 0x1EF9),
    (0x2010, 0x2027),
    (0x2030, 0x203A),
    (0x20A0, 0x20BF),
)


def font_file(pattern: str) -> Path:
    """The file fontconfig picks for a pattern such as ``Noto Serif:bold``."""
    found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


def widths(path: Path) -> dict[str, int]:
    """Advance widths in thousandths of an em, rounded up, by code point."""
    with TTFont(path, lazy=True) as font:
        scale = 1000 / font["head"].unitsPerEm
        cmap, metrics = font.getBestCmap(), font["hmtx"]
        return {
            str(code): math.ceil(metrics[cmap[code]][0] * scale)
            for low, high in RANGES
            for code in range(low, high + 1)
            if code in cmap
        }


def build() -> str:
    """The table as JSON text: family, then regular or bold, then code point."""
    table = {
        family: {style: widths(font_file(family + suffix)) for style, suffix in STYLES.items()}
        for family in FAMILIES
    }
    return json.dumps(table, sort_keys=True, separators=(",", ":")) + "\n"


def main() -> None:
    WIDTHS_FILE.write_text(build(), encoding="utf-8")
    print(f"wrote {WIDTHS_FILE}")


if __name__ == "__main__":
    main()
