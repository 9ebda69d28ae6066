"""Charts are drawn without pyplot and are the same bytes whichever thread draws them,
however many threads draw at once (a threaded server, the review pack's PNGs)."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from portal import charts

MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]


def draw(kind: str) -> bytes:
    if kind == "bars":
        return charts.bars_and_lines(MONTHS, ("已开票", [1200, 1500, None, 900, 1800, 2100]),
                                     [("ACV / 12", [1000] * 6), ("Dự báo", [None, None, None, 1100, 1700, 2000])],
                                     title="收入与合同年度价值", y_label="USD")
    if kind == "line":
        return charts.line(MONTHS, [("Tỷ lệ đạt", [99.1, 98.5, None, 97, 99.9, 100])], title="Mức đạt KPI",
                           y_label="%", target=99, target_label="Mục tiêu")
    return charts.line(MONTHS, [("Attainment", [99, 98, 97, 97, 99, 100]), ("Met", [80, 90, 100, 75, 80, 95])],
                       title="Overall attainment", y_label="%", target=95, target_label="Target", fmt="png")


KINDS = ["bars", "line", "png"]


def test_charts_drawn_by_several_threads_at_once_are_the_bytes_drawn_alone():
    alone = {kind: draw(kind) for kind in KINDS}
    assert alone["bars"].startswith(b"<?xml") and alone["png"].startswith(b"\x89PNG")
    assert draw("bars") == alone["bars"]  # deterministic: no random ids, no dates
    jobs = KINDS * 2
    for _round in range(3):  # a race need not show every time
        start = threading.Barrier(len(jobs))

        def draw_together(kind: str) -> bytes:
            start.wait()
            return draw(kind)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            together = list(pool.map(draw_together, jobs))
        assert [kind for kind, data in zip(jobs, together) if data != alone[kind]] == []


def test_charts_are_drawn_without_pyplot():
    code = ("import sys; from tests.test_charts import draw, KINDS; [draw(k) for k in KINDS]; "
            "print('matplotlib.pyplot' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_dollar_signs_in_chart_text_are_not_math():
    """Names come from users (KPIs, series): ``$\\frac{1}{$`` is text, not a formula."""
    odd = r"$\frac{1}{$"
    svg = charts.line(MONTHS, [(odd, [1, 2, 3, 4, 5, 6])], title=odd, y_label=odd, target=3, target_label=odd)
    bars = charts.bars_and_lines(MONTHS, (odd, [1] * 6), [(odd, [2] * 6)], title=odd, y_label=odd)
    assert svg.startswith(b"<?xml") and bars.startswith(b"<?xml")
