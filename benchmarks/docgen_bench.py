"""How fast docgen renders, against a bare python-docx script writing the same text.

    .venv/bin/python benchmarks/docgen_bench.py [--repeat 30]

Every kind is rendered in each language and bilingual pair, plus a 2,000-line work
order, in-process: the median of ``--repeat`` renders (at least 30) after a warm-up.
The bare script writes the same paragraphs and table cells (read back from docgen's
output beforehand) with python-docx's own API, cell by cell, on its default template:
no styles, fonts, fields or determinism. Targets: the 2,000-line work order at no more
than 1.0x the bare script, a bilingual amendment at no more than 1.5x.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docx
from docx.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docgen import KINDS, render  # noqa: E402

INPUTS = REPO / "tests" / "docgen" / "inputs"
LANGUAGE_SETS = (["en"], ["zh"], ["vi"], ["en", "zh"], ["en", "vi"], ["zh", "vi"])
TARGETS = {("work_order", "en", 2000): 1.0, ("work_order", "en+vi", 2000): 1.0, ("amendment", "en+zh", 0): 1.5}
STRETCH_MS = 30.0
MIN_REPEAT = 30

Content = list  # paragraphs (str) and tables (list of rows of cell texts), in order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=MIN_REPEAT, help=f"renders per median (at least {MIN_REPEAT})")
    repeat = max(parser.parse_args().repeat, MIN_REPEAT)

    cases = [(kind, languages, 0) for kind in KINDS for languages in LANGUAGE_SETS]
    cases += [("work_order", ["en"], 2000), ("work_order", ["en", "vi"], 2000)]
    print(f"median of {repeat} renders after warm-up; ratio = docgen / bare python-docx\n")
    print(f"{'document':<28}{'docgen ms':>11}{'bare ms':>11}{'ratio':>8}  target")
    for kind, languages, lines in cases:
        data = _input(kind, lines)
        ours = _median(lambda: render(data, languages), repeat)
        content = _content(render(data, languages))
        bare = _median(lambda: _bare_python_docx(content), repeat)
        label = "+".join(languages)
        target = TARGETS.get((kind, label, lines))
        verdict = "" if target is None else f"<= {target:.1f}x {'ok' if ours / bare <= target else 'MISSED'}"
        if ours * 1000 < STRETCH_MS and not verdict:
            verdict = f"< {STRETCH_MS:.0f} ms"
        name = f"{kind} {label}" + (f" {lines} lines" if lines else "")
        print(f"{name:<28}{ours * 1000:>11.1f}{bare * 1000:>11.1f}{ours / bare:>7.2f}x  {verdict}")


def _input(kind: str, lines: int) -> dict:
    data = json.loads((INPUTS / f"{kind}.json").read_text(encoding="utf-8"))
    if lines:
        line = data["lines"][0]
        data["lines"] = [dict(line, quantity=str(number)) for number in range(1, lines + 1)]
    return data


def _median(function: Callable[[], object], repeat: int) -> float:
    for _ in range(3):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _content(document_bytes: bytes) -> Content:
    """The text of a rendered document: its paragraphs and the cells of its tables."""
    document = docx.Document(io.BytesIO(document_bytes))
    content: Content = [document.sections[0].header.paragraphs[0].text]
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            content.append([[cell.text for cell in _unique(row.cells)] for row in block.rows])
        else:
            content.append(block.text)
    return content


def _unique(cells):
    """Cells of a row, a merged cell once (python-docx repeats it per grid column)."""
    seen = []
    for cell in cells:
        if not any(cell._tc is other._tc for other in seen):
            seen.append(cell)
    return seen


def _bare_python_docx(content: Content) -> bytes:
    """What a user of plain python-docx writes: text, then tables cell by cell."""
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = content[0]
    for block in content[1:]:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        table = document.add_table(rows=0, cols=max(len(row) for row in block))
        for row in block:
            for cell, text in zip(table.add_row().cells, row):
                cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
