"""Monthly actual volumes of the contracts' scope lines, from the operations systems:
an uploaded CSV file or Excel workbook (the page ``/volumes/import``, as the background
job ``volume_import``), the same file from the command line (``flask import volumes
FILE``) or ``POST /api/v1/contracts/{id}/volumes``.

One row per scope line and month: the contract's number, the line's number as the
contract's page shows it (its ``No.``; a line a change request added has its own
number, and the numbers of the lines it replaced stay theirs), the month (``YYYY-MM``)
and the actual quantity in the line's unit. All or nothing, as the other imports
(``portal.imports``): every row is checked first, and a problem names its row and column.
Rows upsert by line and month: a volume imported again replaces the earlier one.
``static/samples/volumes.csv`` is a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial

import sqlalchemy as sa
from sqlalchemy.orm import Session

from docgen.i18n import N_
from portal.imports import (
    COMMON_WORDS,
    ImportRefused,
    Problem,
    Progress,
    Words,
    no_progress,
    read_table,
    run_file_import,
    select_in,
    terminal_progress,
    words,
)
from portal.imports import in_words as imports_in_words
from portal.kpis.imports import _actual as _quantity
from portal.kpis.imports import _month
from portal.models import Contract, Job, ScopeLine, ScopeLineVolume, User
from portal.models.base import utcnow
from portal.volumes.service import ScopeHistory, month_end

COLUMNS = ("contract", "line", "month", "quantity")


@dataclass(frozen=True)
class VolumeIn:
    """One row, read: where it came from (a file's line, or the API's ``rows.N.``) and
    what it says."""

    line: int  # the file's line; 0 for the API
    prefix: str  # "" for a file; "rows.3." for the API
    contract: str | None  # a file names the contract; the API's is in its path
    number: int | None  # the line's No. on the contract
    scope_line_id: int | None  # or its id (the API)
    period: date
    quantity: Decimal

    def problem(self, column: str, message: str) -> Problem:
        return Problem(self.line, self.prefix + column, message)


@dataclass
class Incoming:
    volumes: list[VolumeIn] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _volume_month(text: str) -> date:
    """``YYYY-MM``; or the first day of the month, which is what Excel makes of a typed
    ``2026-11`` (a date cell, read as ``2026-11-01``)."""
    return _month(text[:7] if len(text) == 10 and text.endswith("-01") else text)


def _line_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValueError("not a line number of the contract (1, 2, 3...)")
    return int(text)


def _read(cells: dict[str, str], line: int, prefix: str, names: tuple[str, ...], incoming: Incoming,
          contract: str | None = None) -> None:
    """Read one row's cells (texts) into ``incoming``: its volume or its problems."""
    values = {}
    parsers = {"contract": str, "line": _line_number, "scope_line_id": _line_number, "month": _volume_month,
               "quantity": _quantity}
    for name in names:
        text = str(cells.get(name) or "").strip()
        try:
            if not text:
                raise ValueError("required")
            values[name] = parsers[name](text)
        except ValueError as error:
            incoming.problems.append(Problem(line, prefix + name, str(error)))
    if len(values) < len(names):
        return
    incoming.volumes.append(VolumeIn(line, prefix, values.get("contract", contract), values.get("line"),
                                     values.get("scope_line_id"), values["month"], values["quantity"]))


def read_volume_file(content: bytes) -> Incoming:
    """The volumes of a CSV file or an Excel workbook (a header row, one row per line and
    month). A file whose encoding or header is wrong raises ``ImportRefused`` at once."""
    rows, problems = read_table(content, COLUMNS, COLUMNS)
    incoming = Incoming(problems=problems)
    for row in rows:
        _read(row.cells, row.line, "", COLUMNS, incoming)
    return incoming


def read_volume_rows(contract: Contract, rows: list[dict]) -> Incoming:
    """The API's rows for one contract: each names its line by ``line`` (its No.) or by
    ``scope_line_id``, with ``month`` and ``quantity`` (a decimal string or number)."""
    incoming = Incoming()
    for index, row in enumerate(rows):
        prefix = f"rows.{index}."
        if not isinstance(row, dict):
            incoming.problems.append(Problem(0, f"rows.{index}", "an object with line, month and quantity"))
            continue
        by = ("scope_line_id",) if row.get("scope_line_id") is not None and row.get("line") is None else ("line",)
        cells = {name: row.get(name) for name in (*by, "month", "quantity")}
        if isinstance(cells["quantity"], float):  # a JSON number passes through its text, never a float's digits
            cells["quantity"] = repr(cells["quantity"])
        _read(cells, 0, prefix, (*by, "month", "quantity"), incoming, contract=contract.number)
    return incoming


@dataclass(frozen=True)
class VolumeImportSummary:
    new: int
    updated: int

    def counts(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated}

    def describe(self, source: str) -> str:
        total = self.new + self.updated
        return (f"Imported {total} monthly {'volume' if total == 1 else 'volumes'} ({self.new} new, "
                f"{self.updated} updated) from {source}.")


