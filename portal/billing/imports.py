"""Invoices and credit notes from the billing system: files (``flask import invoices
FILE``, or finance's upload page, ``portal.billing.upload``, whose import runs as the job
``invoice_import``) and API calls (``POST /api/v1/invoices``).

Both validate with ``schema.InvoiceIn`` and write with ``upsert_invoices``: all or
nothing. Everything is checked first (the model, then the accounts, contracts,
currencies and credit notes against the database and the rest of the file); only a
clean batch is written, in one transaction that the caller commits. Problems name
where they are: a field path for the API (``lines.2.quantity``), a line and a column
for a file (``line 7: due_date: not a valid date (YYYY-MM-DD)``).

A file (CSV, or an Excel workbook's first sheet) has one row per invoice line; rows of
one number are one invoice (the format is in the README, with
``portal/static/samples/invoices.csv``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from docgen.formatting import quantize_money
from docgen.i18n import N_
from portal.billing.schema import InvoiceIn, InvoiceLineIn
from portal.imports import COMMON_WORDS, Problem, Progress, Words, no_progress, read_table, run_file_import, select_in
from portal.imports import ImportRefused as InvoiceImportError
from portal.imports import in_words as imports_in_words
from portal.imports import terminal_progress, words
from portal.imports import Row as _Row
from portal.imports import batches as _batches
from portal.imports import nfc as _nfc
from portal.models import Account, Contract, CreditNote, Invoice, InvoiceLine, InvoiceStatus, Job, ScopeLine, User
from portal.models.base import utcnow
from portal.volumes.service import ScopeHistory, unit_price_on

LINE_COLUMNS = {"line_description": "description", "line_quantity": "quantity", "line_unit_price": "unit_price",
                "line_scope_line_id": "scope_line_id"}
HEADER_COLUMNS = (
    "kind", "number", "account", "contract", "service_location", "period_start", "period_end", "issue_date",
    "due_date", "currency", "tax", "po_number", "status", "paid_on", "credits", "amount", "reason",
)
COLUMNS = frozenset(HEADER_COLUMNS) | frozenset(LINE_COLUMNS)
REQUIRED_COLUMNS = ("number", "account", "issue_date", "currency")
DATE_COLUMNS = frozenset({"period_start", "period_end", "issue_date", "due_date", "paid_on"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
NOT_A_DATE = "not a valid date (YYYY-MM-DD)"

# The largest amount stored: Money keeps 10^-4 units in a BIGINT on SQLite (at most about 9.2 * 10^14).
MAX_AMOUNT = Decimal(10) ** 14
IN_CHUNK = 1000  # ids or numbers per IN (...), well below SQLite's and PostgreSQL's parameter limits
LINE_BATCH = 5000  # lines per executemany


# --- problems --------------------------------------------------------------------------


@dataclass
class Submitted:
    """One invoice or credit note to import, and where it came from: for a file, the
    line of its first row and the line of each of its invoice lines."""

    data: InvoiceIn
    first_line: int = 0
    line_rows: list[int] = field(default_factory=list)

    def problem(self, path: str, message: str) -> Problem:
        return locate(path, message, self.first_line, self.line_rows)


def locate(path: str, message: str, first_line: int, line_rows: list[int]) -> Problem:
    """A problem at a model path, placed in the file when there is one: ``lines.2.x``
    is the third line's row and column ``line_x``, any other field its first row."""
    if not first_line:
        return Problem(0, path, message)
    parts = path.split(".")
    if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(line_rows):
        return Problem(line_rows[int(parts[1])], f"line_{parts[2]}", message)
    return Problem(first_line, path, message)


# --- the model's verdict, in words -------------------------------------------------------

