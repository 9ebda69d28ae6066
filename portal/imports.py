"""What the file imports (``flask import invoices``, ``flask import kpis``, ``flask import
accounts``) share: reading a CSV file or an Excel workbook, the problems that refuse a
batch (``line 7: due_date: not a valid date``) and their words for an upload page's
reader, the progress bar on a terminal or of a background job, and the command's end
(commit and print the counts, or print every problem and exit 2 with nothing written)."""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import signal
import sys
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.i18n import N_
from portal.domain import DomainError
from portal.text import visible

# --- problems --------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """One reason a batch is refused: a line of the file (when it came from one) and a
    column, or a field path of the API's body."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.message}"


class ImportRefused(DomainError):
    """The batch was refused; nothing of it was written. ``problems`` are every reason,
    in the file's order; ``fields`` the API's (the first problem per field)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        fields: dict[str, str] = {}
        for problem in self.problems:
            fields.setdefault(problem.field, problem.message)
        super().__init__(_l("Some fields are not valid."), fields=fields)

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


# --- a problem in the reader's words ------------------------------------------------------

# An import's problems are written in English for the command and the API; an upload
# page shows each in its reader's words when its message is one the import may give
# (a pattern, matched whole, and the words with the pattern's named groups).
Words = list[tuple[re.Pattern[str], str]]


def words(*pairs: tuple[str, str]) -> Words:
    return [(re.compile(pattern), message) for pattern, message in pairs]


# What reading a file says, and the checks every import makes of a cell.
COMMON_WORDS = words(
    (r"required", N_("required")),
    (r"not a number", N_("not a number")),
    (r"not a valid date \(YYYY-MM-DD\)", N_("not a valid date (YYYY-MM-DD)")),
    (r"at most (?P<limit>\d+) characters", N_("at most %(limit)s characters")),
    (r"at most (?P<places>\d+) decimal places", N_("at most %(places)s decimal places")),
    (r"not UTF-8 text", N_("not UTF-8 text")),
    (r"not an Excel workbook \(\.xlsx\) that can be read", N_("not an Excel workbook (.xlsx) that can be read")),
    (r"no header row", N_("no header row")),
    (r"unknown column", N_("unknown column")),
    (r"missing column", N_("missing column")),
    (r"appears twice in the header", N_("appears twice in the header")),
    (r"(?P<cells>\d+) cells, but the header has (?P<columns>\d+) columns",
     N_("%(cells)s cells, but the header has %(columns)s columns")),
    (r"a value in column (?P<column>[A-Z]+), which has no header",
     N_("a value in column %(column)s, which has no header")),
)


def in_words(message: str, known: Words) -> str:
    """A problem's message in the language of the page being written, when ``known``
    has its words; else as it is."""
    for pattern, translatable in known:
        match = pattern.fullmatch(message)
        if match:
            return gettext(translatable, **match.groupdict())
    return message


# --- reading a file ----------------------------------------------------------------------


@dataclass
class Row:
    line: int
    cells: dict[str, str]


def read_csv(content: bytes, columns: Collection[str], required: Iterable[str]) -> tuple[list[Row], list[Problem]]:
    """The non-blank rows of a CSV file (UTF-8, BOM allowed, a header row naming
    ``columns`` in any order, ``required`` among them), each with the line it starts
    on, and the problems of rows that could not be read. A file whose encoding or
    header is wrong raises ``ImportRefused`` at once."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise ImportRefused([Problem(line, "file", "not UTF-8 text")]) from None
    problems: list[Problem] = []
    header, rows = _rows(text, problems, columns, tuple(required))
    if header is None:
        raise ImportRefused(problems or [Problem(1, "file", "no header row")])
    return rows, problems


