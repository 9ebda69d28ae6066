"""A contract's scope through time, and its lines' volumes against it.

**The contracted quantity is per year.** A scope line's ``quantity`` is what the
contract buys in a year (the ACV is the sum of quantity × unit price; a flat monthly fee
is 12 a year), so a month's contracted volume is ``quantity / 12``. A month's actual
volume more than ``VOLUME_TOLERANCE`` (10 %) above it is *over*, more than 10 % below
it *under*; exactly at the boundary is still *within*.

**Prices through time.** Lines are never deleted: a change request that modifies a line
closes it (``removed_by_change_request_id``) and adds its successor
(``added_by_change_request_id``), effective from the CR's effective date. ``ScopeHistory``
follows that chain, so an invoice line that names a line a CR replaced is priced at the
successor's price from the CR's effective date (and a line named before a CR took effect
at its predecessor's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.billing.service import months_back
from portal.models import ChangeRequest, Contract, CRStatus, LineChange, ScopeLine, ScopeLineVolume

VOLUME_TOLERANCE = Decimal("0.10")  # ±10 % of the month's contracted volume
MONTHS_PER_YEAR = 12
TREND_MONTHS = 12
RATIO_QUANTUM = Decimal("0.0001")


# --- the scope through time ---------------------------------------------------------------


@dataclass
class ScopeHistory:
    """Every scope line of some contracts (removed ones too), the effective date of each
    implemented change request that added or removed one, and which line replaced which."""

    lines: dict[int, ScopeLine] = field(default_factory=dict)
    effective: dict[int, date] = field(default_factory=dict)  # change request id -> effective date
    successor: dict[int, int] = field(default_factory=dict)  # line id -> the line a CR put in its place
    predecessor: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, contract_ids: Iterable[int]) -> ScopeHistory:
        """The history of these contracts, in two queries (three with change requests)."""
        history = cls()
        ids = sorted(set(contract_ids))
        if not ids:
            return history
        lines = session.scalars(sa.select(ScopeLine).where(ScopeLine.contract_id.in_(ids))
                                .order_by(ScopeLine.contract_id, ScopeLine.position, ScopeLine.id)).all()
        history.lines = {line.id: line for line in lines}
        cr_ids = {i for line in lines for i in (line.added_by_change_request_id, line.removed_by_change_request_id) if i}
        if not cr_ids:
            return history
        crs = session.scalars(sa.select(ChangeRequest).where(ChangeRequest.id.in_(sorted(cr_ids)),
                                                             ChangeRequest.status == CRStatus.IMPLEMENTED)
                              .options(sa.orm.selectinload(ChangeRequest.lines))).all()
        added: dict[int, list[ScopeLine]] = defaultdict(list)
        for line in lines:
            if line.added_by_change_request_id:
                added[line.added_by_change_request_id].append(line)
        for cr in crs:
            history.effective[cr.id] = cr.effective_date
            # ``change_requests.service.implement`` adds one line per add or modify, in
            # the CR's order, at increasing positions: the n-th new line is the n-th of them.
            changes = [change for change in cr.lines if change.change in (LineChange.ADD, LineChange.MODIFY)]
            for change, new in zip(changes, sorted(added[cr.id], key=lambda line: (line.position, line.id))):
                if change.change is LineChange.MODIFY and change.scope_line_id in history.lines:
                    history.successor[change.scope_line_id] = new.id
                    history.predecessor[new.id] = change.scope_line_id
        return history

    def starts(self, line: ScopeLine) -> date | None:
        """The day a line took effect (None: with its contract)."""
        return self.effective.get(line.added_by_change_request_id) if line.added_by_change_request_id else None

    def ends(self, line: ScopeLine) -> date | None:
        """The day a change request closed the line from (None: still in force)."""
        if line.removed_by_change_request_id is None:
            return None
        return self.effective.get(line.removed_by_change_request_id, date.min)

    def line_on(self, line_id: int, day: date) -> ScopeLine | None:
        """The line in force on ``day`` in the place of ``line_id``: the line itself, its
        successor once a change request replaced it, its predecessor before the CR that
        added it took effect; None when no line of that chain is in force (removed
        without successor, or added after ``day``)."""
        line = self.lines.get(line_id)
        while line is not None:
            start, end = self.starts(line), self.ends(line)
            if start is not None and day < start:
                back = self.predecessor.get(line.id)
                line = self.lines[back] if back is not None else None
            elif end is not None and day >= end:
                ahead = self.successor.get(line.id)
                line = self.lines[ahead] if ahead is not None else None
            else:
                return line
        return None

    def in_force_during(self, line: ScopeLine, first: date, last: date) -> bool:
        """Whether the line was in force on any day from ``first`` to ``last``."""
        start, end = self.starts(line), self.ends(line)
        return (start is None or start <= last) and (end is None or end > first)


def month_end(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def unit_price_on(history: ScopeHistory, line_id: int, day: date) -> Decimal | None:
    """The contract's unit price for the line on ``day`` (None: no line in force)."""
    line = history.line_on(line_id, day)
    return None if line is None else line.unit_price