def upsert_volumes(session: Session, incoming: Incoming, progress: Progress = no_progress, *,
                   now: datetime | None = None) -> VolumeImportSummary:
    """Create or replace (by scope line and month) the volumes of one file or API call,
    or refuse all of it with ``ImportRefused``.

    Beyond each row: the contract exists in the caller's scope; it has a line of that
    number (or id); the line was in force in some of the month (a line a change request
    replaced takes the new line's number from the CR's effective date); the same line and
    month comes once. Writes in the caller's transaction; the caller commits."""
    problems = list(incoming.problems)
    numbers = {v.contract for v in incoming.volumes}
    contracts = {c.number: c for c in select_in(session, sa.select(Contract), Contract.number, numbers)}
    history = ScopeHistory.load(session, [c.id for c in contracts.values()])
    by_number = {(line.contract_id, line.number): line for line in history.lines.values()}
    planned: dict[tuple[int, date], tuple[VolumeIn, ScopeLine]] = {}
    with progress(incoming.volumes, "Checking volumes") as volumes:
        for volume in volumes:
            contract = contracts.get(volume.contract)
            if contract is None:
                problems.append(volume.problem("contract", "no such contract"))
                continue
            if volume.number is not None:
                line, column, name = by_number.get((contract.id, volume.number)), "line", volume.number
            else:
                line, column, name = history.lines.get(volume.scope_line_id), "scope_line_id", volume.scope_line_id
                line = line if line is not None and line.contract_id == contract.id else None
            if line is None:
                problems.append(volume.problem(column, f"no line {name} in contract {contract.number}"))
                continue
            if not history.in_force_during(line, volume.period, month_end(volume.period)):
                problems.append(volume.problem("month", f"line {line.number} of contract {contract.number} "
                                                        f"was not in force in {volume.period:%Y-%m}"))
                continue
            first = planned.get((line.id, volume.period))
            if first is not None:
                where = f"line {first[0].line}" if first[0].line else first[0].prefix.rstrip(".")
                problems.append(volume.problem(column, f"line {line.number} of contract {contract.number} for "
                                                       f"{volume.period:%Y-%m} is on {where} too"))
                continue
            planned[line.id, volume.period] = (volume, line)
    if problems:
        raise ImportRefused(problems)
    existing = {(v.scope_line_id, v.period): v for v in select_in(
        session, sa.select(ScopeLineVolume), ScopeLineVolume.scope_line_id, {line_id for line_id, _ in planned})}
    now = now or utcnow()
    new = 0
    try:
        with session.begin_nested():
            for (line_id, period), (volume, line) in planned.items():
                row = existing.get((line_id, period))
                if row is None:
                    new += 1
                    row = ScopeLineVolume(account_id=line.account_id, scope_line_id=line_id, period=period)
                    session.add(row)
                row.quantity, row.imported_at = volume.quantity, now
            session.flush()
    except sa.exc.IntegrityError:
        raise ImportRefused([Problem(0, "month", "a volume of this file was written by another import "
                                                 "at the same time")]) from None
    return VolumeImportSummary(new, len(planned) - new)


def run_volume_import(session: Session, path: str) -> None:
    """``flask import volumes FILE``: import the file and commit, printing the counts; or
    print one line per problem and exit 2 with nothing written."""
    run_file_import(session, path, lambda content: upsert_volumes(session, read_volume_file(content),
                                                                  progress=terminal_progress))


def ask_for_import(session: Session, by: User, filename: str, content: bytes) -> Job:
    """Import an uploaded file's volumes in the background (the job ``volume_import``,
    followed by ``by``), once this unit of work commits."""
    from portal.jobs import attach_file, enqueue

    row = enqueue(session, "volume_import", by=by, filename=filename)
    attach_file(session, row, filename, content)
    return row


# What this import says, beyond what every import says, in the upload page reader's words.
_WORDS: Words = COMMON_WORDS + words(
    (r"not a valid month \(YYYY-MM\)", N_("not a valid month (YYYY-MM)")),
    (r"must not be negative", N_("must not be negative")),
    (r"too large", N_("too large")),
    (r"not a line number of the contract \(1, 2, 3\.\.\.\)", N_("not a line number of the contract (1, 2, 3...)")),
    (r"no such contract", N_("no such contract")),
    (r"no line (?P<line>\d+) in contract (?P<contract>.+)", N_("no line %(line)s in contract %(contract)s")),
    (r"line (?P<line>\d+) of contract (?P<contract>.+) was not in force in (?P<month>[\d-]+)",
     N_("line %(line)s of contract %(contract)s was not in force in %(month)s")),
    (r"line (?P<line>\d+) of contract (?P<contract>.+) for (?P<month>[\d-]+) is on line (?P<first>\d+) too",
     N_("line %(line)s of contract %(contract)s for %(month)s is on line %(first)s too")),
)

# A problem's message in the language of the page being written.
in_words = partial(imports_in_words, known=_WORDS)