def _rows(text: str, problems: list[Problem], columns: Collection[str],
          required: tuple[str, ...]) -> tuple[list[str] | None, list[Row]]:
    """The header (lower-cased column names) and the non-blank rows, with the line each
    starts on (a quoted cell may span lines). A wrong header raises at once."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    last_line = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            cells = [cell_text(cell) for cell in cells]
            if not any(cells):
                continue
            if header is None:
                header = [cell.lower() for cell in cells]
                wrong = list(_header_problems(header, line, columns, required))
                if wrong:  # every row would say the same again
                    raise ImportRefused(wrong)
                continue
            if len(cells) != len(header):
                problems.append(Problem(line, "row", f"{len(cells)} cells, but the header has {len(header)} columns"))
                continue
            rows.append(Row(line, dict(zip(header, cells))))
    except csv.Error as error:
        problems.append(Problem(reader.line_num, "file", f"not valid CSV ({error})"))
    return header, rows


XLSX_SIGNATURE = b"PK\x03\x04"  # a workbook is a ZIP package; a CSV file never starts so


def read_table(content: bytes, columns: Collection[str], required: Iterable[str]) -> tuple[list[Row], list[Problem]]:
    """The rows of a CSV file or of an Excel workbook, told apart by their content, as
    ``read_csv`` and ``read_xlsx`` read them."""
    if content.startswith(XLSX_SIGNATURE):
        return read_xlsx(content, columns, required)
    return read_csv(content, columns, required)


def read_xlsx(content: bytes, columns: Collection[str], required: Iterable[str]) -> tuple[list[Row], list[Problem]]:
    """The non-blank rows of an Excel workbook's first sheet (.xlsx; a header row naming
    ``columns`` in any order, ``required`` among them), each with its row number as its
    line, its cells as the text a person sees in them (``xlsx_text``), and the problems
    of rows that could not be read. A workbook that cannot be read, or whose header is
    wrong, raises ``ImportRefused`` at once.

    Read-only: the sheet is streamed, never loaded whole; formulas give the values Excel
    saved with them."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    problems: list[Problem] = []
    header: list[str] | None = None
    rows: list[Row] = []
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # a damaged package fails in many ways (zipfile, XML, openpyxl's own)
        raise ImportRefused([Problem(0, "file", "not an Excel workbook (.xlsx) that can be read")]) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the size a workbook declares may be less than it holds
        for cells in sheet.iter_rows():
            texts = [cell_text(xlsx_text(cell.value)) for cell in cells]
            if not any(texts):
                continue
            line = next(cell.row for cell in cells if getattr(cell, "row", None))
            if header is None:
                while texts and not texts[-1]:
                    texts.pop()
                header = [text.lower() for text in texts]
                wrong = list(_header_problems(header, line, columns, tuple(required)))
                if wrong:
                    raise ImportRefused(wrong)
                continue
            beyond = next((i for i in range(len(header), len(texts)) if texts[i]), None)
            if beyond is not None:
                problems.append(Problem(line, "row", f"a value in column {get_column_letter(beyond + 1)}, "
                                                     f"which has no header"))
                continue
            texts += [""] * (len(header) - len(texts))
            rows.append(Row(line, dict(zip(header, texts))))
    except ImportRefused:
        raise
    except Exception:
        raise ImportRefused([Problem(0, "file", "not an Excel workbook (.xlsx) that can be read")]) from None
    finally:
        workbook.close()
    if header is None:
        raise ImportRefused([Problem(1, "file", "no header row")])
    return rows, problems


def cell_text(text: str) -> str:
    """A cell's text as a person sees it: without the spaces around it nor invisible
    format characters (``portal.text.visible``)."""
    return visible(text).strip()


