"""KPI actuals from the measurement sources: ``flask import kpis FILE.csv``.

One row per KPI and month: the account (by name), the KPI's code in the account's
contract in force that month, the month (``YYYY-MM``), the actual and an optional
comment. Like the invoice import (``portal.billing.imports``; the parts they share are
in ``portal.imports``) a file is all or nothing: every row is checked first, against
the rest of the file and the database, and only a clean file is written, in one
transaction that the caller commits. A problem names its line and column
(``line 7: month: not a valid month (YYYY-MM)``).

Rows upsert by KPI and month: an actual that exists already gets the file's actual,
comment and import time. The format is in the README, with ``samples/kpis.csv``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.imports import (
    ImportRefused,
    Problem,
    Progress,
    Row,
    batches,
    nfc,
    no_progress,
    read_csv,
    run_file_import,
    select_in,
    terminal_progress,
)
from portal.kpis.service import parse_period
from portal.accounts import current_contract
from portal.models import Account, Contract, Kpi, KpiMeasurement
from portal.models.base import utcnow

COLUMNS = ("account", "kpi", "month", "actual", "comment")
REQUIRED_COLUMNS = ("account", "kpi", "month", "actual")
MONTH = re.compile(r"^\d{4}-\d{2}$", re.ASCII)
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$", re.ASCII)  # no exponent, sign or thousands separator
QUANTUM = Decimal("0.0001")  # KpiMeasurement.actual keeps 4 decimals
# The largest actual stored: ExactDecimal keeps 10^-4 units in a BIGINT on SQLite.
MAX_ACTUAL = Decimal(10) ** 14
WRITE_BATCH = 1000  # actuals per flush


# --- reading a file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Actual:
    """One row of the file, read."""

    line: int
    account: str  # the name, NFC
    code: str
    period: date  # the first day of the month
    actual: Decimal
    comment: str


@dataclass
class Incoming:
    """The rows that read well, and the problems of the others."""

    actuals: list[Actual]
    problems: list[Problem] = field(default_factory=list)


def read_kpi_csv(content: bytes) -> Incoming:
    """The actuals of a CSV file (UTF-8, BOM allowed, a header row, one row per KPI and
    month). The same account, KPI and month twice is a problem of the later line. A
    file whose encoding or header is wrong raises ``ImportRefused`` at once."""
    rows, problems = read_csv(content, COLUMNS, REQUIRED_COLUMNS)
    incoming = Incoming([], problems)
    first_line: dict[tuple[str, str, date], int] = {}
    for row in rows:
        actual = _read_row(row, incoming.problems)
        if actual is None:
            continue
        key = (actual.account, actual.code, actual.period)
        if key in first_line:
            why = f"{actual.code} of {actual.account} for {actual.period:%Y-%m} is on line {first_line[key]} too"
            incoming.problems.append(Problem(actual.line, "kpi", why))
            continue
        first_line[key] = actual.line
        incoming.actuals.append(actual)
    return incoming


def _read_row(row: Row, problems: list[Problem]) -> Actual | None:
    values = {}
    for name, parse in (("account", nfc), ("kpi", str), ("month", _month), ("actual", _actual)):
        text = row.cells.get(name, "")
        try:
            if not text:
                raise ValueError("required")
            values[name] = parse(text)
        except ValueError as error:
            problems.append(Problem(row.line, name, str(error)))
    if len(values) < 4:
        return None
    return Actual(row.line, values["account"], values["kpi"], values["month"], values["actual"],
                  row.cells.get("comment", ""))


def _month(text: str) -> date:
    period = parse_period(text) if MONTH.match(text) else None
    if period is None:
        raise ValueError("not a valid month (YYYY-MM)")
    return period


def _actual(text: str) -> Decimal:
    if not NUMBER.match(text):
        raise ValueError("not a number")
    value = Decimal(text)
    if value < 0:
        raise ValueError("must not be negative")
    if value != value.quantize(QUANTUM):
        raise ValueError("at most 4 decimal places")
    if value >= MAX_ACTUAL:
        raise ValueError("too large")
    return value


# --- checking against the database and writing -----------------------------------------


@dataclass(frozen=True)
class KpiImportSummary:
    new: int
    updated: int

    def describe(self, source: str) -> str:
        total = self.new + self.updated
        return (f"Imported {total} KPI {'actual' if total == 1 else 'actuals'} ({self.new} new, "
                f"{self.updated} updated) from {source}.")


def upsert_kpi_actuals(session: Session, incoming: Incoming, progress: Progress = no_progress, *,
                       now: datetime | None = None) -> KpiImportSummary:
    """Create or update (by KPI and month) the actuals of one file, or refuse all of it
    with ``ImportRefused``.

    Beyond the file: the account exists (in the caller's scope); its contract in force
    that month (``accounts.current_contract``, as the scorecard shows it) covers the month; and that
    contract has a KPI of the code. Writes in the caller's transaction; the caller
    commits. ``now`` (default: the present) is the import time the actuals keep, for a
    file imported in the past (the demo data)."""
    batch = _Batch(session, incoming)
    batch.check(progress)
    if batch.problems:
        raise ImportRefused(batch.problems)
    try:
        with session.begin_nested():
            return batch.write(progress, now or utcnow())
    except sa.exc.IntegrityError:
        # Only an actual written by a concurrent import since the checks gets here.
        raise ImportRefused([Problem(0, "kpi", "an actual of this file was written by another import "
                                               "at the same time")]) from None


def _month_end(period: date) -> date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


class _Batch:
    def __init__(self, session: Session, incoming: Incoming):
        self.session = session
        self.actuals = incoming.actuals
        self.problems: list[Problem] = list(incoming.problems)
        self.accounts = {a.name: a for a in select_in(session, sa.select(Account), Account.name,
                                                      {a.account for a in self.actuals})}
        self.contracts: dict[tuple[int, date], Contract | None] = {}
        self.planned: list[tuple[Actual, Kpi]] = []

    def _contract(self, account: Account, period: date) -> Contract | None:
        """The account's contract the scorecard shows for the month, if its term covers
        any of the month."""
        key = (account.id, period)
        if key not in self.contracts:
            contract = current_contract(self.session, account, period)
            in_force = (contract is not None and contract.start_date <= _month_end(period)
                        and contract.end_date >= period)
            self.contracts[key] = contract if in_force else None
        return self.contracts[key]

    def check(self, progress: Progress) -> None:
        with progress(self.actuals, "Checking KPI actuals") as actuals:
            for actual in actuals:
                self._check(actual)

    def _check(self, actual: Actual) -> None:
        def refuse(name: str, message: str) -> None:
            self.problems.append(Problem(actual.line, name, message))

        account = self.accounts.get(actual.account)
        if account is None:
            return refuse("account", "no such account")
        contract = self._contract(account, actual.period)
        if contract is None:
            return refuse("month", f"no contract of {account.name} is in force in {actual.period:%Y-%m}")
        kpi = next((k for k in contract.kpis if k.code == actual.code), None)
        if kpi is None:
            return refuse("kpi", f"no KPI {actual.code} in contract {contract.number} (in force in "
                                 f"{actual.period:%Y-%m})")
        self.planned.append((actual, kpi))

    def write(self, progress: Progress, now: datetime) -> KpiImportSummary:
        periods = {actual.period for actual, _ in self.planned}
        existing = {(m.kpi_id, m.period): m for m in select_in(
            self.session, sa.select(KpiMeasurement).where(KpiMeasurement.period.in_(periods)),
            KpiMeasurement.kpi_id, {kpi.id for _, kpi in self.planned})}
        new = 0
        with progress(batches(self.planned, WRITE_BATCH), "Writing KPI actuals") as planned_batches:
            for batch in planned_batches:
                for actual, kpi in batch:
                    measurement = existing.get((kpi.id, actual.period))
                    if measurement is None:
                        new += 1
                        measurement = KpiMeasurement(account_id=kpi.account_id, kpi_id=kpi.id, period=actual.period)
                        self.session.add(measurement)
                    measurement.actual, measurement.comment = actual.actual, actual.comment
                    measurement.imported_at = now
                self.session.flush()
        return KpiImportSummary(new, len(self.planned) - new)


# --- the command ---------------------------------------------------------------------------


def run_kpi_import(session: Session, path: str) -> None:
    """``flask import kpis FILE``: import the file and commit, printing the counts; or
    print one line per problem and exit 2 with nothing written."""
    run_file_import(session, path, lambda content: upsert_kpi_actuals(session, read_kpi_csv(content),
                                                                      progress=terminal_progress))
