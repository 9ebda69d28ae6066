"""Synthetic invoices at scale, for ``flask seed-demo --scale N`` and the benchmarks.

N invoices are spread over generated accounts; one of them, the benchmark's, holds at
least 20,000 and has the client approver ``bench@client.example``. A million invoices
must load in under two minutes on PostgreSQL, so the rows skip the ORM: accounts and
contracts (a few thousand) go in as ORM bulk inserts, invoices, their lines and credit
notes through COPY (on SQLite, executemany of Core inserts). Invoices get explicit ids
above ``max(id)`` so that their lines can name them without a round trip per invoice;
the sequence is moved past them afterwards.

The rows are written month by month over 24 months across all accounts, as a billing
system exports them, so one account's invoices are spread through the table instead of
lying together: index scans meet the heap as they would in production.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from docgen.formatting import quantize_money as money
from portal.admin.service import create_user
from portal.demo import TAX_RATES, month_end, month_start
from portal.models import Account, Contract, Invoice, Role, ServiceLocation

BENCH_EMAIL = "bench@client.example"
BENCH_MIN_INVOICES = 20_000
INVOICES_PER_ACCOUNT = 500  # the other accounts' size; N decides how many there are
MONTHS = 24
PAYMENT_TERMS = timedelta(days=30)
SQLITE_BATCH = 5_000


class Profile(NamedTuple):
    """Where a generated client is billed: its currency (units per USD), the countries
    it may be billed in (its service locations) and its time zone."""

    currency: str
    per_usd: Decimal
    countries: tuple[str, ...]
    timezone: str


PROFILES = (
    Profile("USD", Decimal(1), ("US", "GB", "SG"), "America/New_York"),
    Profile("EUR", Decimal("0.92"), ("DE", "FR", "NL"), "Europe/Berlin"),
    Profile("SGD", Decimal("1.35"), ("SG", "MY", "TH"), "Asia/Singapore"),
    Profile("CNY", Decimal("7.2"), ("CN", "HK"), "Asia/Shanghai"),
    Profile("VND", Decimal(25_000), ("VN", "KH"), "Asia/Ho_Chi_Minh"),
)
TAXES = TAX_RATES | {"SG": Decimal("0.09"), "MY": Decimal("0.08"), "TH": Decimal("0.07"), "DE": Decimal("0.19"),
                     "FR": Decimal("0.20"), "NL": Decimal("0.21"), "KH": Decimal("0.10")}

# Services billed monthly: description, USD unit price, range of monthly quantities.
SERVICES = (
    ("Outsourced accounting and bookkeeping", "9500", (1, 1)),
    ("Statutory accounting and tax compliance", "7800", (1, 1)),
    ("Payroll processing", "15.50", (40, 900)),
    ("Social insurance administration", "4.20", (40, 900)),
    ("Managed IT service desk", "38", (20, 600)),
    ("Accounts payable processing", "2.35", (200, 4000)),
)

INVOICE_COLUMNS = ("id", "account_id", "contract_id", "number", "service_location", "period_start", "period_end",
                   "issue_date", "due_date", "currency", "subtotal", "tax", "total", "po_number", "status",
                   "status_before_dispute", "paid_on", "created_at", "updated_at")
LINE_COLUMNS = ("account_id", "invoice_id", "position", "description", "quantity", "unit_price", "amount")
CREDIT_NOTE_COLUMNS = ("account_id", "invoice_id", "number", "issue_date", "currency", "amount", "reason", "created_at")


@dataclass
class _Client:
    """A generated account as the generator needs it: ids, prices in its currency."""

    account_id: int
    contract_id: int
    code: str
    profile: Profile
    countries: tuple[str, ...]
    invoices: int
    pays_after_days: int
    prices: list[tuple[str, Decimal, tuple[int, int]]]  # description, unit price, monthly quantities


def load_scale(session: Session, n: int, *, password: str) -> str:
    """Load ``n`` synthetic invoices with their lines (inside ``unscoped()``, after the
    demo data); the caller commits. Returns a one-line summary."""
    started, today, rng = time.monotonic(), date.today(), random.Random(n)
    bench = min(n, max(BENCH_MIN_INVOICES, n // 50))
    others = n - bench
    accounts = math.ceil(others / INVOICES_PER_ACCOUNT)
    sizes = [bench] + [others // accounts + (i < others % accounts) for i in range(accounts)]
    clients = _create_clients(session, sizes, today, rng)
    bench_account = session.scalar(sa.select(Account).where(Account.id == clients[0].account_id))
    create_user(session, email=BENCH_EMAIL, name="Bench Client Approver", role=Role.CLIENT_APPROVER,
                password=password, account=bench_account)

    generator = _Generator(rng, today, first_id=(session.scalar(sa.select(sa.func.max(Invoice.id))) or 0) + 1)
    counts = {"lines": 0, "credit notes": 0}
    for month in range(MONTHS):
        # The invoices stream into COPY as they are made, so the database works while
        # Python generates; their lines and credit notes follow in their own COPY.
        lines, credit_notes = [], []
        _append(session, "invoices", INVOICE_COLUMNS, generator.invoices(clients, month, lines, credit_notes))
        _append(session, "invoice_lines", LINE_COLUMNS, lines)
        _append(session, "credit_notes", CREDIT_NOTE_COLUMNS, credit_notes)
        counts["lines"] += len(lines)
        counts["credit notes"] += len(credit_notes)
        print(f"scale: month {month + 1}/{MONTHS}, up to invoice id {generator.next_id - 1:,}, "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT setval(pg_get_serial_sequence('invoices', 'id'), (SELECT max(id) FROM invoices))"))
        # Fresh statistics, or the planner guesses row counts for a million-row table.
        session.execute(sa.text("ANALYZE accounts, contracts, service_locations, invoices, invoice_lines, credit_notes"))
    return (f"{n:,} synthetic invoices ({counts['lines']:,} lines, {counts['credit notes']:,} credit notes) over "
            f"{len(clients)} generated accounts, {bench:,} of them for {BENCH_EMAIL}, "
            f"in {time.monotonic() - started:.0f} s")


def _create_clients(session: Session, sizes: list[int], today: date, rng: random.Random) -> list[_Client]:
    """One account, contract and service locations per size; the first is the bench account."""
    profiles = [PROFILES[i % len(PROFILES)] for i in range(len(sizes))]
    codes = ["BENCH"] + [f"S{i:05d}" for i in range(1, len(sizes))]
    countries = [p.countries if i == 0 else tuple(rng.sample(p.countries, rng.randint(1, len(p.countries))))
                 for i, p in enumerate(profiles)]
    names = ["Bench Client Pte Ltd"] + [f"Synthetic Client {code} Ltd" for code in codes[1:]]
    account_ids = session.scalars(
        sa.insert(Account).returning(Account.id, sort_by_parameter_order=True),
        [{"name": name, "country": where[0], "timezone": p.timezone} for name, where, p in zip(names, countries, profiles)],
    ).all()
    start = month_start(today, MONTHS + 2)
    contract_ids = session.scalars(
        sa.insert(Contract).returning(Contract.id, sort_by_parameter_order=True),
        [{"account_id": account_id, "number": f"MSA-{code}-{start.year}", "title": {"en": "Master Services Agreement"},
          "start_date": start, "end_date": month_start(start, -60) - timedelta(days=1),
          "signed_on": start - timedelta(days=14), "currency": p.currency,
          # Roughly what the account bills a year, at USD 6,000 an invoice.
          "annual_value": money(Decimal(size * 6_000 * 12 // MONTHS) * p.per_usd, p.currency)}
         for account_id, code, p, size in zip(account_ids, codes, profiles, sizes)],
    ).all()
    session.execute(sa.insert(ServiceLocation), [
        {"account_id": account_id, "contract_id": contract_id, "country": country, "entity_name": name}
        for account_id, contract_id, name, where in zip(account_ids, contract_ids, names, countries) for country in where
    ])
    return [_Client(account_id, contract_id, code, p, where, size, pays_after_days=rng.randint(14, 45),
                    prices=[(text, money(Decimal(usd) * p.per_usd, p.currency), quantities)
                            for text, usd, quantities in SERVICES])
            for account_id, contract_id, code, p, where, size
            in zip(account_ids, contract_ids, codes, profiles, countries, sizes)]


class _Generator:
    """The rows of each month's billing run, for every client."""

    def __init__(self, rng: random.Random, today: date, first_id: int):
        self.rng, self.today, self.next_id = rng, today, first_id

    def invoices(self, clients: list[_Client], month: int, lines: list[tuple],
                 credit_notes: list[tuple]) -> Iterator[tuple]:
        """Yield the invoice rows of ``month`` (0 is the oldest), appending their lines
        and credit notes to the lists as it goes."""
        months_ago = MONTHS - 1 - month
        first = month_start(self.today, months_ago)
        period = month_start(self.today, months_ago + 1)
        # The current month has only run up to today.
        days = (self.today - first).days + 1 if months_ago == 0 else 28
        for client in clients:
            for _ in range(client.invoices * (month + 1) // MONTHS - client.invoices * month // MONTHS):
                issued = first + timedelta(days=self.rng.randrange(days))
                yield self._invoice(client, period, issued, lines, credit_notes)

    def _invoice(self, client: _Client, period: date, issued: date, lines: list[tuple],
                 credit_notes: list[tuple]) -> tuple:
        rng, invoice_id, currency = self.rng, self.next_id, client.profile.currency
        self.next_id += 1
        country = rng.choice(client.countries)
        subtotal = Decimal(0)
        for position, (text, price, (low, high)) in enumerate(rng.sample(client.prices, rng.choice((1, 1, 2, 2, 3)))):
            quantity = Decimal(rng.randint(low, high))
            amount = money(quantity * price, currency)
            subtotal += amount
            lines.append((client.account_id, invoice_id, position, f"{text}, {country}", quantity, price, amount))
        tax = money(subtotal * TAXES[country], currency)
        total = subtotal + tax
        due = issued + PAYMENT_TERMS
        status, before_dispute, paid_on = self._status(client, issued, due)
        # Numbered in sequence by the billing run, as billing systems do (and the
        # unique index is appended to rather than split all over).
        number = f"INV-{issued:%y%m}-{invoice_id:07d}"
        # One purchase order per location and year; a few invoices quote none.
        po_number = None if rng.random() < 0.1 else f"PO-{client.code}-{country}-{period.year}"
        created = datetime(issued.year, issued.month, issued.day, 2, tzinfo=timezone.utc)
        if status == "credited":
            credit_notes.append((client.account_id, invoice_id, number.replace("INV-", "CRN-"),
                                 min(issued + timedelta(days=14), self.today), currency, total,
                                 "Invoice withdrawn and credited in full.", created))
        return (invoice_id, client.account_id, client.contract_id, number, country, period, month_end(period), issued,
                due, currency, subtotal, tax, total, po_number, status, before_dispute, paid_on, created, created)

    def _status(self, client: _Client, issued: date, due: date) -> tuple[str, str | None, date | None]:
        """Stored status, the status to return to after a dispute, and the payment date.
        Most invoices past their due date are paid; some recent ones are still open
        (overdue), a few are disputed or credited."""
        draw = self.rng.random()
        if draw < 0.02:
            return "disputed", "issued", None
        if due >= self.today:
            return "issued", None, None
        if draw < 0.035:
            return "credited", None, None
        late = (self.today - due).days < 60
        if draw < (0.25 if late else 0.045):
            return "issued", None, None  # overdue
        paid = issued + timedelta(days=client.pays_after_days + self.rng.randint(-5, 10))
        return "paid", None, min(paid, self.today)


def _append(session: Session, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Append rows to ``table`` in the session's transaction: COPY on PostgreSQL;
    elsewhere executemany of Core inserts, whose column types write each dialect's
    form (``ExactDecimal`` becomes a scaled integer on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    insert, rows = sa.insert(Account.metadata.tables[table]), iter(rows)
    while batch := [dict(zip(columns, row)) for row in itertools.islice(rows, SQLITE_BATCH)]:
        session.execute(insert, batch)
