"""The invoice import (``flask import invoices FILE``, a CSV file or an Excel workbook)
and ``POST /api/v1/invoices``: exact totals in the currency's decimals, upsert by number,
all or nothing per file with each problem named by line and column, credit notes, and
the API's roles, scoping, 422 fields and idempotency."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

import openpyxl
import pytest
import sqlalchemy as sa

from portal.billing.imports import DATE_COLUMNS
from portal.models import Contract, CreditNote, Invoice, InvoiceLine, InvoiceStatus
from tests import helpers
from tests.conftest import ROOT
from tests.factories import build_admin, make_account
from tests.helpers import latest

COLUMNS = ["kind", "number", "account", "contract", "service_location", "period_start", "period_end", "issue_date",
           "due_date", "currency", "line_description", "line_quantity", "line_unit_price", "tax", "po_number", "status",
           "paid_on", "credits", "amount", "reason"]
TODAY = date.today()
PERIOD_START = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
PERIOD_END = TODAY.replace(day=1) - timedelta(days=1)
ISSUED = TODAY.replace(day=1)
DUE = ISSUED + timedelta(days=30)

FINANCE = "finance@alpha.example"
BRAVO_FINANCE = "finance@bravo.example"
CLIENT = "client.approver@alpha.example"


def invoice_row(number: str, account: str = "Account Alpha", **cells) -> dict:
    return {"kind": "invoice", "number": number, "account": account, "service_location": "GB",
            "period_start": PERIOD_START.isoformat(), "period_end": PERIOD_END.isoformat(),
            "issue_date": ISSUED.isoformat(), "due_date": DUE.isoformat(), "currency": "USD", "tax": "0",
            "status": "issued", **cells}


def credit_note_row(number: str, credits: str, amount: str, account: str = "Account Alpha", **cells) -> dict:
    return {"kind": "credit_note", "number": number, "account": account, "issue_date": TODAY.isoformat(),
            "currency": "USD", "credits": credits, "amount": amount, "reason": "Service credit", **cells}


# Line 1 is the header: the rows are lines 2 to 6.
GOOD_ROWS = [
    invoice_row("IMP-A-1", line_description="Payroll, UK", line_quantity="3", line_unit_price="12.3456", tax="7.41",
                po_number="PO-Alpha"),
    invoice_row("IMP-A-1", line_description="Service desk", line_quantity="2.5", line_unit_price="100", tax="7.41",
                po_number="PO-Alpha"),
    invoice_row("IMP-A-2", line_description="Month-end close", line_quantity="1", line_unit_price="500.00", tax="100",
                status="paid", paid_on=TODAY.isoformat()),
    invoice_row("IMP-G-1", account="Account Gamma", service_location="VN", currency="VND",
                line_description="Thuế TNCN / Personal income tax", line_quantity="1.5", line_unit_price="333", tax="50"),
    credit_note_row("CN-IMP-1", credits="IMP-A-2", amount="150.00"),
]


def add_gamma(session) -> None:
    """An Account Gamma in Vietnam with a VND contract and no users, committed."""
    gamma = make_account(session, "Account Gamma", country="VN")
    session.add(Contract(account_id=gamma.id, number="MSA-Gamma-001", title={"en": "Services for Gamma"},
                         start_date=TODAY - timedelta(days=365), end_date=TODAY + timedelta(days=365), currency="VND",
                         annual_value=Decimal("1200000000")))
    session.commit()


@pytest.fixture
def worlds(worlds, session):
    """Alpha and Bravo, and an Account Gamma in Vietnam with a VND contract and no users."""
    add_gamma(session)
    return worlds


# The shared CSV writer and import command, for this module's columns and command.
write_csv = partial(helpers.write_csv, columns=COLUMNS, name="invoices.csv")
import_file = partial(helpers.import_file, kind="invoices")


def xlsx_bytes(rows: list[dict]) -> bytes:
    """A workbook as finance's spreadsheet holds it: dates as date cells, quantities,
    prices and tax as numbers."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    for row in rows:
        cells = []
        for name in COLUMNS:
            value = row.get(name) or None
            if value and name in DATE_COLUMNS:
                value = date.fromisoformat(value)
            elif value and name in ("line_quantity", "line_unit_price", "tax", "amount"):
                value = float(value)
            cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def invoice(session, number: str) -> Invoice:
    return latest(session).scalar(sa.select(Invoice).where(Invoice.number == number))