_FIXED_MESSAGES = {
    "missing": "required",
    "string_too_short": "required",
    "date_type": NOT_A_DATE,
    "date_parsing": NOT_A_DATE,
    "date_from_datetime_parsing": NOT_A_DATE,
    "date_from_datetime_inexact": NOT_A_DATE,
    "decimal_type": "not a number",
    "decimal_parsing": "not a number",
    "finite_number": "not a number",
    "greater_than_equal": "must not be negative",
    "decimal_max_digits": "too many digits (at most 16)",
    "decimal_whole_digits": "too many digits before the decimal point",
}
_PATTERN_MESSAGES = {"currency": "a three-letter currency code such as USD",
                     "service_location": "a two-letter country code such as GB"}


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """(field path, message) of one pydantic error, in the words of the README."""
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    if kind == "value_error" and not loc:
        # The model's own cross-field rules say "field: why"; name that field.
        path, _, message = str(ctx.get("error", error["msg"])).partition(": ")
        return (path, message) if message else ("body", path)
    path = ".".join(str(part) for part in loc) or "body"
    name = str(loc[-1]) if loc else ""
    if kind in _FIXED_MESSAGES:
        return path, _FIXED_MESSAGES[kind]
    if kind == "decimal_max_places":
        return path, f"at most {ctx['decimal_places']} decimal places"
    if kind == "string_too_long":
        return path, f"at most {ctx['max_length']} characters"
    if kind == "too_long":
        return path, f"at most {ctx['max_length']} lines"
    if kind == "literal_error":
        return path, f"one of {ctx['expected']}"
    if kind == "string_pattern_mismatch" and name in _PATTERN_MESSAGES:
        return path, _PATTERN_MESSAGES[name]
    return path, error["msg"]


def validate_invoice(data: Any, first_line: int = 0, line_rows: list[int] | None = None) -> Submitted:
    """``data`` (a JSON body, or a file's rows of one number) as an ``InvoiceIn``;
    raises ``InvoiceImportError`` naming every bad field."""
    line_rows = line_rows or []
    try:
        model = InvoiceIn.model_validate(data)
    except ValidationError as error:
        raise InvoiceImportError(locate(*_describe(e), first_line, line_rows) for e in error.errors()) from None
    return Submitted(model, first_line, line_rows)


# --- reading a file ----------------------------------------------------------------------


@dataclass
class Incoming:
    """A batch to import: what the model accepted, what it refused (the problems), and
    the numbers of the invoices it refused, which credit notes of the batch may name."""

    items: list[Submitted]
    problems: list[Problem] = field(default_factory=list)
    refused_invoices: set[str] = field(default_factory=set)


def read_invoice_file(content: bytes) -> Incoming:
    """The invoices and credit notes of a CSV file (UTF-8, BOM allowed) or an Excel
    workbook (its first sheet), with a header row and one row per invoice line, each
    validated by the model. A file whose encoding or header is wrong, or a workbook
    that cannot be read, raises ``InvoiceImportError`` at once."""
    rows, problems = read_table(content, COLUMNS, REQUIRED_COLUMNS)
    groups: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.cells.get("number"):
            groups[row.cells["number"]].append(row)
        else:
            problems.append(Problem(row.line, "number", "required"))
    incoming = Incoming([], problems)
    for number, group in groups.items():
        refused = _disagreements(group) + [
            Problem(row.line, name, NOT_A_DATE) for row in group for name in DATE_COLUMNS
            if row.cells.get(name) and not ISO_DATE.match(row.cells[name])
        ]
        if not refused:
            try:
                incoming.items.append(_submitted(group))
            except InvoiceImportError as error:
                refused = error.problems
        if refused:
            problems.extend(refused)
            if group[0].cells.get("kind", "invoice") in ("", "invoice"):
                incoming.refused_invoices.add(number)
    return incoming


def _disagreements(group: list[_Row]) -> list[Problem]:
    """Rows of one number must agree on every column but the line's."""
    first = group[0]
    return [
        Problem(row.line, name, f"{row.cells.get(name, '')!r} differs from line {first.line} "
                                f"({first.cells.get(name, '')!r}) for the same number")
        for row in group[1:]
        for name in HEADER_COLUMNS
        if row.cells.get(name, "") != first.cells.get(name, "")
    ]


