"""Charts as SVG, drawn server-side by matplotlib (served as images, so the page's
CSP needs no inline style). Every chart has its numbers in a table beside it too.

Drawn on ``matplotlib.figure.Figure`` objects of their own, without pyplot and its
process-wide registry of figures.

A chart is drawn once per account, data and language (``Chart``, ``serve``): its
version is a hash of what it shows (numbers, labels, titles in the reader's language),
the drawn SVG is kept under it in a cache shared by the workers (Redis when
``REDIS_URL`` is set, else each process's memory), and answered with that version as
its ETag and ``Cache-Control: private``. A page that has the chart's data already puts
the chart in the cache's data half and the version in the image's URL (``?v=``): the
image request then finds the drawing, or draws from the data without computing it
again, and the browser keeps it for a day."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cachetools import TTLCache

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


# --- drawn once per account, data and language ------------------------------------------

log = logging.getLogger(__name__)
CACHE_SECONDS = 24 * 3600
KINDS: dict[str, Callable[..., bytes]] = {"line": line, "bars_and_lines": bars_and_lines}


def _plain(values: Sequence[Decimal | float | None]) -> list[float | None]:
    return [None if value is None else float(value) for value in values]


@dataclass(frozen=True)
class Chart:
    """What a chart shows, in the reader's language: enough to draw it and to name its version."""

    kind: str  # a key of KINDS
    account_id: int
    labels: list[str]
    options: dict[str, Any] = field(default_factory=dict)  # series, bars, lines, title, target...

    @classmethod
    def line(cls, account_id: int, labels: Sequence[str], series: Sequence[tuple[str, Sequence]], **options) -> Chart:
        return cls("line", account_id, list(labels),
                   {**options, "series": [[str(name), _plain(values)] for name, values in series]})

    @classmethod
    def bars_and_lines(cls, account_id: int, labels: Sequence[str], bars: tuple[str, Sequence],
                       lines: Sequence[tuple[str, Sequence]], **options) -> Chart:
        return cls("bars_and_lines", account_id, list(labels),
                   {**options, "bars": [str(bars[0]), _plain(bars[1])],
                    "lines": [[str(name), _plain(values)] for name, values in lines]})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)

    @property
    def version(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:20]

    def draw(self) -> bytes:
        options = {key: str(value) if key in ("title", "y_label", "target_label") else value
                   for key, value in self.options.items()}
        if self.kind == "line":
            options["series"] = [tuple(pair) for pair in options["series"]]
        else:
            options["bars"] = tuple(options["bars"])
            options["lines"] = [tuple(pair) for pair in options["lines"]]
        return KINDS[self.kind](self.labels, **options)


class _Store:
    """Bytes by key for a day: in Redis when configured (shared by every worker and
    server), else in this process's memory. A cache: Redis being away costs a drawing,
    never an answer."""

    def __init__(self) -> None:
        self.memory: TTLCache = TTLCache(maxsize=512, ttl=CACHE_SECONDS)
        self.lock = threading.Lock()

    def _redis(self):
        from flask import current_app

        url = current_app.config.get("REDIS_URL")
        if not url:
            return None
        client = current_app.extensions.get("portal_chart_redis")
        if client is None:
            import redis

            client = current_app.extensions["portal_chart_redis"] = redis.Redis.from_url(
                url, socket_connect_timeout=0.5, socket_timeout=0.5)
        return client

    def get(self, key: str) -> bytes | None:
        client = self._redis()
        if client is not None:
            try:
                return client.get(key)
            except Exception as error:
                log.warning("chart cache unavailable: %s", type(error).__name__)
                return None
        with self.lock:
            return self.memory.get(key)

    def put(self, key: str, value: bytes) -> None:
        client = self._redis()
        if client is not None:
            try:
                client.set(key, value, ex=CACHE_SECONDS)
            except Exception as error:
                log.warning("chart cache unavailable: %s", type(error).__name__)
            return
        with self.lock:
            self.memory[key] = value


STORE = _Store()


def _key(half: str, account_id: int, name: str, version: str) -> str:
    from flask import current_app

    from portal.i18n import current_language

    prefix = current_app.config["CACHE_KEY_PREFIX"]
    return f"{prefix}:chart:{half}:{account_id}:{name}:{current_language()}:{version}"


def offer(name: str, chart: Chart) -> str:
    """Keep what ``chart`` shows where its image request will find it; its version, for the URL."""
    version = chart.version
    key = _key("data", chart.account_id, name, version)
    if STORE.get(_key("svg", chart.account_id, name, version)) is None and STORE.get(key) is None:
        STORE.put(key, chart.to_json().encode())
    return version


def _from_json(data: bytes) -> Chart:
    return Chart(**json.loads(data))


def serve(name: str, account_id: int, compute: Callable[[], Chart]):
    """The chart ``name`` of the account (checked by the caller): from the cache when the
    URL's ``v`` names a version drawn or offered already, else computed, drawn once and kept.
    304 when the browser has this version."""
    from flask import request

    version = request.args.get("v", "")
    svg = STORE.get(_key("svg", account_id, name, version)) if version else None
    if svg is None:
        offered = STORE.get(_key("data", account_id, name, version)) if version else None
        chart = _from_json(offered) if offered is not None else compute()
        if chart.account_id != account_id:
            raise ValueError("a chart of another account")
        version = chart.version
        svg = STORE.get(_key("svg", account_id, name, version))
        if svg is None:
            svg = chart.draw()
            STORE.put(_key("svg", account_id, name, version), svg)
    response = svg_response(svg)
    response.set_etag(version)
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS if request.args.get('v') == version else 300}"
    return response.make_conditional(request)