def row_counts(session) -> tuple[int, int, int]:
    count = lambda model: latest(session).scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    return count(Invoice), count(InvoiceLine), count(CreditNote)


# --- the command ----------------------------------------------------------------------


def test_a_good_file_imports_with_exact_totals_in_the_currencys_decimals(worlds, session, runner, tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    result = import_file(runner, path)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 3 invoices (3 new, 0 updated) and 1 credit note from {path}."
    two_lines = invoice(session, "IMP-A-1")
    assert [(line.description, line.amount) for line in two_lines.lines] == [
        ("Payroll, UK", Decimal("37.0368")), ("Service desk", Decimal("250.0000"))]
    assert (two_lines.subtotal, two_lines.tax, two_lines.total) == (Decimal("287.04"), Decimal("7.41"), Decimal("294.45"))
    assert two_lines.contract_id == worlds[0]["contract"].id  # the account's contract covering the issue date
    assert (two_lines.po_number, two_lines.status) == ("PO-Alpha", InvoiceStatus.ISSUED)
    vnd = invoice(session, "IMP-G-1")
    assert (vnd.subtotal, vnd.tax, vnd.total) == (Decimal(500), Decimal(50), Decimal(550))  # 499.5 rounds half up
    paid = invoice(session, "IMP-A-2")
    assert (paid.status, paid.paid_on, paid.total) == (InvoiceStatus.PAID, TODAY, Decimal("600.00"))
    assert [(n.number, n.amount, n.currency) for n in paid.credit_notes] == [("CN-IMP-1", Decimal("150.00"), "USD")]


def test_importing_a_file_again_updates_in_place_and_replaces_the_lines(worlds, session, runner, tmp_path):
    assert import_file(runner, write_csv(tmp_path, GOOD_ROWS)).exit_code == 0
    ids, counts = {n: invoice(session, n).id for n in ("IMP-A-1", "IMP-A-2", "IMP-G-1")}, row_counts(session)

    result = import_file(runner, write_csv(tmp_path, GOOD_ROWS))
    assert result.exit_code == 0, result.output
    assert "Imported 3 invoices (0 new, 3 updated) and 1 credit note" in result.output
    assert row_counts(session) == counts

    changed = [dict(row, line_quantity="4") if row["number"] == "IMP-A-1" else row for row in GOOD_ROWS]
    assert import_file(runner, write_csv(tmp_path, changed[:1] + changed[2:])).exit_code == 0
    updated = invoice(session, "IMP-A-1")
    assert updated.id == ids["IMP-A-1"]
    assert [(line.quantity, line.amount) for line in updated.lines] == [(Decimal(4), Decimal("49.3824"))]
    assert (updated.subtotal, updated.total) == (Decimal("49.38"), Decimal("56.79"))


def _replace(row_number: int, **cells):
    """The good file with its row on ``row_number`` (the file's line) changed."""
    def change(rows):
        rows = [dict(row) for row in rows]
        rows[row_number - 2].update(cells)
        return rows
    return change


def _append(*extra: dict):
    return lambda rows: rows + list(extra)


BAD_FILES = {
    "bad date": (_replace(4, due_date="2026-02-30"), "line 4: due_date: not a valid date (YYYY-MM-DD)"),
    "date in another format": (_replace(4, issue_date="01/02/2026"), "line 4: issue_date: not a valid date (YYYY-MM-DD)"),
    "unknown account": (_replace(4, account="Account Nobody"), "line 4: account: no such account"),
    "currency mismatch": (_replace(4, currency="EUR"), "line 4: currency: EUR is not the contract's currency (USD)"),
    "missing field": (_replace(5, line_quantity=""), "line 5: line_quantity: required"),
    "missing header field": (_replace(4, service_location=""), "line 4: service_location: required for an invoice"),
    "disagreeing header columns": (_replace(3, due_date=(DUE + timedelta(days=1)).isoformat()),
                                   "line 3: due_date: "),
    "credit note for a missing invoice": (_replace(6, credits="IMP-NONE"), "line 6: credits: no such invoice: IMP-NONE"),
    "over-credit": (_replace(6, amount="600.01"), "line 6: amount: the credit notes of invoice IMP-A-2 would exceed"),
    "over-credit with the database's note": (_append(credit_note_row("CN-IMP-2", "INV-Alpha-0001", "1080.01")),
                                             "line 7: amount: the credit notes of invoice INV-Alpha-0001 would exceed"),
    "credit note of another account's invoice": (_append(credit_note_row("CN-IMP-2", "INV-Bravo-0001", "1.00")),
                                                 "line 7: credits: invoice INV-Bravo-0001 is not an invoice of Account Alpha"),
    "number of another account": (_replace(5, number="INV-Bravo-0001"), "line 5: number: already used by another account"),
    "contract of another account": (_replace(4, contract="MSA-Bravo-001"), "line 4: contract: not a contract of Account Alpha"),
    "negative price": (_replace(2, line_unit_price="-1"), "line 2: line_unit_price: must not be negative"),
}


@pytest.mark.parametrize("change, expected", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_file_with_one_bad_row_writes_nothing_and_names_the_line_and_column(worlds, session, runner, tmp_path,
                                                                             change, expected):
    before = row_counts(session)
    result = import_file(runner, write_csv(tmp_path, change(GOOD_ROWS)))

    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line per problem, and only the one bad row
    assert row_counts(session) == before
    assert invoice(session, "IMP-A-1") is None


def test_every_problem_of_a_file_is_listed_in_line_order(worlds, session, runner, tmp_path):
    rows = _replace(5, account="Nobody")(_replace(2, line_quantity="x")(GOOD_ROWS))
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 2: line_quantity: not a number",
        "line 5: account: no such account",
    ]


def test_a_file_that_is_not_utf8_or_has_an_unknown_column_is_refused(worlds, runner, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(",".join(COLUMNS).encode() + b"\ninvoice,IMP-1,Soci\xe9t\xe9\n")
    result = import_file(runner, str(latin1))
    assert (result.exit_code, result.output.strip()) == (2, "line 2: file: not UTF-8 text")

    typo = tmp_path / "typo.csv"
    typo.write_text("number,account,issue_date,currency,due date\n", encoding="utf-8")
    result = import_file(runner, str(typo))
    assert (result.exit_code, result.output.strip()) == (2, "line 1: due date: unknown column")


def test_an_excel_workbook_imports_as_the_csv_file_does(worlds, session, runner, tmp_path):
    path = tmp_path / "invoices.xlsx"
    path.write_bytes(xlsx_bytes(GOOD_ROWS))
    result = import_file(runner, str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 3 invoices (3 new, 0 updated) and 1 credit note from {path}."
    two_lines = invoice(session, "IMP-A-1")
    assert [(line.quantity, line.unit_price) for line in two_lines.lines] == [
        (Decimal("3"), Decimal("12.3456")), (Decimal("2.5"), Decimal("100"))]
    assert (two_lines.total, two_lines.issue_date) == (Decimal("294.45"), ISSUED)
    assert invoice(session, "IMP-G-1").total == Decimal(550)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_numbers_pasted_from_a_document_import_as_they_read(worlds, session, runner, tmp_path, kind):
    """A number copied out of a Word file or a web page carries invisible characters (the
    portal's documents join a number's parts with word joiners): imported as it reads,
    it is found by its number and updated by the next file rather than doubled."""
    pasted = [dict(row, number=row["number"].replace("-", "-\u2060") + "\u200b",
                   po_number=row.get("po_number", "").replace("PO-", "PO-\u00ad"),
                   credits=row.get("credits", "").replace("-", "-\u2060")) for row in GOOD_ROWS]
    if kind == "csv":
        path = write_csv(tmp_path, pasted)
    else:
        path = tmp_path / "invoices.xlsx"
        path.write_bytes(xlsx_bytes(pasted))
    result = import_file(runner, str(path))
    assert result.exit_code == 0, result.output
    assert invoice(session, "IMP-A-1").po_number == "PO-Alpha"
    assert [n.number for n in invoice(session, "IMP-A-2").credit_notes] == ["CN-IMP-1"]
    counts = row_counts(session)

    assert "0 new, 3 updated" in import_file(runner, write_csv(tmp_path, GOOD_ROWS)).output
    assert row_counts(session) == counts


def test_credit_notes_that_cover_the_total_make_the_invoice_credited(worlds, session, runner, tmp_path):
    # INV-Alpha-0001: 1,200.00, of which CN-Alpha-0001 credits 120.00 already.
    result = import_file(runner, write_csv(tmp_path, [credit_note_row("CN-IMP-9", "INV-Alpha-0001", "1080.00")]))
    assert result.exit_code == 0, result.output
    assert "Imported 0 invoices (0 new, 0 updated) and 1 credit note" in result.output
    assert invoice(session, "INV-Alpha-0001").status is InvoiceStatus.CREDITED


def test_an_open_dispute_stays_open_and_the_billing_status_waits_behind_it(worlds, session, runner, tmp_path):
    disputed = invoice(session, "INV-Alpha-0001")
    disputed.status, disputed.status_before_dispute = InvoiceStatus.DISPUTED, InvoiceStatus.ISSUED
    session.commit()
    row = invoice_row("INV-Alpha-0001", line_description="Payroll", line_quantity="100", line_unit_price="10",
                      tax="200", status="paid", paid_on=TODAY.isoformat())
    assert import_file(runner, write_csv(tmp_path, [row])).exit_code == 0
    updated = invoice(session, "INV-Alpha-0001")
    assert (updated.status, updated.status_before_dispute, updated.paid_on) == (
        InvoiceStatus.DISPUTED, InvoiceStatus.PAID, TODAY)


def test_the_sample_file_imports_into_the_demo_database(runner, session):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    sample = str(ROOT / "portal" / "static" / "samples" / "invoices.csv")
    result = import_file(runner, sample)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 10 invoices (10 new, 0 updated) and 1 credit note from {sample}."
    vnd = invoice(session, "SVT-2026-11-0009")
    assert (vnd.subtotal, vnd.tax, vnd.total) == (Decimal(12475000), Decimal(1247500), Decimal(13722500))
    assert [n.number for n in invoice(session, "ACM-PS-2026-0041").credit_notes] == ["ACM-CN-2026-0007"]


# --- the API ------------------------------------------------------------------------------


def invoice_body(number: str = "API-A-1", account: str = "Account Alpha", **fields) -> dict:
    return {"number": number, "account": account, "service_location": "GB", "period_start": PERIOD_START.isoformat(),
            "period_end": PERIOD_END.isoformat(), "issue_date": ISSUED.isoformat(), "due_date": DUE.isoformat(),
            "currency": "USD", "tax": "20.00", "po_number": "PO-Alpha",
            "lines": [{"description": "Payroll", "quantity": "10", "unit_price": "10.005"}], **fields}


@pytest.fixture
def post(client, auth):
    """``post(email, body)``: ``body`` posted to /api/v1/invoices as that user."""

    def post(email: str, body: dict, **headers):
        return client.post("/api/v1/invoices", json=body, headers={**auth(email), **headers})

    return post


def test_finance_creates_an_invoice_then_updates_it_by_number(worlds, session, post):
    created = post(FINANCE, invoice_body())
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.json
    stored = invoice(session, "API-A-1")
    assert body["kind"] == "invoice"
    assert (body["id"], body["account_id"], body["number"], body["status"]) == (
        stored.id, worlds[0].account.id, "API-A-1", "issued")
    assert (body["currency"], body["subtotal"], body["tax"], body["total"]) == ("USD", "100.05", "20.00", "120.05")
    assert (body["issue_date"], body["due_date"]) == (ISSUED.isoformat(), DUE.isoformat())

    updated = post(FINANCE, invoice_body(tax="0", lines=[{"description": "Payroll", "quantity": 2, "unit_price": "7"}]))
    assert updated.status_code == 200, updated.get_data(as_text=True)
    assert (updated.json["id"], updated.json["total"]) == (stored.id, "14.00")
    assert [line.amount for line in invoice(session, "API-A-1").lines] == [Decimal("14.0000")]


def test_finance_posts_a_credit_note(worlds, session, post):
    response = post(FINANCE, {"kind": "credit_note", "number": "CN-API-1", "account": "Account Alpha",
                              "issue_date": TODAY.isoformat(), "currency": "USD", "credits": "INV-Alpha-0001",
                              "amount": "100", "reason": "Goodwill"})
    assert response.status_code == 201, response.get_data(as_text=True)
    alpha_invoice = worlds[0]["invoice"]
    assert {k: response.json[k] for k in ("kind", "invoice_id", "invoice_number", "amount", "currency")} == {
        "kind": "credit_note", "invoice_id": alpha_invoice.id, "invoice_number": "INV-Alpha-0001", "amount": "100.00",
        "currency": "USD"}


@pytest.mark.parametrize("email", [CLIENT, "client.viewer@alpha.example", "account.manager@alpha.example"])
def test_only_finance_and_admins_post_invoices(worlds, session, post, email):
    response = post(email, invoice_body())
    assert response.status_code == 403
    assert invoice(session, "API-A-1") is None


@pytest.mark.parametrize("change, field", [
    ({"due_date": (ISSUED - timedelta(days=1)).isoformat()}, "due_date"),
    ({"issue_date": "2026-02-30"}, "issue_date"),
    ({"lines": [{"description": "Payroll", "quantity": "ten", "unit_price": "1"}]}, "lines.0.quantity"),
    ({"currency": "EUR"}, "currency"),
    ({"contract": "MSA-Nope"}, "contract"),
])
def test_an_invalid_invoice_gets_422_naming_the_field(worlds, session, post, change, field):
    response = post(FINANCE, invoice_body(**change))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["error"]["fields"]
    assert invoice(session, "API-A-1") is None


def test_a_finance_user_of_another_account_gets_422_account(worlds, session, post):
    response = post(BRAVO_FINANCE, invoice_body())
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"account": "no such account"}
    assert invoice(session, "API-A-1") is None


def test_a_number_of_an_account_the_caller_cannot_see_is_refused(worlds, session, post):
    before = invoice(session, "INV-Alpha-0001").total
    response = post(BRAVO_FINANCE, invoice_body("INV-Alpha-0001", account="Account Bravo"))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["error"]["fields"] == {"number": "already used by another account"}
    again = invoice(session, "INV-Alpha-0001")
    assert (again.account_id, again.total) == (worlds[0].account.id, before)


def test_a_retry_with_the_same_idempotency_key_replays_the_answer(worlds, session, post):
    first = post(FINANCE, invoice_body(), **{"Idempotency-Key": "billing-run-42"})
    replay = post(FINANCE, invoice_body(), **{"Idempotency-Key": "billing-run-42"})
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json == first.json
    other = post(FINANCE, invoice_body(tax="1"), **{"Idempotency-Key": "billing-run-42"})
    assert other.status_code == 422
    assert invoice(session, "API-A-1").tax == Decimal("20.00")


def test_an_admin_may_post_for_any_account(worlds, session, post):
    build_admin(session)
    session.commit()
    response = post("admin@firm.example", invoice_body(account="Account Bravo", number="API-B-1"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["account_id"] == worlds[1].account.id
