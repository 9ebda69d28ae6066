"""Onboarding through the API as api.md gives it: ``POST /accounts`` and ``PATCH
/accounts/{id}``, ``GET``/``POST /accounts/{id}/contracts``, ``GET``/``PATCH
/contracts/{id}``, the PO register (``GET``/``POST /accounts/{id}/purchase-orders``,
``PATCH /purchase-orders/{id}``): who may (403 for a role that may not, 404 for another account's
object), each bad field named by its path (422), scope line ids kept across edits, a
signed contract's scope left to change requests, and the firm's approval threshold
kept from client users.

Every id route answering 404 to another account's users is proven in ``test_access``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.models import Account, AuditEvent, Contract, PurchaseOrder, ScopeLine
from tests.helpers import assert_error, latest

ADMIN = "admin@firm.example"
AM = "account.manager@alpha.example"
BRAVO_AM = "account.manager@bravo.example"
FINANCE = "finance@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"

HANOI = {
    "name": {"en": "Song Hong Garment JSC", "vi": "Công ty Cổ phần May Sông Hồng"},
    "country": "VN", "tier": "key", "timezone": "Asia/Ho_Chi_Minh", "currency": "VND",
    "document_languages": ["en", "vi"], "approval_threshold": "250000000",
    "address": {"en": "105 Nguyen Du, Hanoi", "vi": "105 Nguyễn Du, Hà Nội"}, "tax_id": "0101234567",
    "representative": {"name": {"en": "Nguyen Van An", "vi": "Nguyễn Văn An"}, "title": "General Director"},
}


def contract_body(**changes) -> dict:
    today = date.today()
    return {
        "number": "MSA-ALPHA-2027", "title": {"en": "Payroll and HR services"},
        "signed_on": None, "start_date": (today - timedelta(days=10)).isoformat(),
        "end_date": (today + timedelta(days=720)).isoformat(), "currency": "USD",
        "governing_law": "Laws of England and Wales",
        "locations": [{"country": "GB", "entity_name": "Alpha Ltd"}, {"country": "sg"}],
        "scope_lines": [{"service": "Payroll", "quantity": "1200", "unit": "payslip", "unit_price": "4.50"},
                        {"service": {"en": "Help desk"}, "quantity": 12, "unit": "month", "unit_price": "900"}],
        **changes,
    }


# Bravo and the firm's admin beside Alpha in every test.
pytestmark = pytest.mark.beside_alpha("bravo", "admin")


def accounts_url(world) -> str:
    return f"/api/v1/accounts/{world.account.id}"


# --- accounts --------------------------------------------------------------------------------


def test_the_admin_creates_an_account_and_finds_it_in_the_list(client, session, alpha, auth):
    answer = client.post("/api/v1/accounts", json=HANOI, headers=auth(ADMIN))
    assert answer.status_code == 201, answer.json
    account = answer.json
    # Known by its registered name: a company in Vietnam by its Vietnamese one.
    assert account["id"] == account["account_id"] and account["name"] == "Công ty Cổ phần May Sông Hồng"
    assert account["names"] == {"en": "Song Hong Garment JSC", "vi": "Công ty Cổ phần May Sông Hồng"}
    assert (account["country"], account["tier"], account["currency"], account["approval_threshold"]) == (
        "VN", "key", "VND", "250000000")
    assert account["representative"] == {"name": {"en": "Nguyen Van An", "vi": "Nguyễn Văn An"},
                                         "title": {"en": "General Director"}}
    assert account["address"]["vi"] == "105 Nguyễn Du, Hà Nội" and account["tax_id"] == "0101234567"
    listed = client.get("/api/v1/accounts", headers=auth(ADMIN)).json["items"]
    assert account in listed
    assert latest(session).scalar(sa.select(AuditEvent.action).where(AuditEvent.account_id == account["id"])) == \
        "account.created"


def test_an_account_needs_only_its_name_country_time_zone_and_currency(client, alpha, auth):
    body = {"name": "Delta Logistics Pte Ltd", "country": "SG", "timezone": "Asia/Singapore", "currency": "SGD"}
    account = client.post("/api/v1/accounts", json=body, headers=auth(ADMIN)).json
    assert (account["tier"], account["document_languages"], account["approval_threshold"]) == (
        "standard", ["en"], "50000.00")
    assert account["address"] == {} and account["representative"] == {"name": {}, "title": {}}


@pytest.mark.parametrize("email", [AM, FINANCE, CLIENT])
def test_only_the_admin_creates_accounts(client, alpha, auth, email):
    assert_error(client.post("/api/v1/accounts", json=HANOI, headers=auth(email)), 403)


@pytest.mark.parametrize("change, fields", [
    ({"name": {"en": " "}}, {"name.en", "name.vi"}),  # and one in each document language
    ({"name": {"en": "Song Hong", "fr": "Sông Hồng"}}, None),  # not a language of the portal: pydantic names it
    ({"document_languages": ["en", "vi"], "name": {"en": "Song Hong"}}, {"name.vi"}),
    ({"country": "XX", "timezone": "Mars/Base", "currency": "ABC"}, {"country", "timezone", "currency"}),
    ({"approval_threshold": "-1"}, {"approval_threshold"}),
    ({"approval_threshold": "lots"}, {"approval_threshold"}),
    ({"representative": {"title": "General Director"}}, {"representative.name"}),
    ({"name": {"en": "account alpha"}, "document_languages": ["en"]}, {"name.en"}),  # taken, whatever its case
    ({"tier": "gold"}, {"tier"}),
])
def test_a_bad_account_is_a_422_naming_each_field_and_nothing_is_made(client, session, alpha, auth, change, fields):
    error = assert_error(client.post("/api/v1/accounts", json={**HANOI, **change}, headers=auth(ADMIN)), 422)
    if fields is None:
        assert any(name.startswith("name.") for name in error["fields"]), error["fields"]
    else:
        assert set(error["fields"]) == fields, error["fields"]
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(Account)) == 2


def test_the_account_manager_patches_some_fields_and_keeps_the_others(client, session, alpha, auth):
    answer = client.patch(accounts_url(alpha), json={
        "tax_id": "GB123456789", "name": {"en": "Account Alpha", "zh": "阿尔法公司"},
        "representative": {"name": "Li Wei", "title": {"en": "Director", "zh": "董事"}}}, headers=auth(AM))
    assert answer.status_code == 200, answer.json
    account = answer.json
    assert account["tax_id"] == "GB123456789" and account["names"] == {"en": "Account Alpha", "zh": "阿尔法公司"}
    assert account["representative"] == {"name": {"en": "Li Wei"}, "title": {"en": "Director", "zh": "董事"}}
    assert (account["country"], account["timezone"], account["currency"]) == ("GB", "UTC", "USD")
    [event] = latest(session).scalars(sa.select(AuditEvent).where(AuditEvent.action == "account.updated")).all()
    assert set(event.data["changed"]) == {"tax_id", "legal_names", "representative_name", "representative_title"}
    # A title alone replaces the title and keeps the name; null clears the representative.
    again = client.patch(accounts_url(alpha), json={"representative": {"title": "Managing Director"}}, headers=auth(AM))
    assert again.json["representative"] == {"name": {"en": "Li Wei"}, "title": {"en": "Managing Director"}}
    cleared = client.patch(accounts_url(alpha), json={"representative": None}, headers=auth(AM))
    assert cleared.json["representative"] == {"name": {}, "title": {}} and cleared.json["tax_id"] == "GB123456789"


def test_a_name_taken_by_an_account_the_manager_cannot_see_is_a_422_not_a_500(client, session, alpha, auth):
    error = assert_error(client.patch(accounts_url(alpha), json={"name": {"en": "ACCOUNT BRAVO"}}, headers=auth(AM)), 422)
    assert error["fields"] == {"name.en": "an account with this name exists"}


def test_a_representative_title_without_a_name_is_refused_on_patch(client, alpha, auth):
    error = assert_error(client.patch(accounts_url(alpha), json={"representative": {"title": "Director"}},
                                      headers=auth(AM)), 422)
    assert error["fields"] == {"representative.name": "required with a title"}


def test_a_patch_naming_nothing_changes_nothing(client, session, alpha, auth):
    before = client.get("/api/v1/accounts", headers=auth(AM)).json["items"]
    assert client.patch(accounts_url(alpha), json={}, headers=auth(AM)).json in before
    assert latest(session).scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.updated")) is None


@pytest.mark.parametrize("email", [FINANCE, REVIEWER, CLIENT, VIEWER])
def test_roles_that_may_not_edit_an_account_get_403(client, alpha, auth, email):
    assert_error(client.patch(accounts_url(alpha), json={"tax_id": "X"}, headers=auth(email)), 403)


def test_an_account_manager_of_another_account_gets_404_as_for_a_missing_one(client, session, alpha, auth):
    assert_error(client.patch(accounts_url(alpha), json={"tax_id": "X"}, headers=auth(BRAVO_AM)), 404)
    assert_error(client.patch("/api/v1/accounts/987654", json={"tax_id": "X"}, headers=auth(BRAVO_AM)), 404)
    assert latest(session).scalar(sa.select(Account.tax_id).where(Account.id == alpha.account.id)) == ""


def test_client_users_do_not_see_the_firms_approval_threshold(client, alpha, auth):
    [mine] = client.get("/api/v1/accounts", headers=auth(CLIENT)).json["items"]
    assert "approval_threshold" not in mine and mine["currency"] == "USD" and mine["names"] == {"en": "Account Alpha"}
    [theirs] = client.get("/api/v1/accounts", headers=auth(FINANCE)).json["items"]
    assert theirs["approval_threshold"] == "50000.00"
    assert {"id", "account_id", "name", "country", "tier", "timezone", "document_languages"} <= set(mine)


# --- contracts ---------------------------------------------------------------------------------


def test_a_contract_is_created_with_its_lines_and_read_back_by_the_client(client, session, alpha, auth):
    answer = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=auth(AM))
    assert answer.status_code == 201, answer.json
    contract = answer.json
    lines = contract["scope_lines"]
    assert [(line["service"], line["quantity"], line["unit"], line["unit_price"], line["active"]) for line in lines] == [
        ({"en": "Payroll"}, "1200", "payslip", "4.50", True), ({"en": "Help desk"}, "12", "month", "900.00", True)]
    assert all(isinstance(line["id"], int) for line in lines)
    assert contract["annual_value"] == "16200.00" and contract["state"] == "active"
    assert contract["locations"] == [{"country": "GB", "entity_name": "Alpha Ltd"}, {"country": "SG", "entity_name": ""}]
    assert contract["governing_law"] == {"en": "Laws of England and Wales"} and contract["signed_on"] is None
    assert contract["account_id"] == alpha.account.id
    read = client.get(f"/api/v1/contracts/{contract['id']}", headers=auth(CLIENT))
    assert read.status_code == 200 and read.json == contract
    listed = client.get(f"{accounts_url(alpha)}/contracts", headers=auth(FINANCE)).json
    assert [c["number"] for c in listed["items"]] == ["MSA-ALPHA-2027", "MSA-Alpha-001"] and listed["next_cursor"] is None


def test_a_patch_keeps_the_lines_named_by_id_and_drops_the_others_of_an_unsigned_contract(client, session, alpha, auth):
    created = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=auth(AM)).json
    payroll, help_desk = created["scope_lines"]
    answer = client.patch(f"/api/v1/contracts/{created['id']}", json={"scope_lines": [
        {"id": help_desk["id"], "service": "Help desk, 24/7", "quantity": "12", "unit": "month", "unit_price": "1100"},
        {"service": "Onboarding", "quantity": "1", "unit": "project", "unit_price": "5000"}]}, headers=auth(AM))
    assert answer.status_code == 200, answer.json
    lines = answer.json["scope_lines"]
    assert lines[0]["id"] == help_desk["id"] and lines[0]["service"] == {"en": "Help desk, 24/7"}
    assert lines[1]["id"] not in (payroll["id"], help_desk["id"]) and len(lines) == 2
    assert answer.json["annual_value"] == "18200.00"  # the sum of the lines, again
    assert answer.json["title"] == created["title"] and answer.json["number"] == created["number"]
    assert latest(session).scalar(sa.select(ScopeLine).where(ScopeLine.id == payroll["id"])) is None


def test_an_annual_value_typed_in_stays_when_the_lines_change(client, alpha, auth):
    created = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(annual_value="20000"),
                          headers=auth(AM)).json
    assert created["annual_value"] == "20000.00"
    [payroll, _help_desk] = created["scope_lines"]
    answer = client.patch(f"/api/v1/contracts/{created['id']}", json={"scope_lines": [
        {"id": payroll["id"], "service": "Payroll", "quantity": "1200", "unit": "payslip", "unit_price": "4.50"}]},
        headers=auth(AM))
    assert answer.json["annual_value"] == "20000.00"


def test_a_signed_contracts_scope_changes_only_by_change_request(client, session, alpha, auth):
    contract = alpha["contract"]
    url = f"/api/v1/contracts/{contract.id}"
    [line] = client.get(url, headers=auth(AM)).json["scope_lines"]
    error = assert_error(client.patch(url, json={"scope_lines": [{**line, "quantity": "150"}]}, headers=auth(AM)), 422)
    assert error["fields"] == {"scope_lines": "changed on a signed contract"}
    assert "change request" in error["message"]
    error = assert_error(client.patch(url, json={"signed_on": None}, headers=auth(AM)), 422)
    assert error["fields"] == {"signed_on": "a signed contract stays signed"}
    same = client.patch(url, json={"scope_lines": [line], "title": {"en": "Services for Alpha, renewed"},
                                   "end_date": (date.today() + timedelta(days=400)).isoformat()}, headers=auth(AM))
    assert same.status_code == 200, same.json
    assert same.json["scope_lines"] == [line] and same.json["title"] == {"en": "Services for Alpha, renewed"}


def test_a_removed_line_is_listed_inactive(client, session, alpha, auth):
    line = alpha["scope_line"]
    line.removed_at = sa.func.now()
    session.commit()
    [read] = client.get(f"/api/v1/contracts/{alpha['contract'].id}", headers=auth(VIEWER)).json["scope_lines"]
    assert read["id"] == line.id and read["active"] is False


@pytest.mark.parametrize("change, field", [
    ({"number": "MSA-Bravo-001"}, "number"),  # another account's, unseen: numbers are unique across accounts
    ({"number": " "}, "number"),
    ({"title": {"en": ""}}, "title.en"),
    ({"end_date": "2020-01-01"}, "end_date"),
    ({"currency": "XYZ"}, "currency"),
    ({"locations": [{"country": "GB"}, {"country": "gb"}]}, "locations.1.country"),
    ({"locations": [{"country": "Atlantis"}]}, "locations.0.country"),
    ({"scope_lines": [{"service": "Payroll", "quantity": "0", "unit": "payslip", "unit_price": "4"}]},
     "scope_lines.0.quantity"),
    ({"scope_lines": [{"service": "Payroll", "quantity": "1", "unit": "", "unit_price": "4"}]}, "scope_lines.0.unit"),
    ({"scope_lines": [{"service": "Payroll", "quantity": "1", "unit": "x", "unit_price": "-4"}]},
     "scope_lines.0.unit_price"),
    ({"scope_lines": [{"id": 987654, "service": "Payroll", "quantity": "1", "unit": "x", "unit_price": "4"}]},
     "scope_lines.0.id"),
    ({"start_date": "not a date"}, "start_date"),
])
def test_a_bad_contract_is_a_422_naming_its_field(client, session, alpha, auth, change, field):
    error = assert_error(client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(**change),
                                     headers=auth(AM)), 422)
    assert field in error["fields"], error["fields"]
    assert latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027")) is None


def test_a_line_of_another_contract_cannot_be_claimed_by_id(client, alpha, auth):
    created = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=auth(AM)).json
    other = alpha["scope_line"].id  # a line of Alpha's other contract
    error = assert_error(client.patch(f"/api/v1/contracts/{created['id']}", json={"scope_lines": [
        {"id": other, "service": "Payroll", "quantity": "1", "unit": "x", "unit_price": "4"}]}, headers=auth(AM)), 422)
    assert error["fields"] == {"scope_lines.0.id": "not a scope line of this contract"}


@pytest.mark.parametrize("email", [FINANCE, REVIEWER, CLIENT])
def test_roles_that_may_not_write_contracts_get_403(client, alpha, auth, email):
    assert_error(client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=auth(email)), 403)
    assert_error(client.patch(f"/api/v1/contracts/{alpha['contract'].id}", json={"number": "X"}, headers=auth(email)), 403)


def test_clients_do_not_list_the_contracts_but_read_each(client, alpha, auth):
    assert_error(client.get(f"{accounts_url(alpha)}/contracts", headers=auth(CLIENT)), 403)
    assert client.get(f"/api/v1/contracts/{alpha['contract'].id}", headers=auth(CLIENT)).status_code == 200


def test_another_accounts_contract_is_404_to_read_list_and_write(client, session, bravo, alpha, auth):
    theirs = bravo["contract"].id
    assert_error(client.get(f"/api/v1/contracts/{theirs}", headers=auth(CLIENT)), 404)
    assert_error(client.get(f"/api/v1/accounts/{bravo.account.id}/contracts", headers=auth(AM)), 404)
    assert_error(client.post(f"/api/v1/accounts/{bravo.account.id}/contracts", json=contract_body(), headers=auth(AM)), 404)
    assert_error(client.patch(f"/api/v1/contracts/{theirs}", json={"number": "X"}, headers=auth(AM)), 404)
    assert latest(session).scalar(sa.select(Contract.number).where(Contract.id == theirs)) == "MSA-Bravo-001"


def test_a_retried_post_with_the_same_idempotency_key_makes_one_contract(client, session, alpha, auth):
    headers = {**auth(AM), "Idempotency-Key": "contract-1"}
    first = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=headers)
    again = client.post(f"{accounts_url(alpha)}/contracts", json=contract_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and again.json == first.json
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(Contract)
                                  .where(Contract.number == "MSA-ALPHA-2027")) == 1


# --- the PO register -------------------------------------------------------------------------------


def test_the_po_register_lists_each_po_with_what_is_invoiced_and_what_remains(client, alpha, auth):
    for email in (AM, FINANCE, ADMIN):
        answer = client.get(f"{accounts_url(alpha)}/purchase-orders", headers=auth(email))
        assert answer.status_code == 200, answer.json
        [order] = answer.json["items"]
        assert answer.json["next_cursor"] is None
        assert order == {
            "id": alpha["purchase_order"].id, "account_id": alpha.account.id, "number": "PO-Alpha", "description": "",
            "contract_id": alpha["contract"].id, "currency": "USD", "amount": "50000.00",
            "issued_on": alpha["purchase_order"].issued_on.isoformat(), "valid_until": None,
            "invoiced": "1080.00", "remaining": "48920.00"}  # invoiced 1,200 less 120 credited


def test_the_account_manager_adds_a_po_and_corrects_it_each_an_audit_event(client, session, alpha, auth):
    answer = client.post(f"{accounts_url(alpha)}/purchase-orders", headers=auth(AM), json={
        "number": " PO-2027-01 ", "amount": "30000.005", "valid_until": "2027-12-31", "description": "Payroll 2027",
        "contract_id": alpha["contract"].id})
    assert answer.status_code == 201, answer.json
    added = answer.json
    assert (added["number"], added["amount"], added["currency"], added["issued_on"], added["invoiced"],
            added["remaining"]) == ("PO-2027-01", "30000.01", "USD", alpha.account.today().isoformat(), "0.00",
                                    "30000.01")
    changed = client.patch(f"/api/v1/purchase-orders/{added['id']}", json={"amount": "45000", "contract_id": None},
                           headers=auth(ADMIN))
    assert changed.status_code == 200, changed.json
    assert {**added, "amount": "45000.00", "remaining": "45000.00", "contract_id": None} == changed.json
    # The register's own PO keeps what it has been invoiced.
    kept = client.patch(f"/api/v1/purchase-orders/{alpha['purchase_order'].id}", json={"valid_until": "2027-06-30"},
                        headers=auth(AM)).json
    assert (kept["valid_until"], kept["invoiced"], kept["amount"]) == ("2027-06-30", "1080.00", "50000.00")
    session.rollback()
    saved = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purchase_order.saved",
                                                        AuditEvent.object_id == added["id"])
                            .order_by(AuditEvent.id)).all()
    assert [(e.data["before"] and e.data["before"]["amount"], e.data["after"]["amount"]) for e in saved] == [
        (None, "30000.01"), ("30000.01", "45000")]
    listed = client.get(f"{accounts_url(alpha)}/purchase-orders?limit=1", headers=auth(FINANCE)).json
    assert [o["number"] for o in listed["items"]] == ["PO-2027-01"] and listed["next_cursor"]


@pytest.mark.parametrize("body, fields", [
    ({"number": "PO-Alpha", "amount": "10"}, {"number"}),
    ({"number": "", "amount": "0", "currency": "XYZ"}, {"number", "amount", "currency"}),
    ({"number": "PO-9", "amount": "10", "issued_on": "2027-01-10", "valid_until": "2027-01-01"}, {"valid_until"}),
    ({"number": "PO-9", "amount": "10", "description": "x" * 301}, {"description"}),
], ids=["taken", "blank", "dates", "description"])
def test_a_bad_po_is_a_422_naming_each_field_and_nothing_is_made(client, session, alpha, auth, body, fields):
    error = assert_error(client.post(f"{accounts_url(alpha)}/purchase-orders", json=body, headers=auth(AM)), 422)
    assert set(error["fields"]) == fields
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)
                                  .where(PurchaseOrder.account_id == alpha.account.id)) == 1


def test_a_po_cannot_name_another_accounts_contract(client, session, alpha, bravo, auth):
    answer = client.patch(f"/api/v1/purchase-orders/{alpha['purchase_order'].id}",
                          json={"contract_id": bravo["contract"].id}, headers=auth(ADMIN))
    assert set(assert_error(answer, 422)["fields"]) == {"contract_id"}


@pytest.mark.parametrize("email", [FINANCE, REVIEWER, CLIENT, VIEWER])
def test_roles_that_may_not_keep_the_po_register_get_403(client, session, alpha, auth, email):
    order = alpha["purchase_order"]
    assert_error(client.post(f"{accounts_url(alpha)}/purchase-orders", json={"number": "PO-9", "amount": "1"},
                             headers=auth(email)), 403)
    assert_error(client.patch(f"/api/v1/purchase-orders/{order.id}", json={"amount": "1"}, headers=auth(email)), 403)
    if email in (CLIENT, VIEWER):  # the register is the firm's
        assert_error(client.get(f"{accounts_url(alpha)}/purchase-orders", headers=auth(email)), 403)
    assert latest(session).scalar(sa.select(PurchaseOrder.amount).where(PurchaseOrder.id == order.id)) == 50000


def test_another_accounts_po_register_is_404_to_read_and_write(client, session, alpha, bravo, auth):
    theirs = bravo["purchase_order"].id
    assert_error(client.get(f"/api/v1/accounts/{bravo.account.id}/purchase-orders", headers=auth(AM)), 404)
    assert_error(client.post(f"/api/v1/accounts/{bravo.account.id}/purchase-orders",
                             json={"number": "PO-9", "amount": "1"}, headers=auth(AM)), 404)
    assert_error(client.patch(f"/api/v1/purchase-orders/{theirs}", json={"amount": "1"}, headers=auth(AM)), 404)
    assert latest(session).scalar(sa.select(PurchaseOrder.amount).where(PurchaseOrder.id == theirs)) == 50000


def test_the_openapi_document_describes_the_onboarding_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/accounts"]) and "patch" in paths["/accounts/{account_id}"]
    assert {"get", "post"} <= set(paths["/accounts/{account_id}/contracts"])
    assert {"get", "patch"} <= set(paths["/contracts/{contract_id}"])
    assert {"get", "post"} <= set(paths["/accounts/{account_id}/purchase-orders"])
    assert "patch" in paths["/purchase-orders/{purchase_order_id}"]
    assert paths["/accounts"]["post"]["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AccountOut"}


def test_the_openapi_document_says_an_accounts_name_is_the_registered_one(client, alpha, auth):
    name = client.get("/api/v1/openapi.json").json["components"]["schemas"]["AccountOut"]["properties"]["name"]
    assert "registered" in name["description"] and "in English" not in name["description"].split(", else")[0]
    created = client.post("/api/v1/accounts", json=HANOI, headers=auth(ADMIN)).json
    assert created["name"] == "Công ty Cổ phần May Sông Hồng"  # the Vietnamese company's, not the English name
