"""The invoices API (api.md): the list with ``?status=`` (overdue included) and cursor
pages, an invoice with its lines and credit notes, money as decimal strings in the
currency's decimals, and disputes (client only, 201 with the billing request linked
to the invoice; 403, 404, 409 and 422 in the API's error shape).

Another account's ids answering 404 on every id route is proven in ``test_access``."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.models import Invoice, InvoiceLine, InvoiceStatus, RequestCategory, Role, ServiceRequest
from tests.factories import add_invoice, build_account

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
BRAVO_CLIENT = "client.approver@bravo.example"
FIELDS = {"id", "account_id", "contract_id", "number", "service_location", "period_start", "period_end", "issue_date",
          "due_date", "currency", "subtotal", "tax", "total", "po_number", "status", "overdue", "paid_on", "created_at",
          "held"}


# Bravo beside Alpha in every test: no answer may include Bravo's rows.
pytestmark = pytest.mark.beside_alpha("bravo")


def error_of(response) -> dict:
    assert set(response.json) == {"error"}, response.json
    return response.json["error"]


# --- the list ------------------------------------------------------------------------------------


def test_a_client_lists_its_own_invoices_newest_first(session, worlds, client, auth):
    alpha, _bravo = worlds
    add_invoice(session, alpha, "INV-OLD", days_ago=40)
    add_invoice(session, alpha, "INV-MID", days_ago=20)
    session.commit()
    response = client.get("/api/v1/invoices", headers=auth(CLIENT))
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert [i["number"] for i in body["items"]] == ["INV-Alpha-0001", "INV-MID", "INV-OLD"]
    first = body["items"][0]
    assert set(first) == FIELDS
    assert first["account_id"] == alpha.account.id
    assert (first["subtotal"], first["tax"], first["total"]) == ("1000.00", "200.00", "1200.00")
    assert first["status"] == "issued" and first["overdue"] is False and first["po_number"] == "PO-Alpha"
    assert first["issue_date"] == alpha.account.today().isoformat()
    assert first["created_at"].endswith("Z")


@pytest.mark.parametrize(("status", "expected"), [
    ("overdue", ["INV-LATE"]),
    ("paid", ["INV-PAID"]),
    ("disputed", ["INV-DISPUTED"]),
    ("credited", ["INV-CREDITED"]),
    ("issued", ["INV-Alpha-0001", "INV-LATE"]),
])
def test_the_list_filters_by_status(session, alpha, client, auth, status, expected):
    add_invoice(session, alpha, "INV-LATE", days_ago=31, due_in=30)  # due yesterday
    add_invoice(session, alpha, "INV-PAID", days_ago=60, status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-DISPUTED", days_ago=61, status=InvoiceStatus.DISPUTED)
    add_invoice(session, alpha, "INV-CREDITED", days_ago=62, status=InvoiceStatus.CREDITED)
    session.commit()
    items = client.get(f"/api/v1/invoices?status={status}", headers=auth(CLIENT)).json["items"]
    assert [i["number"] for i in items] == expected
    if status == "overdue":
        assert items[0]["overdue"] is True and items[0]["status"] == "issued"


@pytest.mark.parametrize(("timezone_name", "overdue"), [("Asia/Shanghai", True), ("America/New_York", False)])
def test_overdue_follows_the_accounts_date(session, alpha, client, auth, monkeypatch, timezone_name, overdue):
    """At 17:00 UTC on 25 November it is the 26th in Shanghai, still the 25th in New York."""
    alpha.account.timezone = timezone_name
    invoice = alpha["invoice"]
    invoice.issue_date, invoice.due_date = date(2026, 10, 26), date(2026, 11, 25)
    session.commit()
    monkeypatch.setattr("portal.models.account.utcnow", lambda: datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc))
    headers = auth(CLIENT)
    items = client.get("/api/v1/invoices?status=overdue", headers=headers).json["items"]
    assert [i["number"] for i in items] == ([invoice.number] if overdue else [])
    assert client.get(f"/api/v1/invoices/{invoice.id}", headers=headers).json["overdue"] is overdue


@pytest.mark.parametrize("status", ["late", "OVERDUE", "issued,paid"])
def test_an_unknown_status_filter_is_a_422(alpha, client, auth, status):
    response = client.get("/api/v1/invoices", query_string={"status": status}, headers=auth(CLIENT))
    assert response.status_code == 422
    assert "status" in error_of(response)["fields"]


def test_cursor_pages_walk_every_invoice_once_newest_first(session, alpha, client, auth):
    for n in range(30):  # several on one day: the id breaks the tie
        add_invoice(session, alpha, f"INV-P-{n:02d}", days_ago=n // 4 + 1)
    session.commit()
    expected = session.scalars(sa.select(Invoice.number).where(Invoice.account_id == alpha.account.id)
                               .order_by(Invoice.issue_date.desc(), Invoice.id.desc())).all()
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/invoices", query_string=query, headers=auth(FINANCE)).json
        assert len(body["items"]) <= 7
        seen += [i["number"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and seen == expected and len(seen) == 31


@pytest.mark.parametrize("query", [{"cursor": "not-a-cursor"}, {"cursor": "WzEsMiwzXQ"}, {"cursor": "WyJ4IiwgMV0"}])
def test_a_bad_cursor_is_a_400(alpha, client, auth, query):
    response = client.get("/api/v1/invoices", query_string=query, headers=auth(CLIENT))
    assert response.status_code == 400 and error_of(response)["code"] == "bad_cursor"


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_a_bad_limit_is_a_422(alpha, client, auth, limit):
    response = client.get("/api/v1/invoices", query_string={"limit": limit}, headers=auth(CLIENT))
    assert response.status_code == 422 and "limit" in error_of(response)["fields"]


def test_the_firm_lists_the_invoices_of_its_accounts(session, worlds, client, auth):
    alpha, bravo = worlds
    numbers = {i["number"] for i in client.get("/api/v1/invoices", headers=auth(FINANCE)).json["items"]}
    assert numbers == {"INV-Alpha-0001"}  # finance@alpha is assigned to Alpha only
    assert client.get("/api/v1/invoices").status_code == 401


# --- an invoice ----------------------------------------------------------------------------------


def test_an_invoice_comes_with_its_lines_and_credit_notes(alpha, client, auth):
    invoice = alpha["invoice"]
    response = client.get(f"/api/v1/invoices/{invoice.id}", headers=auth(VIEWER))
    assert response.status_code == 200
    body = response.json
    assert set(body) == FIELDS | {"lines", "credit_notes", "outstanding"}
    assert body["lines"] == [{"description": "Payroll", "quantity": "100", "unit_price": "10.00", "amount": "1000.00",
                              "scope_line_id": None, "expected_unit_price": None}]
    assert body["credit_notes"] == [{"number": "CN-Alpha-0001", "issue_date": invoice.issue_date.isoformat(),
                                     "amount": "120.00", "reason": "Correction"}]
    assert body["outstanding"] == "1080.00"
    assert body["paid_on"] is None and body["contract_id"] == alpha["contract"].id


def test_vnd_amounts_are_strings_without_decimals(session, client, auth):
    world = build_account(session, "Alpha", currency="VND")
    big = add_invoice(session, world, "INV-VND", total="1250000000", currency="VND")
    session.add(InvoiceLine(account_id=world.account.id, invoice_id=big.id, description="Payroll, Hanoi",
                            quantity=Decimal("2.5"), unit_price=Decimal("500000000"), amount=Decimal("1250000000")))
    session.commit()
    body = client.get(f"/api/v1/invoices/{big.id}", headers=auth(CLIENT)).json
    assert (body["subtotal"], body["tax"], body["total"], body["outstanding"]) == ("1250000000", "0", "1250000000",
                                                                                  "1250000000")
    assert body["lines"] == [{"description": "Payroll, Hanoi", "quantity": "2.5", "unit_price": "500000000",
                              "amount": "1250000000", "scope_line_id": None, "expected_unit_price": None}]
    listed = client.get("/api/v1/invoices", headers=auth(CLIENT)).json["items"]
    assert {i["number"]: i["total"] for i in listed} == {"INV-VND": "1250000000", "INV-Alpha-0001": "1200"}


def test_callers_of_one_kind_share_the_lists_statement_but_each_gets_their_own_rows(session, worlds, admin, client,
                                                                                     auth):
    """The list's statement is built once per kind of caller (one account, several, every
    one) and run with the caller's accounts as its parameters: callers of each kind, one
    after the other and page after page, get exactly their own accounts' invoices."""
    from portal.admin.service import assign

    alpha, bravo = worlds
    for day in range(3):
        add_invoice(session, alpha, f"INV-A-{day}", days_ago=day + 1)
        add_invoice(session, bravo, f"INV-B-{day}", days_ago=day + 1)
    assign(session, bravo.user(Role.FINANCE), alpha.account)  # a firm user of two accounts
    session.commit()
    both = {alpha.account.id, bravo.account.id}

    def listed(email: str) -> list[dict]:
        items, cursor = [], None
        while True:
            body = client.get("/api/v1/invoices", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                              headers=auth(email)).json
            items += body["items"]
            if not (cursor := body["next_cursor"]):
                return items

    for email, expected in ((CLIENT, {alpha.account.id}), (BRAVO_CLIENT, {bravo.account.id}),
                            (FINANCE, {alpha.account.id}), ("finance@bravo.example", both),
                            ("admin@firm.example", both), (CLIENT, {alpha.account.id})):
        items = listed(email)
        assert len({item["id"] for item in items}) == len(items), email  # no page repeats another's rows
        assert {item["account_id"] for item in items} == expected, email