def _submitted(group: list[_Row]) -> Submitted:
    """One number's rows as the model's input: blank cells are left out (so the
    model's defaults apply, and a required field says "required")."""
    data: dict[str, Any] = {name: value for name, value in group[0].cells.items()
                            if name in HEADER_COLUMNS and value}
    lines, line_rows = [], []
    for row in group:
        line = {field_name: row.cells[column] for column, field_name in LINE_COLUMNS.items() if row.cells.get(column)}
        if line:
            lines.append(line)
            line_rows.append(row.line)
    data["lines"] = lines
    return validate_invoice(data, group[0].line, line_rows)


# --- checking against the database and writing -----------------------------------------


@dataclass(eq=False)
class _PlannedInvoice:
    """An invoice of the batch, checked; it reads like the ``Invoice`` it will be
    (``number``, ``account_id``, ``currency``, ``total``)."""

    item: Submitted
    account: Account
    contract: Contract
    existing: Invoice | None
    lines: list[dict[str, Any]]  # InvoiceLine columns but the invoice's id
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    held: bool = False  # a line's unit price is not the contract's: held for finance's review
    invoice_id: int | None = None  # once written

    @property
    def number(self) -> str:
        return self.item.data.number

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def currency(self) -> str:
        return self.item.data.currency

    @property
    def id(self) -> int | None:
        return self.existing.id if self.existing is not None else None


@dataclass(eq=False)
class _PlannedNote:
    item: Submitted
    account: Account
    target: Invoice | _PlannedInvoice  # an invoice of the database, or of the batch
    existing: CreditNote | None
    amount: Decimal


@dataclass(frozen=True)
class Written:
    """What one submitted invoice or credit note became."""

    kind: str  # invoice or credit_note
    id: int
    created: bool


