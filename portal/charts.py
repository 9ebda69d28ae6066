"""Charts as SVG, drawn server-side by matplotlib (served as images, so the page's
CSP needs no inline style). Every chart has its numbers in a table beside it too.

Drawn on ``matplotlib.figure.Figure`` objects of their own, without pyplot and its
process-wide registry of figures."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

PRIMARY, SECONDARY, ACCENT, GRID = "#1d5fa8", "#9bb8d8", "#c2410c", "#d7dde5"


@lru_cache(maxsize=1)
def _style() -> dict:
    """Fonts with Chinese and Vietnamese glyphs first; text becomes paths in the SVG,
    so the reader's machine needs no font. Text is drawn as typed: names come from
    users, and ``$...$`` would otherwise be parsed as math (``$\\frac{1}{$`` raises)."""
    return {
        "text.parse_math": False,
        "font.family": ["Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", "sans-serif"],
        "svg.fonttype": "path",
        "svg.hashsalt": "portal",  # stable ids: the same chart gives the same bytes
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": GRID,
        "axes.grid": True,
        "grid.color": GRID,
        "grid.linewidth": 0.6,
        "font.size": 9,
    }


# The style is matplotlib's rcParams, which are global to the process and read while a
# chart is drawn and while it is saved (the fonts of tick labels made at drawing time,
# svg.hashsalt): an rc_context in one thread would restyle, or undo the style of, a
# chart another thread is drawing. So one chart at a time is drawn in the style, under
# this lock; nothing else in the portal sets rcParams. (A chart takes tens of
# milliseconds; gunicorn's sync workers draw one at a time anyway.)
_DRAWING = threading.Lock()


@contextmanager
def _chart() -> Iterator[tuple[Figure, Axes]]:
    """A figure and its axes in the charts' style; save it before the block ends."""
    with _DRAWING, matplotlib.rc_context(_style()):
        figure = Figure(figsize=(8, 3.2))
        yield figure, figure.subplots()


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    return out.getvalue()


def _svg(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return out.getvalue()


def _numbers(values: Sequence[Decimal | float | None]) -> list[float]:
    return [float(v) if v is not None else float("nan") for v in values]


def bars_and_lines(labels: Sequence[str], bars: tuple[str, Sequence], lines: Sequence[tuple[str, Sequence]],
                   *, title: str = "", y_label: str = "") -> bytes:
    """Monthly bars (e.g. billed revenue) with lines over them (e.g. ACV per month, forecast)."""
    with _chart() as (fig, ax):
        name, values = bars
        ax.bar(labels, _numbers(values), color=SECONDARY, label=name, zorder=2)
        for (line_name, line_values), color in zip(lines, (PRIMARY, ACCENT)):
            ax.plot(labels, _numbers(line_values), color=color, marker="o", markersize=3, linewidth=1.6,
                    label=line_name, zorder=3)
        ax.set_title(title, loc="left", fontsize=10, pad=22)
        ax.set_ylabel(y_label)
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=3)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        return _svg(fig)


def line(labels: Sequence[str], series: Sequence[tuple[str, Sequence]], *, title: str = "", y_label: str = "",
         target: float | None = None, target_label: str = "", fmt: str = "svg") -> bytes:
    """One or more lines over months, with an optional horizontal target; SVG for
    pages, PNG (``fmt="png"``) for documents."""
    with _chart() as (fig, ax):
        for (name, values), color in zip(series, (PRIMARY, ACCENT, SECONDARY)):
            ax.plot(labels, _numbers(values), color=color, marker="o", markersize=3, linewidth=1.6, label=name)
        if target is not None:
            ax.axhline(target, color=ACCENT, linestyle="--", linewidth=1, label=target_label)
        ax.set_title(title, loc="left", fontsize=10, pad=22)
        ax.set_ylabel(y_label)
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=3)
        return _png(fig) if fmt == "png" else _svg(fig)


def svg_response(data: bytes):
    from flask import Response

    response = Response(data, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