def test_another_accounts_invoice_is_not_found(worlds, client, auth):
    _alpha, bravo = worlds
    other = bravo["invoice"].id
    assert client.get(f"/api/v1/invoices/{other}", headers=auth(CLIENT)).status_code == 404
    response = client.post(f"/api/v1/invoices/{other}/dispute", json={"reason": "Wrong"}, headers=auth(CLIENT))
    assert response.status_code == 404 and error_of(response)["code"]
    assert bravo["invoice"].status is InvoiceStatus.ISSUED


# --- disputes ------------------------------------------------------------------------------------


def test_a_client_disputes_an_invoice(session, alpha, client, auth):
    invoice = alpha["invoice"]
    response = client.post(f"/api/v1/invoices/{invoice.id}/dispute", json={"reason": "The VAT is doubled."},
                           headers=auth(CLIENT))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["invoice_id"] == invoice.id and body["account_id"] == alpha.account.id
    assert body["category"] == "billing" and body["status"] == "open" and body["sla_due_at"].endswith("Z")
    assert body["subject"] == f"Dispute of invoice {invoice.number}"
    session.rollback()
    enquiry = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == body["id"]))
    assert enquiry.invoice_id == invoice.id and enquiry.category is RequestCategory.BILLING
    shown = client.get(f"/api/v1/invoices/{invoice.id}", headers=auth(CLIENT)).json
    assert shown["status"] == "disputed"
    disputed = client.get("/api/v1/invoices?status=disputed", headers=auth(CLIENT)).json["items"]
    assert [i["number"] for i in disputed] == [invoice.number]
    again = client.post(f"/api/v1/invoices/{invoice.id}/dispute", json={"reason": "Again"}, headers=auth(CLIENT))
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"


