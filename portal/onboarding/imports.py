"""New client accounts from a spreadsheet: ``flask import accounts FILE`` (CSV or XLSX)
and the administrator's upload page (``portal.onboarding.upload``).

One row per scope line. Rows with the same ``account`` (its English legal name) are one
account and rows with the same ``contract_number`` one contract of it: their account
(or contract) columns may be repeated or left blank after the first row that gives
them, but never contradict it. The import only creates: an account or a contract number
the portal has already is refused. The format is in the README ("Importing accounts"),
with ``portal/static/samples/accounts-import.csv``.

All or nothing, like the other imports (``portal.imports``): every row is read, and
every account and contract checked by the onboarding services' own rules, before
anything is written; one problem anywhere, named by its line and column
(``line 7: unit_price: not a number``; a service's field path such as
``scope_lines.2.quantity`` is traced back to the row and column it came from), refuses
the whole file. A clean file is written by ``create_account`` and ``create_contract``
in the caller's transaction, which the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from babel.numbers import get_currency_precision, is_currency
from sqlalchemy.orm import Session

from docgen.i18n import LANGUAGES, N_
from portal.domain import DomainError
from portal.imports import COMMON_WORDS, ImportRefused, Problem, Progress, Row, Words, nfc, no_progress, read_table
from portal.imports import in_words as imports_in_words
from portal.imports import run_file_import, terminal_progress, words
from portal.models import Account, Job, Tier, User
from portal.onboarding import service
from portal.onboarding.service import AccountDetails, ContractDetails, ScopeLineDetails


def _in_each_language(column: str) -> tuple[str, ...]:
    """A text column and its Chinese and Vietnamese ones: ``service``, ``service_zh``, ``service_vi``."""
    return tuple(column if lang == "en" else f"{column}_{lang}" for lang in LANGUAGES)


ACCOUNT_COLUMNS = (
    *_in_each_language("account"), "country", "tier", "timezone", "currency", "document_languages",
    "approval_threshold", *_in_each_language("address"), "tax_id", *_in_each_language("representative"),
    *_in_each_language("representative_title"),
)
CONTRACT_COLUMNS = (
    "contract_number", *_in_each_language("contract_title"), "signed_on", "start_date", "end_date",
    *_in_each_language("governing_law"),
)
LINE_COLUMNS = (*_in_each_language("service"), "quantity", "unit", "unit_price")
COLUMNS = (*ACCOUNT_COLUMNS, *CONTRACT_COLUMNS, *LINE_COLUMNS)
REQUIRED_COLUMNS = ("account", "country", "timezone", "currency", "contract_number", "contract_title", "start_date",
                    "end_date", "service", "quantity", "unit", "unit_price")
# Cells that may not be blank: in every row (ROW_REQUIRED), or in some row of each account
# or contract. The services require the texts (and a scope line's unit) themselves.
ROW_REQUIRED = ("account", "contract_number", "quantity", "unit_price")
ACCOUNT_REQUIRED = ("country", "timezone", "currency")
CONTRACT_REQUIRED = ("start_date", "end_date")

# The services' field paths, and the file's columns they came from. A text per language
# (``name.zh``) is the column of that language (``account_zh``).
ACCOUNT_PATHS = {"name": "account", "address": "address", "representative.name": "representative",
                 "representative.title": "representative_title"}
CONTRACT_PATHS = {"number": "contract_number", "title": "contract_title", "governing_law": "governing_law"}
LINE_PATHS = {"service": "service"}

NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$", re.ASCII)  # no exponent or thousands separator
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
LANGUAGE_SEPARATORS = re.compile(r"[\s,;+/]+")
QUANTITY_PLACES = 4  # ScopeLine.quantity keeps 4 decimals

NOT_A_DATE = "not a valid date (YYYY-MM-DD)"
EXISTING_ACCOUNT = "already in the portal: this import only creates accounts"
EXISTING_CONTRACT = "already in the portal: this import only creates contracts"


# --- reading a file ----------------------------------------------------------------------


def _date(text: str) -> date:
    try:
        if ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(NOT_A_DATE)


def _number(text: str) -> Decimal:
    if not NUMBER.match(text):
        raise ValueError("not a number")
    return Decimal(text)


def _quantity(text: str) -> Decimal:
    value = _number(text)
    if -value.as_tuple().exponent > QUANTITY_PLACES:
        raise ValueError(f"at most {QUANTITY_PLACES} decimal places")
    return value


def _tier(text: str) -> Tier:
    try:
        return Tier(text.lower())
    except ValueError:
        raise ValueError(f"one of {', '.join(t.value for t in Tier)}") from None


def _languages(text: str) -> tuple[str, ...]:
    return tuple(lang.lower() for lang in LANGUAGE_SEPARATORS.split(text) if lang)


PARSERS: dict[str, Callable[[str], Any]] = {
    "country": str.upper, "currency": str.upper, "tier": _tier, "document_languages": _languages,
    "approval_threshold": _number, "signed_on": _date, "start_date": _date, "end_date": _date,
    "quantity": _quantity, "unit_price": _number,
}


@dataclass
class _Read:
    """A row with each of its cells read: the value, and the text it was read from."""

    line: int
    values: dict[str, Any]
    texts: dict[str, str]
    unreadable: set[str]  # columns whose cell could not be read (a problem says why)


@dataclass(frozen=True)
class _Source:
    """A value of an account or a contract, the line it came from and its text there."""

    value: Any
    line: int
    text: str


@dataclass
class PlannedContract:
    """A contract of the file: its details for ``create_contract``, where each came
    from, and what has a problem already (which the services need not repeat)."""

    first_line: int
    sources: dict[str, _Source]
    details: ContractDetails
    line_rows: list[int]  # the line of each of ``details.scope_lines``
    bad: set[str]  # contract columns
    bad_cells: set[tuple[int, str]]  # (line, column) of scope line cells


@dataclass
class PlannedAccount:
    first_line: int
    sources: dict[str, _Source]
    details: AccountDetails
    contracts: list[PlannedContract]
    bad: set[str]  # account columns with a problem found already


@dataclass
class Incoming:
    """The accounts of a file, and the problems of its rows."""

    accounts: list[PlannedAccount]
    problems: list[Problem] = field(default_factory=list)


def read_accounts_file(content: bytes) -> Incoming:
    """The accounts, contracts and scope lines of a CSV file (UTF-8, BOM allowed) or an
    Excel workbook (its first sheet), one row per scope line, and every problem of its
    rows: a cell that cannot be read, a required one left blank, rows of one account or
    contract that contradict each other, or a contract number under two accounts. A file
    whose encoding or header is wrong raises ``ImportRefused`` at once."""
    rows, problems = read_table(content, COLUMNS, REQUIRED_COLUMNS)
    incoming = Incoming([], problems)
    groups: dict[str, list[_Read]] = {}
    for row in rows:
        read = _read_row(row, incoming.problems)
        if "account" in read.values:
            groups.setdefault(read.values["account"].casefold(), []).append(read)
    owners: dict[str, tuple[str, int]] = {}  # contract number -> (account key, the line that says so)
    for key, group in groups.items():
        for read in group:
            number = read.values.get("contract_number")
            if number is None:
                continue
            owner = owners.setdefault(number, (key, read.line))
            if owner[0] != key:
                incoming.problems.append(Problem(read.line, "contract_number",
                                                 f"{number} is on line {owner[1]} for another account"))
                read.unreadable.add("contract_number")
                del read.values["contract_number"]
        incoming.accounts.append(_plan_account(group, incoming.problems))
    return incoming


def _read_row(row: Row, problems: list[Problem]) -> _Read:
    read = _Read(row.line, {}, {}, set())
    for name, text in row.cells.items():
        if not text:
            continue
        try:
            read.values[name] = PARSERS.get(name, nfc)(text)
            read.texts[name] = text
        except ValueError as error:
            problems.append(Problem(row.line, name, str(error)))
            read.unreadable.add(name)
    for name in ROW_REQUIRED:
        if name not in read.values and name not in read.unreadable:
            problems.append(Problem(row.line, name, "required"))
            read.unreadable.add(name)
    return read


def _merge(group: list[_Read], columns: tuple[str, ...], what: str,
           problems: list[Problem]) -> tuple[dict[str, _Source], set[str]]:
    """The values of an account's (or a contract's) ``columns`` over its rows: each from
    the first row that gives it. A later row may leave it blank or repeat it, but a
    different value is a problem of that row. Returns the values and the columns with a
    problem (unreadable in some row, or contradicted)."""
    sources: dict[str, _Source] = {}
    bad: set[str] = set()
    for read in group:
        bad |= read.unreadable & set(columns)
        for name in columns:
            if name not in read.values:
                continue
            first = sources.setdefault(name, _Source(read.values[name], read.line, read.texts[name]))
            if first.value != read.values[name]:
                problems.append(Problem(read.line, name, f"{read.texts[name]!r} differs from line {first.line} "
                                                         f"({first.text!r}) for the same {what}"))
                bad.add(name)
    return sources, bad


def _required(sources: dict[str, _Source], bad: set[str], names: Iterable[str], line: int,
              problems: list[Problem]) -> None:
    for name in names:
        if name not in sources and name not in bad:
            problems.append(Problem(line, name, "required"))
            bad.add(name)


def _texts(sources: dict[str, _Source], column: str) -> dict[str, str]:
    return {lang: sources[name].value for lang, name in zip(LANGUAGES, _in_each_language(column)) if name in sources}


def _value(sources: dict[str, _Source], name: str, default: Any = None) -> Any:
    return sources[name].value if name in sources else default


def _exact_amount(amount: _Source | None, name: str, currency: str, problems: list[Problem]) -> bool:
    """Whether an amount has no more decimals than its currency has: the services would
    round it, and an import keeps figures exactly as the file gives them."""
    if amount is None or not is_currency(currency):
        return True
    places = get_currency_precision(currency)
    if -amount.value.as_tuple().exponent <= places:
        return True
    message = f"a whole number in {currency}" if places == 0 else f"at most {places} decimal places in {currency}"
    problems.append(Problem(amount.line, name, message))
    return False


def _plan_account(group: list[_Read], problems: list[Problem]) -> PlannedAccount:
    """One account's rows as ``AccountDetails`` and its contracts. A value that is
    missing or wrong is given a stand-in, so that the services can still check the rest."""
    sources, bad = _merge(group, ACCOUNT_COLUMNS, "account", problems)
    first_line = group[0].line
    _required(sources, bad, ACCOUNT_REQUIRED, first_line, problems)
    currency = _value(sources, "currency", "")
    if not _exact_amount(sources.get("approval_threshold"), "approval_threshold", currency, problems):
        bad.add("approval_threshold")
    details = AccountDetails(
        name=_texts(sources, "account"), country=_value(sources, "country", ""),
        timezone=_value(sources, "timezone", ""), currency=currency, tier=_value(sources, "tier", Tier.STANDARD),
        document_languages=_value(sources, "document_languages", ("en",)),
        approval_threshold=_value(sources, "approval_threshold", Decimal("50000")),
        address=_texts(sources, "address"), tax_id=_value(sources, "tax_id", ""),
        representative_name=_texts(sources, "representative"),
        representative_title=_texts(sources, "representative_title"))
    contracts: dict[str, list[_Read]] = {}
    for read in group:
        if "contract_number" in read.values:
            contracts.setdefault(read.values["contract_number"], []).append(read)
    return PlannedAccount(first_line, sources, details,
                          [_plan_contract(rows, currency, problems) for rows in contracts.values()], bad)


def _plan_contract(group: list[_Read], currency: str, problems: list[Problem]) -> PlannedContract:
    sources, bad = _merge(group, CONTRACT_COLUMNS, "contract", problems)
    first_line = group[0].line
    _required(sources, bad, CONTRACT_REQUIRED, first_line, problems)
    bad_cells: set[tuple[int, str]] = set()
    lines, line_rows = [], []
    for read in group:
        bad_cells |= {(read.line, name) for name in read.unreadable & set(LINE_COLUMNS)}
        price = read.values.get("unit_price")
        if price is not None and not _exact_amount(_Source(price, read.line, read.texts["unit_price"]), "unit_price",
                                                   currency, problems):
            bad_cells.add((read.line, "unit_price"))
        lines.append(ScopeLineDetails(
            service={lang: read.values[name] for lang, name in zip(LANGUAGES, _in_each_language("service"))
                     if name in read.values},
            quantity=read.values.get("quantity", Decimal(1)), unit=read.values.get("unit", ""),
            unit_price=read.values.get("unit_price", Decimal(0))))
        line_rows.append(read.line)
    # Stand-in dates that no rule finds fault with, while the file's own are wrong.
    details = ContractDetails(
        number=group[0].values["contract_number"], title=_texts(sources, "contract_title"),
        start_date=_value(sources, "start_date", date.min), end_date=_value(sources, "end_date", date.max),
        currency=currency, signed_on=_value(sources, "signed_on"), governing_law=_texts(sources, "governing_law"),
        scope_lines=tuple(lines))
    return PlannedContract(first_line, sources, details, line_rows, bad, bad_cells)


# --- the services' verdicts, placed in the file ----------------------------------------------


def _column(path: str, paths: dict[str, str]) -> str:
    """The file's column of a service's field path: ``name.zh`` is ``account_zh``."""
    base, _, lang = path.rpartition(".")
    if base in paths and lang in LANGUAGES:
        return paths[base] if lang == "en" else f"{paths[base]}_{lang}"
    return paths.get(path, path)


def _line(sources: dict[str, _Source], column: str, first_line: int) -> int:
    """The line a column's value came from; the group's first when no row gave it."""
    source = sources.get(column)
    return source.line if source is not None else first_line


def _account_problems(planned: PlannedAccount, error: DomainError) -> list[Problem]:
    problems = []
    for path, message in (error.fields or {}).items():
        column = _column(path, ACCOUNT_PATHS)
        if column in planned.bad:
            continue
        if path.startswith("name.") and message == "an account with this name exists":
            message = EXISTING_ACCOUNT
        problems.append(Problem(_line(planned.sources, column, planned.first_line), column, message))
    return problems


def _contract_problems(planned: PlannedContract, error: DomainError) -> list[Problem]:
    problems = []
    for path, message in (error.fields or {}).items():
        if path == "currency":
            continue  # the account's currency: its problem is the account's
        parts = path.split(".")
        if parts[0] == "scope_lines" and len(parts) > 2 and parts[1].isdigit():
            line = planned.line_rows[int(parts[1])]
            column = _column(".".join(parts[2:]), LINE_PATHS)
            if (line, column) in planned.bad_cells:
                continue
        else:
            column = _column(path, CONTRACT_PATHS)
            line = _line(planned.sources, column, planned.first_line)
            if column in planned.bad:
                continue
            if path == "number" and message == "a contract with this number exists":
                message = EXISTING_CONTRACT
        problems.append(Problem(line, column, message))
    return problems


# --- checking and writing ------------------------------------------------------------------


@dataclass(frozen=True)
class AccountImportSummary:
    accounts: int
    contracts: int
    scope_lines: int

    def describe(self, source: str) -> str:
        return (f"Imported {_count(self.accounts, 'account')}, {_count(self.contracts, 'contract')} and "
                f"{_count(self.scope_lines, 'scope line')} from {source}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def create_accounts(session: Session, by: User, incoming: Incoming, progress: Progress = no_progress
                    ) -> AccountImportSummary:
    """Create the accounts of one file with their contracts and scope lines, or refuse
    all of it with ``ImportRefused`` (administrators only, as ``create_account``).

    Every account and contract is first checked by the services' rules without writing
    anything (an account or contract number the portal has is a problem: this import
    creates), so that one run names every problem of the file; only then are they
    created, by ``create_account`` and ``create_contract`` (each an audit event), in
    the caller's transaction. The caller commits."""
    problems = list(incoming.problems)
    with progress(incoming.accounts, "Checking accounts") as accounts:
        for planned in accounts:
            problems += _check(session, planned)
    if problems:
        raise ImportRefused(problems)
    try:
        with session.begin_nested(), progress(incoming.accounts, "Creating accounts") as accounts:
            for planned in accounts:
                _create(session, by, planned)
    except sa.exc.IntegrityError:
        # Only an account or contract created by someone else since the checks gets here.
        raise ImportRefused([Problem(0, "account", "an account or contract of this file was created by someone else "
                                                   "at the same time")]) from None
    contracts = [c for a in incoming.accounts for c in a.contracts]
    return AccountImportSummary(len(incoming.accounts), len(contracts),
                                sum(len(c.details.scope_lines) for c in contracts))