# --- volumes against the contract -----------------------------------------------------------


def contracted_per_month(line: ScopeLine) -> Decimal:
    """The month's contracted volume: the line's yearly quantity over twelve."""
    return line.quantity / MONTHS_PER_YEAR


def flag(actual: Decimal, contracted: Decimal, tolerance: Decimal = VOLUME_TOLERANCE) -> str:
    """``over``, ``under`` or ``within``: beyond ``tolerance`` of the contracted volume
    (exactly at the boundary is within)."""
    if actual > contracted * (1 + tolerance):
        return "over"
    if actual < contracted * (1 - tolerance):
        return "under"
    return "within"


@dataclass(frozen=True)
class Cell:
    """One line's month: the actual volume, its share of the contracted one, its flag."""

    actual: Decimal
    contracted: Decimal
    flag: str

    @property
    def variance(self) -> Decimal | None:
        """Actual against contracted, as a share (0.12 = 12 % over)."""
        return (self.actual / self.contracted - 1) if self.contracted else None


@dataclass
class VolumeRow:
    line: ScopeLine
    contracted: Decimal  # per month
    cells: list[Cell | None]  # per month of the table, oldest first

    @property
    def latest(self) -> Cell | None:
        return next((cell for cell in reversed(self.cells) if cell is not None), None)


@dataclass
class VolumeTable:
    contract: Contract
    months: list[date]
    rows: list[VolumeRow]

    @property
    def flagged(self) -> int:
        """How many line-months are over or under."""
        return sum(1 for row in self.rows for cell in row.cells if cell is not None and cell.flag != "within")


def volume_table(session: Session, contract: Contract, until: date, months: int = TREND_MONTHS) -> VolumeTable:
    """The contract's lines in force in any of the ``months`` up to ``until`` (a first of
    the month), each with its actual volume, share and flag per month."""
    periods = months_back(until, months)
    history = ScopeHistory.load(session, [contract.id])
    last_day = month_end(until)
    lines = [line for line in history.lines.values() if history.in_force_during(line, periods[0], last_day)]
    volumes = {(v.scope_line_id, v.period): v.quantity for v in session.scalars(
        sa.select(ScopeLineVolume).where(ScopeLineVolume.scope_line_id.in_([line.id for line in lines]),
                                         ScopeLineVolume.period >= periods[0], ScopeLineVolume.period <= until))}
    rows = []
    for line in lines:
        contracted = contracted_per_month(line)
        cells = [None if (line.id, period) not in volumes else
                 Cell(volumes[line.id, period], contracted, flag(volumes[line.id, period], contracted))
                 for period in periods]
        rows.append(VolumeRow(line, contracted, cells))
    return VolumeTable(contract, periods, rows)