def test_disputed_lines_are_named_in_the_enquiry(session, alpha, client, auth):
    invoice = alpha["invoice"]
    line = invoice.lines[0]
    response = client.post(f"/api/v1/invoices/{invoice.id}/dispute",
                           json={"reason": "Too many payslips.", "line_ids": [line.id, 999999]}, headers=auth(VIEWER))
    assert response.status_code == 201
    assert response.json["description"] == "Too many payslips.\n\n- Payroll: 100 × 10"


def test_a_paid_invoice_cannot_be_disputed(session, alpha, client, auth):
    paid = add_invoice(session, alpha, "INV-PAID", days_ago=40, status=InvoiceStatus.PAID)
    session.commit()
    response = client.post(f"/api/v1/invoices/{paid.id}/dispute", json={"reason": "Wrong"}, headers=auth(CLIENT))
    assert response.status_code == 409
    assert error_of(response)["message"] == "Only an unpaid invoice can be disputed."
    session.rollback()
    assert session.scalar(sa.select(ServiceRequest).where(ServiceRequest.invoice_id == paid.id)) is None


@pytest.mark.parametrize("email", [AM, FINANCE])
def test_the_firm_cannot_dispute(session, alpha, client, auth, email):
    invoice = alpha["invoice"]
    response = client.post(f"/api/v1/invoices/{invoice.id}/dispute", json={"reason": "Wrong"}, headers=auth(email))
    assert response.status_code == 403 and error_of(response)
    session.rollback()
    assert session.scalar(sa.select(Invoice.status).where(Invoice.id == invoice.id)) is InvoiceStatus.ISSUED


@pytest.mark.parametrize(("body", "field"), [({}, "reason"), ({"reason": ""}, "reason"),
                                             ({"reason": "x" * 5001}, "reason"),
                                             ({"reason": "Wrong", "line_ids": "all"}, "line_ids")])
def test_a_dispute_without_a_valid_reason_is_a_422(session, alpha, client, auth, body, field):
    response = client.post(f"/api/v1/invoices/{alpha['invoice'].id}/dispute", json=body, headers=auth(CLIENT))
    assert response.status_code == 422 and field in error_of(response)["fields"]


def test_a_blank_reason_is_a_422(session, alpha, client, auth):
    response = client.post(f"/api/v1/invoices/{alpha['invoice'].id}/dispute", json={"reason": "   "},
                           headers=auth(CLIENT))
    assert response.status_code == 422
    session.rollback()
    assert session.scalar(sa.select(Invoice.status).where(Invoice.id == alpha["invoice"].id)) is InvoiceStatus.ISSUED


def test_a_dispute_that_is_not_json_is_a_400(alpha, client, auth):
    response = client.post(f"/api/v1/invoices/{alpha['invoice'].id}/dispute", data="reason=Wrong",
                           headers={**auth(CLIENT), "Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["code"] == "malformed_json"