def _check(session: Session, planned: PlannedAccount) -> list[Problem]:
    """The problems the services find with an account and its contracts, written nowhere."""
    problems = []
    try:
        service._account_values(session, planned.details, None)
    except DomainError as error:
        problems += _account_problems(planned, error)
    # The contracts are checked against the account the file describes (its document
    # languages decide the texts they need); it exists nowhere yet.
    account = Account(document_languages=list(planned.details.document_languages))
    for contract in planned.contracts:
        try:
            service._contract_values(session, account, contract.details, None)
        except DomainError as error:
            problems += _contract_problems(contract, error)
    return problems


def _create(session: Session, by: User, planned: PlannedAccount) -> None:
    try:
        account = service.create_account(session, by, planned.details)
    except DomainError as error:
        if not error.fields:
            raise  # not the file's fault: the caller may not create accounts
        raise ImportRefused(_account_problems(planned, error)) from None
    for contract in planned.contracts:
        try:
            service.create_contract(session, account, by, contract.details)
        except DomainError as error:
            if not error.fields:
                raise
            raise ImportRefused(_contract_problems(contract, error)) from None


# --- a problem in the reader's words --------------------------------------------------------

# What this import and the onboarding services say about a cell, beyond what every
# import says (``COMMON_WORDS``), in the words of the upload page's reader (the command
# prints the English as it is). A message not listed here is shown as it is.
_WORDS: Words = COMMON_WORDS + words(
    (r"a positive number", N_("a positive number")),
    (r"zero or more", N_("zero or more")),
    (r"a positive amount", N_("a positive amount")),
    (r"at most (?P<places>\d+) decimal places in (?P<currency>\w+)",
     N_("at most %(places)s decimal places in %(currency)s")),
    (r"a whole number in (?P<currency>\w+)", N_("a whole number in %(currency)s")),
    (r"one of strategic, key, standard", N_("one of strategic, key, standard")),
    (r"not an ISO 3166 country code", N_("not an ISO 3166 country code")),
    (r"not an ISO 4217 currency code", N_("not an ISO 4217 currency code")),
    (r"not a time zone \(e\.g\. Asia/Shanghai\)", N_("not a time zone (e.g. Asia/Shanghai)")),
    (r"choose at least one", N_("choose at least one")),
    (r"each one of en, zh, vi", N_("each one of en, zh, vi")),
    (r"at most two", N_("at most two")),
    (r"required with a title", N_("required with a title")),
    (r"before the start date", N_("before the start date")),
    (r"after the end date", N_("after the end date")),
    (re.escape(EXISTING_ACCOUNT), N_("already in the portal: this import only creates accounts")),
    (re.escape(EXISTING_CONTRACT), N_("already in the portal: this import only creates contracts")),
    (r"(?P<value>.+) differs from line (?P<line>\d+) \((?P<first>.*)\) for the same account",
     N_("%(value)s differs from line %(line)s (%(first)s) for the same account")),
    (r"(?P<value>.+) differs from line (?P<line>\d+) \((?P<first>.*)\) for the same contract",
     N_("%(value)s differs from line %(line)s (%(first)s) for the same contract")),
    (r"(?P<number>.+) is on line (?P<line>\d+) for another account",
     N_("%(number)s is on line %(line)s for another account")),
)


def in_words(message: str) -> str:
    """A problem's message in the language of the page being written, when it is one
    this import may give; else as it is."""
    return imports_in_words(message, _WORDS)


# --- the upload page's import, in the background ------------------------------------------


def ask_for_import(session: Session, by: User, filename: str, content: bytes) -> Job:
    """Create an uploaded file's accounts in the background, as the command does (the job
    ``account_import``, started by the administrator ``by``, who follows it), once this
    unit of work commits. The file is kept with the job until it ends."""
    from portal.jobs import attach_file, enqueue

    row = enqueue(session, "account_import", by=by, filename=filename)
    attach_file(session, row, filename, content)
    return row


# --- the command ---------------------------------------------------------------------------


def run_account_import(session: Session, path: str, by: User) -> None:
    """``flask import accounts FILE``: create the file's accounts and commit, printing
    the counts; or print one line per problem and exit 2 with nothing written."""
    run_file_import(session, path, lambda content: create_accounts(session, by, read_accounts_file(content),
                                                                   progress=terminal_progress))