def xlsx_text(value: Any) -> str:
    """A cell's value as the text a person sees in Excel: a number as Excel keeps it, to
    15 significant digits (``0.1 + 0.2`` is ``0.3``, ``35000.0`` is ``35000``, never
    ``1e+16``), a date as ``YYYY-MM-DD`` (with its time when it has one), text as it
    is. A number Excel stored as text stays that text, never passing through a float."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and math.isfinite(value):
        return format(Decimal(f"{value:.15g}"), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _header_problems(header: list[str], line: int, columns: Collection[str],
                     required: tuple[str, ...]) -> Iterator[Problem]:
    seen: set[str] = set()
    for name in header:
        if name not in columns:
            yield Problem(line, name or "(empty)", "unknown column")
        elif name in seen:
            yield Problem(line, name, "appears twice in the header")
        seen.add(name)
    for name in required:
        if name not in seen:
            yield Problem(line, name, "missing column")


def nfc(name: str) -> str:
    """Vietnamese names arrive composed or decomposed, depending on the exporting tool."""
    return unicodedata.normalize("NFC", name)


def batches(rows: list, size: int) -> list[list]:
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def select_in(session: Session, query: sa.Select, column, values: Iterable, chunk: int = 1000) -> list:
    """The rows of ``query`` whose ``column`` is one of ``values``, ``chunk`` values per
    IN (...): well below SQLite's and PostgreSQL's parameter limits."""
    values = sorted(values)
    rows = []
    for start in range(0, len(values), chunk):
        rows.extend(session.scalars(query.where(column.in_(values[start:start + chunk]))))
    return rows


# --- progress and the command ----------------------------------------------------------

Progress = Callable[[list, str], Any]  # (items, label) -> a context manager giving an iterable of the items


def no_progress(items: list, label: str):
    return nullcontext(items)


def terminal_progress(items: list, label: str):
    """A progress bar when a person watches (stdout is a terminal), else nothing."""
    if items and sys.stdout.isatty():
        return click.progressbar(items, label=label, file=sys.stdout)
    return nullcontext(items)


def job_progress(report: Callable[[float, str], Any], phases: dict[str, tuple[float, float, str]],
                 reports: int = 20) -> Progress:
    """The progress of an import run as a background job: each phase the import names
    (``label``) moves the bar from ``start`` to ``end`` as its items (rows, or batches of
    rows) go by, reported about ``reports`` times (``report`` is the job's
    ``ctx.progress``) with ``message``. A phase not named is not reported."""

    def progress(items: list, label: str):
        if label not in phases or not items:
            return nullcontext(items)
        start, end, message = phases[label]
        return nullcontext(_reported(items, report, start, end, message, max(1, len(items) // reports)))

    return progress


def _reported(items: list, report: Callable[[float, str], Any], start: float, end: float, message: str,
              step: int) -> Iterator:
    for index, item in enumerate(items):
        if index % step == 0:
            report(start + (end - start) * index / len(items), message)
        yield item


def run_file_import(session: Session, path: str, load: Callable[[bytes], Any]) -> None:
    """``flask import ... FILE``: ``load`` checks the file's bytes and writes them in the
    session's transaction, returning a summary that can ``describe(path)``; commit and
    print it. Or print one line per problem and exit 2 with nothing written."""
    try:
        with _ctrl_c_aftermath_unlogged():
            summary = load(Path(path).read_bytes())
    except ImportRefused as error:
        session.rollback()  # the command is the unit of work: nothing of the file is kept
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(2) from None
    except OSError as error:
        click.echo(f"{path}: {error.strerror or error}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # Ctrl-C: nothing was committed, so nothing is kept
        _interrupted(session, path)
    except Exception as error:
        if not _cut_short_by_ctrl_c(error):
            raise
        _interrupted(session, path)
    with _ctrl_c_ignored():  # once the commit is under way, stopping it would leave nobody sure what was kept
        session.commit()
    click.echo(summary.describe(path))


def _interrupted(session: Session, path: str) -> NoReturn:
    _abandon(session)
    click.echo(f"Interrupted: nothing of {path} was kept.", err=True)
    raise SystemExit(130) from None  # 128 + SIGINT, as a shell reports it


def _cut_short_by_ctrl_c(error: BaseException) -> bool:
    """Whether ``error`` was raised while a Ctrl-C unwound the import: a savepoint's
    rollback on the way out can fail on the connection the interrupt cut short (psycopg
    left in pipeline mode), and its error then hides the interrupt."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__context__
    return False


class _CtrlCAftermath(logging.Filter):
    """Drops SQLAlchemy's reports of what failed because a Ctrl-C cut a statement short
    ("Error closing cursor" on the connection it invalidated, with a traceback): the
    command says in one line what became of the file instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (error is not None and record.name.startswith("sqlalchemy") and _cut_short_by_ctrl_c(error))


@contextmanager
def _ctrl_c_aftermath_unlogged() -> Iterator[None]:
    handlers = logging.getLogger().handlers
    quiet = _CtrlCAftermath()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def _abandon(session: Session) -> None:
    """Roll back after an interrupt, which may have cut a statement short and left the
    connection unusable: then it is closed, and its transaction ends with it."""
    try:
        session.rollback()
    except Exception:
        session.close()


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