@dataclass
class ImportSummary:
    written: list[Written] = field(default_factory=list)

    @property
    def invoices(self) -> list[Written]:
        return [w for w in self.written if w.kind == "invoice"]

    @property
    def credit_notes(self) -> list[Written]:
        return [w for w in self.written if w.kind == "credit_note"]

    def counts(self) -> dict[str, int]:
        """How many invoices and credit notes were written, and how many were new."""
        invoices, notes = self.invoices, self.credit_notes
        return {"invoices": len(invoices), "new_invoices": sum(w.created for w in invoices),
                "credit_notes": len(notes), "new_credit_notes": sum(w.created for w in notes)}

    def describe(self, source: str) -> str:
        invoices, notes = self.invoices, self.credit_notes
        new = sum(w.created for w in invoices)
        return (f"Imported {_count(len(invoices), 'invoice')} ({new} new, {len(invoices) - new} updated) "
                f"and {_count(len(notes), 'credit note')} from {source}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def upsert_invoices(session: Session, incoming: Incoming, progress: Progress = no_progress) -> ImportSummary:
    """Create or update (by number) the invoices and credit notes of one batch, or
    refuse all of it with ``InvoiceImportError``.

    Beyond the model: the account exists (in the caller's scope); the contract, named
    or else the account's contract covering the issue date, is the account's and in
    the invoice's currency; a number already used by another account is refused; a
    credit note credits an invoice of its account and currency, in the database or in
    the batch, and the credit notes of an invoice never exceed its total (it becomes
    ``credited`` when they reach it). An updated invoice's lines are replaced. Writes
    in the caller's transaction; the caller commits."""
    batch = _Batch(session, incoming)
    batch.check(progress)
    if batch.problems:
        raise InvoiceImportError(batch.problems)
    try:
        with session.begin_nested():
            return batch.write(progress)
    except sa.exc.IntegrityError:
        # Only a number the caller's scope cannot see (another account's), or one written
        # by a concurrent import since the checks, gets as far as the unique index.
        if len(incoming.items) == 1:
            problem = incoming.items[0].problem("number", "already used by another account")
        else:
            problem = Problem(0, "number", "a number of this file was written by another import at the same time")
        raise InvoiceImportError([problem]) from None


class _Batch:
    """One batch on its way in: the rows it refers to (loaded in a few queries), the
    problems found, and the plan that ``write`` carries out."""

    def __init__(self, session: Session, incoming: Incoming):
        self.session = session
        self.now = utcnow()
        self.items = items = incoming.items
        self.problems: list[Problem] = list(incoming.problems)
        self.invoices: dict[str, _PlannedInvoice] = {}
        self.notes: dict[str, _PlannedNote] = {}
        self.credited: dict[Invoice | _PlannedInvoice, Decimal] = {}
        self.invoice_numbers = {i.data.number for i in items if i.data.kind == "invoice"} | incoming.refused_invoices
        note_numbers = {i.data.number for i in items if i.data.kind == "credit_note"}
        credited_numbers = {i.data.credits for i in items if i.data.kind == "credit_note"}
        contract_numbers = {i.data.contract for i in items if i.data.contract}

        self.accounts = {a.name: a for a in self._in(sa.select(Account), Account.name, {_nfc(i.data.account) for i in items})}
        self.contracts = {c.number: c for c in self._in(sa.select(Contract), Contract.number, contract_numbers)}
        self.account_contracts: dict[int, list[Contract]] = defaultdict(list)
        for contract in self._in(sa.select(Contract), Contract.account_id, {a.id for a in self.accounts.values()}):
            self.account_contracts[contract.account_id].append(contract)
        self.existing_invoices = {i.number: i for i in self._in(sa.select(Invoice), Invoice.number,
                                                                self.invoice_numbers | credited_numbers)}
        self.existing_notes = {n.number: n for n in self._in(sa.select(CreditNote), CreditNote.number, note_numbers)}
        # The scope lines the invoices' lines name, with their contracts' history: the price in force.
        named = {line.scope_line_id for i in items if i.data.kind == "invoice" for line in i.data.lines
                 if line.scope_line_id is not None}
        contract_ids = {line.contract_id for line in self._in(sa.select(ScopeLine), ScopeLine.id, named)}
        self.scope = ScopeHistory.load(session, contract_ids)
        # What the database credits on these invoices already; the batch's own notes are
        # counted from the batch (they may change amount or invoice).
        self.credited_before: dict[int, Decimal] = defaultdict(Decimal)
        invoice_ids = {i.id for i in self.existing_invoices.values()}
        for note in self._in(sa.select(CreditNote), CreditNote.invoice_id, invoice_ids):
            if note.number not in note_numbers:
                self.credited_before[note.invoice_id] += note.amount

    def _in(self, query: sa.Select, column, values: Iterable) -> list:
        return select_in(self.session, query, column, values, IN_CHUNK)

    # checks -----------------------------------------------------------------------

    def check(self, progress: Progress) -> None:
        with progress(self.items, "Checking invoices") as items:
            for item in items:
                if item.data.kind == "invoice":
                    self._check_invoice(item)
        for item in self.items:
            if item.data.kind == "credit_note":
                self._check_note(item)
        self._check_credited_totals()

    def _refuse(self, item: Submitted, path: str, message: str) -> None:
        self.problems.append(item.problem(path, message))

    def _account(self, item: Submitted, existing: Invoice | CreditNote | None) -> Account | None:
        """The item's account, when it is one the caller sees and the number (of
        ``existing``) is not another account's: nothing moves between accounts."""
        account = self.accounts.get(_nfc(item.data.account))
        if account is None:
            self._refuse(item, "account", "no such account")
        elif existing is not None and existing.account_id != account.id:
            self._refuse(item, "number", "already used by another account")
            return None
        return account

    def _contract(self, item: Submitted, account: Account) -> Contract | None:
        """The named contract, or else the account's contract covering the issue date;
        it must be the account's and in the item's currency."""
        data = item.data
        if data.contract:
            contract = self.contracts.get(data.contract)
            if contract is None:
                self._refuse(item, "contract", "no such contract")
                return None
            if contract.account_id != account.id:
                self._refuse(item, "contract", f"not a contract of {account.name}")
                return None
        else:
            covering = [c for c in self.account_contracts[account.id] if c.start_date <= data.issue_date <= c.end_date]
            if not covering:
                self._refuse(item, "contract", f"no contract of {account.name} covers the issue date {data.issue_date}")
                return None
            contract = max(covering, key=lambda c: c.start_date)
        if data.currency != contract.currency:
            self._refuse(item, "currency", f"{data.currency} is not the contract's currency ({contract.currency})")
            return None
        return contract

    def _check_invoice(self, item: Submitted) -> None:
        data = item.data
        for name, why in (("credits", "only a credit note credits an invoice"),
                          ("amount", "only for credit notes (an invoice's amounts come from its lines)")):
            if getattr(data, name) is not None:
                self._refuse(item, name, why)
        existing = self.existing_invoices.get(data.number)
        account = self._account(item, existing)
        if account is None:
            return
        contract = self._contract(item, account)
        if contract is None:
            return
        lines = []
        for position, line in enumerate(data.lines):
            amount = line.amount
            if amount >= MAX_AMOUNT:
                self._refuse(item, f"lines.{position}.unit_price", "quantity × unit price is too large")
            expected = self._contract_price(item, contract, position, line)
            lines.append({"account_id": account.id, "position": position, "description": line.description,
                          "quantity": line.quantity, "unit_price": line.unit_price, "amount": amount,
                          "scope_line_id": line.scope_line_id, "expected_unit_price": expected})
        subtotal = quantize_money(sum((line["amount"] for line in lines), Decimal(0)), data.currency)
        tax = quantize_money(data.tax, data.currency)
        if subtotal + tax >= MAX_AMOUNT:
            self._refuse(item, "tax", "the invoice total is too large")
        held = any(line["scope_line_id"] is not None and line["expected_unit_price"] != line["unit_price"]
                   for line in lines) and not _released_as_it_was(existing, lines)
        self.invoices[data.number] = _PlannedInvoice(item, account, contract, existing, lines, subtotal, tax,
                                                     subtotal + tax, held)

    def _contract_price(self, item: Submitted, contract: Contract, position: int, line: InvoiceLineIn) -> Decimal | None:
        """The contract's unit price for the scope line the line names, in force on the
        first day of the invoice's period (None: the line names none, or none is in force)."""
        if line.scope_line_id is None:
            return None
        named = self.scope.lines.get(line.scope_line_id)
        if named is None or named.contract_id != contract.id:
            self._refuse(item, f"lines.{position}.scope_line_id", f"no scope line {line.scope_line_id} in contract "
                                                                  f"{contract.number}")
            return None
        return unit_price_on(self.scope, named.id, item.data.period_start)

    def _check_note(self, item: Submitted) -> None:
        data = item.data
        existing = self.existing_notes.get(data.number)
        account = self._account(item, existing)
        if account is None:
            return
        if data.contract and self._contract(item, account) is None:
            return
        if data.credits in self.invoice_numbers:
            target = self.invoices.get(data.credits)
            if target is None:  # that invoice's own problems are reported on it
                return
        else:
            target = self.existing_invoices.get(data.credits)
            if target is None:
                self._refuse(item, "credits", f"no such invoice: {data.credits}")
                return
        if target.account_id != account.id:
            self._refuse(item, "credits", f"invoice {data.credits} is not an invoice of {account.name}")
            return
        if data.currency != target.currency:
            self._refuse(item, "currency", f"{data.currency} is not the currency of invoice {data.credits} "
                                           f"({target.currency})")
            return
        if data.amount is not None and data.lines:
            self._refuse(item, "amount", "give an amount or lines, not both")
            return
        if data.amount is not None and data.tax:
            self._refuse(item, "tax", "leave it empty: a credit note's amount includes tax")
            return
        if data.amount is not None:
            amount = quantize_money(data.amount, data.currency)
        else:
            lines = sum((line.amount for line in data.lines), Decimal(0))
            amount = quantize_money(lines, data.currency) + quantize_money(data.tax, data.currency)
        if amount <= 0:
            self._refuse(item, "amount", "must be more than zero")
        elif amount >= MAX_AMOUNT:
            self._refuse(item, "amount", "too large")
        else:
            self.notes[data.number] = _PlannedNote(item, account, target, existing, amount)

    def _check_credited_totals(self) -> None:
        """What the credit notes of an invoice add up to (the database's and the
        batch's) never exceeds its total: the new total when the batch changes it."""
        for planned in self.invoices.values():
            if self.credited_before.get(planned.id):
                self.credited[planned] = self.credited_before[planned.id]
        for note in self.notes.values():
            target = note.target
            self.credited[target] = self.credited.get(target, self.credited_before.get(target.id, Decimal(0))) + note.amount
        for target, credited in self.credited.items():
            if credited <= target.total:
                continue
            notes = [n for n in self.notes.values() if n.target is target]
            if notes:
                self._refuse(notes[-1].item, "amount", f"the credit notes of invoice {target.number} would exceed its "
                                                      f"total (credited {credited} of {target.total} {target.currency})")
            else:  # the database's notes only: the batch lowered the invoice's total
                self._refuse(target.item, "total", f"{target.total} {target.currency} is less than the {credited} "
                                                   f"already credited")

    def _fully_credited(self, target: Invoice | _PlannedInvoice) -> bool:
        return self.credited.get(target, Decimal(0)) >= target.total > 0

    # writing ----------------------------------------------------------------------
    #
    # Invoices and lines go in as bulk statements (executemany of INSERT, UPDATE by
    # primary key): a unit-of-work flush of 50,000 objects takes many times longer.
    # They skip the mapper events that check the scope at flush; every row written
    # here names an account that was loaded through the caller's scope above.

    def write(self, progress: Progress) -> ImportSummary:
        written: dict[tuple[str, str], Written] = {}
        new = [p for p in self.invoices.values() if p.existing is None]
        updated = [p for p in self.invoices.values() if p.existing is not None]
        with progress(_batches(new, IN_CHUNK), "Writing new invoices") as batches:
            for batch in batches:
                # The ids are read back by number: INSERT ... RETURNING of many rows costs a
                # round trip a row on SQLite and a slow statement build in psycopg.
                self.session.execute(sa.insert(Invoice), [self._invoice_row(p) for p in batch])
                ids = dict(self.session.execute(sa.select(Invoice.number, Invoice.id)
                                                .where(Invoice.number.in_([p.number for p in batch]))).all())
                for planned in batch:
                    planned.invoice_id = ids[planned.number]
        with progress(_batches(updated, IN_CHUNK), "Updating invoices") as batches:
            for batch in batches:
                self.session.execute(sa.update(Invoice).execution_options(synchronize_session=False),
                                     [{"id": p.existing.id, **self._invoice_row(p)} for p in batch])
                self.session.execute(sa.delete(InvoiceLine).where(InvoiceLine.invoice_id.in_([p.existing.id for p in batch]))
                                     .execution_options(synchronize_session=False))
                for planned in batch:
                    planned.invoice_id = planned.existing.id
        for planned in self.invoices.values():
            written["invoice", planned.number] = Written("invoice", planned.invoice_id, planned.existing is None)
        lines = [{**line, "invoice_id": p.invoice_id} for p in self.invoices.values() for line in p.lines]
        with progress(_batches(lines, LINE_BATCH), "Writing invoice lines") as batches:
            for batch in batches:
                self.session.execute(sa.insert(InvoiceLine), batch)
        notes = {number: self._write_note(number, planned) for number, planned in self.notes.items()}
        self.session.flush()
        for number, note in notes.items():
            written["credit_note", number] = Written("credit_note", note.id, self.notes[number].existing is None)
        self.session.expire_all()  # the bulk statements bypassed the loaded objects: read them again when used
        # A service credit no open invoice had room for waits for the contract's next invoice: maybe one of these.
        from portal.credits.service import set_against_new_invoices

        set_against_new_invoices(self.session, {p.account.id for p in self.invoices.values()})
        return ImportSummary([written[item.data.kind, item.data.number] for item in self.items])

    def _invoice_row(self, planned: _PlannedInvoice) -> dict[str, Any]:
        data = planned.item.data
        wanted = InvoiceStatus.CREDITED if self._fully_credited(planned) else InvoiceStatus(data.status)
        status, before_dispute = _statuses(planned.existing, wanted)
        return {
            "account_id": planned.account.id, "number": data.number, "contract_id": planned.contract.id,
            "service_location": data.service_location, "period_start": data.period_start,
            "period_end": data.period_end, "issue_date": data.issue_date, "due_date": data.due_date,
            "currency": data.currency, "subtotal": planned.subtotal, "tax": planned.tax, "total": planned.total,
            "po_number": data.po_number, "paid_on": data.paid_on, "status": status,
            "status_before_dispute": before_dispute, "held_at": self._held_at(planned),
        }

    def _held_at(self, planned: _PlannedInvoice) -> datetime | None:
        """Since when the invoice is held: a corrected invoice is released, one still
        at another price than the contract's stays held, and one finance released stays
        released unless its lines changed (see ``_released_as_it_was``)."""
        if not planned.held:
            return None
        return (planned.existing.held_at if planned.existing is not None else None) or self.now

    def _write_note(self, number: str, planned: _PlannedNote) -> CreditNote:
        data = planned.item.data
        note = planned.existing
        if note is None:
            note = CreditNote(account_id=planned.account.id, number=number)
            self.session.add(note)
        target = planned.target
        note.invoice_id = target.invoice_id if isinstance(target, _PlannedInvoice) else target.id
        note.issue_date, note.currency, note.amount, note.reason = data.issue_date, data.currency, planned.amount, data.reason
        if isinstance(target, Invoice) and self._fully_credited(target):
            target.status, target.status_before_dispute = _statuses(target, InvoiceStatus.CREDITED)
        return note


# What finance reviewed when it released a held invoice: each line as billed, and the
# contract's price it was held against.
_REVIEWED = ("position", "description", "quantity", "unit_price", "scope_line_id", "expected_unit_price")


def _released_as_it_was(existing: Invoice | None, lines: list[dict[str, Any]]) -> bool:
    """Whether ``existing`` is visible to the client (never held, or released by finance)
    and arrives again with the lines and prices it had: the billing system sends an
    invoice again unchanged, and finance's release stands. Any change to a line or to
    the contract's price for it is a new difference, held for review again."""
    if existing is None or existing.held_at is not None:
        return False
    return ({line["position"]: tuple(line[name] for name in _REVIEWED) for line in lines}
            == {line.position: tuple(getattr(line, name) for name in _REVIEWED) for line in existing.lines})


def _statuses(existing: Invoice | None, wanted: InvoiceStatus) -> tuple[InvoiceStatus, InvoiceStatus | None]:
    """(status, status_before_dispute) of an invoice the billing system says is
    ``wanted``. While a dispute raised in the portal is open, the invoice stays
    ``disputed`` (finance settles it there) and ``wanted`` is what it returns to."""
    if existing is not None and existing.status is InvoiceStatus.DISPUTED and existing.status_before_dispute is not None:
        if wanted is InvoiceStatus.DISPUTED:
            return existing.status, existing.status_before_dispute
        return InvoiceStatus.DISPUTED, wanted
    return wanted, None


# --- the command ---------------------------------------------------------------------------


def run_invoice_import(session: Session, path: str) -> None:
    """``flask import invoices FILE``: import the file and commit, printing the counts;
    or print one line per problem and exit 2 with nothing written."""
    run_file_import(session, path, lambda content: upsert_invoices(session, read_invoice_file(content),
                                                                   progress=terminal_progress))


# --- the upload page's import, in the background ------------------------------------------


def ask_for_import(session: Session, by: User, filename: str, content: bytes) -> Job:
    """Import an uploaded file in the background, as the command does (the job
    ``invoice_import``, started by ``by``, who alone sees it with the admins, and which
    sees only ``by``'s accounts), once this unit of work commits. The file is kept
    with the job until it ends."""
    from portal.jobs import attach_file, enqueue

    row = enqueue(session, "invoice_import", by=by, filename=filename)
    attach_file(session, row, filename, content)
    return row


# What this import says about a cell, beyond what every import says (``COMMON_WORDS``),
# in the words of the upload page's reader (the command and the API say the English).
# A message not listed here (pydantic's own, for a case the import does not foresee) is
# shown as it is.
_WORDS: Words = COMMON_WORDS + words(
    (r"must not be negative", N_("must not be negative")),
    (r"too many digits \(at most 16\)", N_("too many digits (at most 16)")),
    (r"too many digits before the decimal point", N_("too many digits before the decimal point")),
    (r"at most (?P<limit>\d+) lines", N_("at most %(limit)s lines")),
    (r"one of (?P<choices>.+)", N_("one of %(choices)s")),
    (r"a three-letter currency code such as USD", N_("a three-letter currency code such as USD")),
    (r"a two-letter country code such as GB", N_("a two-letter country code such as GB")),
    (r"required for an invoice", N_("required for an invoice")),
    (r"an invoice needs at least one line", N_("an invoice needs at least one line")),
    (r"before period_start", N_("before period_start")),
    (r"before issue_date", N_("before issue_date")),
    (r"required when the status is paid", N_("required when the status is paid")),
    (r"a credit note names the invoice it credits", N_("a credit note names the invoice it credits")),
    (r"a credit note needs an amount or lines", N_("a credit note needs an amount or lines")),
    (r"(?P<value>.+) differs from line (?P<line>\d+) \((?P<first>.*)\) for the same number",
     N_("%(value)s differs from line %(line)s (%(first)s) for the same number")),
    (r"no such account", N_("no such account")),
    (r"already used by another account", N_("already used by another account")),
    (r"a number of this file was written by another import at the same time",
     N_("a number of this file was written by another import at the same time")),
    (r"no such contract", N_("no such contract")),
    (r"no scope line (?P<line>\d+) in contract (?P<contract>.+)", N_("no scope line %(line)s in contract %(contract)s")),
    (r"not a contract of (?P<account>.+)", N_("not a contract of %(account)s")),
    (r"no contract of (?P<account>.+) covers the issue date (?P<date>[\d-]+)",
     N_("no contract of %(account)s covers the issue date %(date)s")),
    (r"(?P<currency>\w+) is not the contract's currency \((?P<contract_currency>\w+)\)",
     N_("%(currency)s is not the contract's currency (%(contract_currency)s)")),
    (r"only a credit note credits an invoice", N_("only a credit note credits an invoice")),
    (r"only for credit notes \(an invoice's amounts come from its lines\)",
     N_("only for credit notes (an invoice's amounts come from its lines)")),
    (r"quantity × unit price is too large", N_("quantity × unit price is too large")),
    (r"the invoice total is too large", N_("the invoice total is too large")),
    (r"no such invoice: (?P<number>.+)", N_("no such invoice: %(number)s")),
    (r"invoice (?P<number>.+) is not an invoice of (?P<account>.+)",
     N_("invoice %(number)s is not an invoice of %(account)s")),
    (r"(?P<currency>\w+) is not the currency of invoice (?P<number>.+) \((?P<invoice_currency>\w+)\)",
     N_("%(currency)s is not the currency of invoice %(number)s (%(invoice_currency)s)")),
    (r"give an amount or lines, not both", N_("give an amount or lines, not both")),
    (r"leave it empty: a credit note's amount includes tax", N_("leave it empty: a credit note's amount includes tax")),
    (r"must be more than zero", N_("must be more than zero")),
    (r"too large", N_("too large")),
    (r"the credit notes of invoice (?P<number>.+) would exceed its total "
     r"\(credited (?P<credited>[\d.]+) of (?P<total>[\d.]+) (?P<currency>\w+)\)",
     N_("the credit notes of invoice %(number)s would exceed its total "
        "(credited %(credited)s of %(total)s %(currency)s)")),
    (r"(?P<total>[\d.]+) (?P<currency>\w+) is less than the (?P<credited>[\d.]+) already credited",
     N_("%(total)s %(currency)s is less than the %(credited)s already credited")),
)


def in_words(message: str) -> str:
    """A problem's message in the language of the page being written, when it is one
    this import may give; else as it is."""
    return imports_in_words(message, _WORDS)
