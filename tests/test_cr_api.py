"""The change request, amendment, work order and document endpoints of api.md with the
status codes it names: drafting (201), who may do what (403), stale versions and
decided CRs (409), validation naming each field (422), money as decimal strings in the
currency's decimals, ``Idempotency-Key`` on the document endpoints, and downloads.

Another account's ids answering 404 on every id route is proven in ``test_access``;
two spot checks here cover the ids that travel in a body."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.change_requests import service
from portal.models import ChangeRequest, CRStatus, Document, DocumentKind, IdempotencyKey, Role
from tests.factories import build_account, make_user
from tests.helpers import approved_cr, assert_error, latest, post
from tests.docgen.reading import full_text, open_docx

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
FINANCE = "finance@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
ADMIN = "admin@firm.example"
APPROVER_NAME = "Client.Approver"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# Bravo and the firm's admin beside Alpha in every test: no answer may include Bravo's
# rows, and the admin may approve internally.
pytestmark = pytest.mark.beside_alpha("bravo", "admin")


def new_cr(account_id: int, **overrides) -> dict:
    return {
        "account_id": account_id, "title": {"en": "Payroll in Vietnam", "zh": "越南薪资"},
        "description": "Ten more payslips a month.", "in_scope": False, "effective_date": "2027-01-01",
        "lines": [{"change": "add", "description": "Payroll, Vietnam", "quantity": "10", "unit": "payslip",
                   "unit_price": "8.50"}],
        **overrides,
    }


def new_work_order(account_id: int, **overrides) -> dict:
    return {
        "account_id": account_id, "title": {"en": "Year-end payroll audit"}, "description": "Audit of 2026 payroll.",
        "po_number": "PO-7731", "start_date": "2027-01-04", "end_date": "2027-02-26", "languages": ["en"],
        "lines": [{"description": "Audit day", "quantity": "12", "unit": "day", "unit_price": "950.00"}],
        **overrides,
    }


def local_year(world) -> int:
    return datetime.now(ZoneInfo(world.account.timezone)).year


# --- drafting ----------------------------------------------------------------------------


def test_an_account_manager_drafts_on_the_accounts_current_contract(session, alpha, client, auth):
    response = post(client, "/api/v1/change-requests", auth(AM), new_cr(alpha.account.id))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["account_id"], body["contract_id"]) == (alpha.account.id, alpha["contract"].id)
    assert (body["status"], body["version"], body["version_number"]) == ("draft", None, 0)
    assert re.fullmatch(r"CR-\d{4}", body["number"])
    assert body["title"] == {"en": "Payroll in Vietnam", "zh": "越南薪资"}
    assert (body["currency"], body["price_impact"]) == ("USD", "85.00")
    [line] = body["lines"]
    assert (line["change"], line["unit"], line["unit_price"], line["amount"]) == ("add", "payslip", "8.50", "85.00")
    assert (line["old_quantity"], line["old_unit_price"]) == (None, None)
    assert body["effective_date"] == "2027-01-01" and ISO_Z.match(body["created_at"])

    assert client.get(f"/api/v1/change-requests/{body['id']}", headers=auth(AM)).json == body
    listed = client.get("/api/v1/change-requests", headers=auth(AM)).json
    assert listed["items"][0] == body and listed["next_cursor"] is None  # newest first
    stored = latest(session).get(ChangeRequest, body["id"])
    assert stored.created_by_id == alpha.user(Role.ACCOUNT_MANAGER).id


def test_quantities_are_plain_decimal_strings(session, alpha, client, auth):
    body = {"change": "modify", "scope_line_id": alpha["scope_line"].id, "quantity": "120", "unit_price": "10.00"}
    response = post(client, "/api/v1/change-requests", auth(AM), new_cr(alpha.account.id, lines=[body]))
    [line] = response.json["lines"]
    assert (line["quantity"], line["old_quantity"]) == ("120", "100")


def test_a_modify_line_shows_its_old_terms_and_the_difference(session, alpha, client, auth):
    body = {"change": "modify", "scope_line_id": alpha["scope_line"].id, "quantity": "100", "unit_price": "10.25"}
    response = post(client, "/api/v1/change-requests", auth(AM), new_cr(alpha.account.id, lines=[body]))
    assert response.status_code == 201, response.json
    [line] = response.json["lines"]
    assert (line["old_unit_price"], line["unit_price"], line["amount"]) == ("10.00", "10.25", "25.00")
    assert line["description"] == {"en": "Payroll"} and line["scope_line_id"] == alpha["scope_line"].id
    assert response.json["price_impact"] == "25.00"


@pytest.mark.parametrize(("currency", "expected"), [("USD", "85.00"), ("VND", "85"), ("JPY", "85")])
def test_money_is_a_decimal_string_with_the_currencys_decimals(session, client, auth, currency, expected):
    world = build_account(session, currency.title(), currency=currency)
    session.commit()
    response = post(client, "/api/v1/change-requests", auth(f"account.manager@{currency.lower()}.example"),
                    new_cr(world.account.id))
    assert response.status_code == 201, response.json
    assert (response.json["currency"], response.json["price_impact"]) == (currency, expected)
    assert response.json["lines"][0]["amount"] == expected


def test_fields_a_caller_may_not_set_are_ignored(session, alpha, client, auth):
    body = new_cr(alpha.account.id, status="approved", version="0" * 64, price_impact="1.00", number="CR-9999",
                  created_by_id=1, currency="EUR")
    response = post(client, "/api/v1/change-requests", auth(AM), body)
    assert response.status_code == 201
    body = response.json
    assert (body["status"], body["version"], body["price_impact"]) == ("draft", None, "85.00")
    assert body["number"] != "CR-9999" and body["currency"] == "USD"


@pytest.mark.parametrize("email", [CLIENT, VIEWER, FINANCE, REVIEWER])
def test_only_the_firms_issuers_draft(session, alpha, client, auth, email):
    before = session.scalar(sa.select(sa.func.count()).select_from(ChangeRequest))
    assert_error(post(client, "/api/v1/change-requests", auth(email), new_cr(alpha.account.id)), 403, "forbidden")
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == before


def test_a_draft_for_another_account_is_404(session, worlds, client, auth):
    _, bravo = worlds
    assert_error(post(client, "/api/v1/change-requests", auth(AM), new_cr(bravo.account.id)), 404)


def _without(key):
    def change(body):
        del body[key]
        return body
    return change


def _line(**changes):
    def change(body):
        body["lines"][0].update(changes)
        return body
    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(_without("title"), "title", id="missing-title"),
        pytest.param(_without("effective_date"), "effective_date", id="missing-date"),
        pytest.param(lambda b: {**b, "effective_date": "31/12/2026"}, "effective_date", id="bad-date"),
        pytest.param(lambda b: {**b, "lines": []}, "lines", id="no-lines"),
        pytest.param(lambda b: {**b, "title": "   "}, "title", id="blank-title"),
        pytest.param(lambda b: {**b, "title": {"fr": "Paie"}}, "title", id="title-language"),
        pytest.param(_line(change="swap"), "lines.0.change", id="unknown-change"),
        pytest.param(_line(quantity="-1"), "lines.0.quantity", id="negative-quantity"),
        pytest.param(_line(unit_price="8.123456"), "lines.0.unit_price", id="too-many-decimals"),
        pytest.param(_line(unit_price="lots"), "lines.0.unit_price", id="not-a-number"),
        pytest.param(_line(change="remove"), "lines.0.scope_line_id", id="remove-without-line"),
        pytest.param(_line(description=""), "lines.0.description", id="add-without-description"),
        pytest.param(lambda b: {**b, "contract_id": "first"}, "contract_id", id="bad-contract-id"),
    ],
)
def test_a_bad_draft_is_422_naming_the_field(session, alpha, client, auth, change, field):
    response = post(client, "/api/v1/change-requests", auth(AM), change(new_cr(alpha.account.id)))
    error = assert_error(response, 422)
    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error["fields"]


def test_a_body_that_is_not_json_is_400(session, alpha, client, auth):
    response = client.post("/api/v1/change-requests", data=b"{not json", headers=auth(AM),
                           content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_the_list_filters_by_status_and_refuses_an_unknown_one(session, alpha, client, auth):
    post(client, "/api/v1/change-requests", auth(AM), new_cr(alpha.account.id))
    drafts = client.get("/api/v1/change-requests?status=draft", headers=auth(AM)).json["items"]
    pending = client.get("/api/v1/change-requests?status=pending_client_approval", headers=auth(CLIENT)).json["items"]
    assert {item["status"] for item in drafts} == {"draft"} and len(drafts) == 1
    assert [item["id"] for item in pending] == [alpha["change_request"].id]
    assert pending[0]["account_id"] == alpha.account.id and HEX64.match(pending[0]["version"])
    error = assert_error(client.get("/api/v1/change-requests?status=lost", headers=auth(AM)), 422)
    assert set(error["fields"]) == {"status"}


# --- submitting and deciding -------------------------------------------------------------


def drafted(client, auth, world, **overrides) -> dict:
    response = post(client, "/api/v1/change-requests", auth(AM), new_cr(world.account.id, **overrides))
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(
    ("quantity", "status"),
    [("10", "pending_client_approval"), ("5000", "pending_client_approval"), ("6000", "pending_internal_approval")],
)
def test_submit_freezes_a_version_and_routes_by_the_threshold(session, alpha, client, auth, quantity, status):
    lines = [{"change": "add", "description": "Payroll", "quantity": quantity, "unit": "payslip", "unit_price": "10"}]
    cr = drafted(client, auth, alpha, lines=lines)
    response = post(client, f"/api/v1/change-requests/{cr['id']}/submit", auth(AM))
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["version_number"]) == (status, 1)
    assert HEX64.match(response.json["version"]) and ISO_Z.match(response.json["submitted_at"])
    assert latest(session).get(ChangeRequest, cr["id"]).versions[0].content_hash == response.json["version"]


def test_only_issuers_submit_and_a_decided_cr_is_not_submitted_again(session, alpha, client, auth):
    cr = approved_cr(session, alpha)
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/submit", auth(CLIENT)), 403)
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/submit", auth(AM)), 409, "conflict")


def test_the_client_approver_approves_the_current_version(session, alpha, client, auth):
    cr = alpha["change_request"]
    response = post(client, f"/api/v1/change-requests/{cr.id}/approve", auth(CLIENT),
                    {"version": cr.version, "signature_name": " client.\u2060APPROVER "})  # pasted, as it reads
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["version"]) == ("approved", cr.version)
    assert ISO_Z.match(response.json["decided_at"])
    approval = service.client_approval(latest(session).get(ChangeRequest, cr.id))
    assert approval.signature_name == "client.APPROVER" and approval.ip == "127.0.0.1"


@pytest.mark.parametrize(("email", "action"), [(VIEWER, "approve"), (VIEWER, "reject"), (AM, "approve"),
                                                (ADMIN, "approve")])
def test_only_the_client_approver_decides(session, alpha, client, auth, email, action):
    cr = alpha["change_request"]
    body = {"version": cr.version, "signature_name": "Client.Viewer", "reason": "No."}
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/{action}", auth(email), body), 403, "forbidden")
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


def test_an_approval_of_a_stale_version_is_409(session, alpha, client, auth):
    cr = alpha["change_request"]
    old = cr.version
    line = cr.lines[0]
    service.edit(session, cr, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), title=dict(cr.title),
                 description={}, in_scope=False, effective_date=cr.effective_date,
                 lines=[service.LineInput(line.change, dict(line.description), line.unit, line.quantity + 1,
                                          line.unit_price)])
    session.commit()
    response = post(client, f"/api/v1/change-requests/{cr.id}/approve", auth(CLIENT),
                    {"version": old, "signature_name": APPROVER_NAME})
    assert_error(response, 409, "conflict")
    current = post(client, f"/api/v1/change-requests/{cr.id}/approve", auth(CLIENT),
                   {"version": cr.version, "signature_name": APPROVER_NAME})
    assert current.status_code == 200


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("then", ["approve", "reject"])
def test_a_decided_cr_answers_409(session, alpha, client, auth, first, then):
    cr = alpha["change_request"]
    body = {"version": cr.version, "signature_name": APPROVER_NAME, "reason": "Not now."}
    assert post(client, f"/api/v1/change-requests/{cr.id}/{first}", auth(CLIENT), body).status_code == 200
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/{then}", auth(CLIENT), body), 409, "conflict")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("approve", {"signature_name": "Someone Else"}, "signature_name"),
        ("approve", {"signature_name": ""}, "signature_name"),
        ("approve", {"version": "abc", "signature_name": APPROVER_NAME}, "version"),
        ("approve", {"version": None, "signature_name": APPROVER_NAME}, "version"),
        ("reject", {"reason": "  "}, "reason"),
    ],
    ids=["other-name", "no-name", "short-version", "no-version", "no-reason"],
)
def test_a_bad_decision_is_422_naming_the_field(session, alpha, client, auth, action, body, field):
    cr = alpha["change_request"]
    body = {"version": cr.version, **body}
    if body["version"] is None:
        del body["version"]
    error = assert_error(post(client, f"/api/v1/change-requests/{cr.id}/{action}", auth(CLIENT), body), 422)
    assert field in error["fields"]
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


def test_a_rejection_with_a_reason(session, alpha, client, auth):
    cr = alpha["change_request"]
    response = post(client, f"/api/v1/change-requests/{cr.id}/reject", auth(CLIENT),
                    {"version": cr.version, "reason": "Not this quarter."})
    assert response.status_code == 200 and response.json["status"] == "rejected"


def test_internal_approval_by_an_admin_other_than_the_author(session, alpha, client, auth):
    second = make_user(session, "second.admin@firm.example", Role.ADMIN)
    session.commit()
    lines = [{"change": "add", "description": "Payroll", "quantity": "6000", "unit": "payslip", "unit_price": "10"}]
    created = post(client, "/api/v1/change-requests", auth(ADMIN), new_cr(alpha.account.id, lines=lines)).json
    cr = post(client, f"/api/v1/change-requests/{created['id']}/submit", auth(ADMIN)).json
    url = f"/api/v1/change-requests/{cr['id']}/internal-decision"
    decision = {"version": cr["version"], "decision": "approve"}
    assert_error(post(client, url, auth(ADMIN), decision), 403)  # the author
    assert_error(post(client, url, auth(AM), decision), 403)
    assert_error(post(client, url, auth(second.email), {**decision, "decision": "maybe"}), 422)
    response = post(client, url, auth(second.email), decision)
    assert response.status_code == 200 and response.json["status"] == "pending_client_approval"
    assert_error(post(client, url, auth(second.email), decision), 409)


def test_implement_an_approved_cr(session, alpha, client, auth):
    pending = alpha["change_request"]
    assert_error(post(client, f"/api/v1/change-requests/{pending.id}/implement", auth(AM)), 409)
    cr = approved_cr(session, alpha)
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/implement", auth(CLIENT)), 403)
    response = post(client, f"/api/v1/change-requests/{cr.id}/implement", auth(AM))
    assert response.status_code == 200 and response.json["status"] == "implemented"


# --- amendments ----------------------------------------------------------------------------


def test_an_amendment_is_issued_for_an_approved_cr(session, alpha, client, auth):
    pending = alpha["change_request"]
    url = f"/api/v1/change-requests/{pending.id}/amendment"
    assert_error(post(client, url, auth(AM), {"languages": ["en"]}), 409)
    cr = approved_cr(session, alpha)
    response = post(client, url, auth(AM), {"languages": ["en"]})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == f"AMD-{local_year(alpha)}-0001"
    assert (body["kind"], body["languages"], body["change_request_id"]) == ("amendment", ["en"], cr.id)
    assert (body["account_id"], body["contract_id"]) == (alpha.account.id, alpha["contract"].id)
    assert HEX64.match(body["sha256"]) and body["size"] > 0 and ISO_Z.match(body["created_at"])
    assert body["title"] == "CR of Alpha" and body["file_url"] == f"/api/v1/documents/{body['id']}/file"


@pytest.mark.parametrize("email", [CLIENT, VIEWER, FINANCE])
def test_only_issuers_issue_an_amendment(session, alpha, client, auth, email):
    cr = approved_cr(session, alpha)
    assert_error(post(client, f"/api/v1/change-requests/{cr.id}/amendment", auth(email), {"languages": ["en"]}), 403)


@pytest.mark.parametrize(
    ("languages", "field"),
    [
        (["fr"], "languages.0"),
        ([], "languages"),
        (["en", "zh"], "languages"),  # the account's document languages are ["en"]
        (["en", "en"], "languages"),
        (["en", "zh", "vi"], "languages"),
        ("en", "languages"),
        (None, "languages"),
    ],
    ids=["unknown", "none", "not-the-accounts", "twice", "three", "not-a-list", "missing"],
)
def test_bad_amendment_languages_are_422(session, alpha, client, auth, languages, field):
    cr = approved_cr(session, alpha)
    body = {} if languages is None else {"languages": languages}
    error = assert_error(post(client, f"/api/v1/change-requests/{cr.id}/amendment", auth(AM), body), 422)
    assert field in error["fields"], error["fields"]
    assert latest(session).scalar(sa.select(Document).where(Document.change_request_id == cr.id)) is None


def documents_of(session, **where) -> list[Document]:
    return latest(session).scalars(sa.select(Document).filter_by(**where)).all()


def test_the_same_idempotency_key_and_body_issue_one_amendment(session, alpha, client, auth):
    cr = approved_cr(session, alpha)
    url = f"/api/v1/change-requests/{cr.id}/amendment"
    first = post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "amd-1"})
    again = post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "amd-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert [d.id for d in documents_of(session, change_request_id=cr.id)] == [first.json["id"]]

    other = post(client, url, auth(AM), {"languages": ["en"], "note": "again"}, **{"Idempotency-Key": "amd-1"})
    assert_error(other, 422, "idempotency_key_reused")
    assert len(documents_of(session, change_request_id=cr.id)) == 1
    # Without a key, a second call is a second issue.
    assert post(client, url, auth(AM), {"languages": ["en"]}).status_code == 201
    assert len(documents_of(session, change_request_id=cr.id)) == 2


def test_an_idempotency_key_is_the_callers_own(session, alpha, client, auth):
    second = make_user(session, "second.manager@firm.example", Role.ACCOUNT_MANAGER)
    from portal.admin.service import assign

    assign(session, second, alpha.account)
    session.commit()
    cr = approved_cr(session, alpha)
    url = f"/api/v1/change-requests/{cr.id}/amendment"
    first = post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "shared"})
    other = post(client, url, auth(second.email), {"languages": ["en"]}, **{"Idempotency-Key": "shared"})
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json["id"] != other.json["id"]


def test_a_failed_issue_stores_no_answer_and_the_retry_runs(session, alpha, client, auth):
    pending = alpha["change_request"]
    url = f"/api/v1/change-requests/{pending.id}/amendment"
    assert_error(post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "k"}), 409)
    assert latest(session).scalar(sa.select(IdempotencyKey)) is None
    approved_cr(session, alpha)
    assert post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "k"}).status_code == 201


def test_a_retry_after_a_503_that_followed_the_commit_gets_the_issued_amendment(session, alpha, client, auth,
                                                                               monkeypatch):
    """The database connection drops after the amendment is committed but before the
    answer is stored (a 503). The caller retries with the same key, as it should."""
    import portal.api.change_requests as api

    document_json = api.document_json
    calls = []

    def connection_lost_once(document):
        calls.append(document.id)
        if len(calls) == 1:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        return document_json(document)

    monkeypatch.setattr(api, "document_json", connection_lost_once)
    cr = approved_cr(session, alpha)
    url = f"/api/v1/change-requests/{cr.id}/amendment"
    lost = post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "amd-retry"})
    assert lost.status_code == 503 and "Retry-After" in lost.headers
    retry = post(client, url, auth(AM), {"languages": ["en"]}, **{"Idempotency-Key": "amd-retry"})
    assert retry.status_code == 201, retry.json
    assert [d.id for d in documents_of(session, change_request_id=cr.id)] == [retry.json["id"]]


# --- work orders ---------------------------------------------------------------------------


def test_a_work_order_is_issued_on_the_current_contract(session, alpha, client, auth):
    response = post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == f"WO-{local_year(alpha)}-0001"
    assert (body["kind"], body["contract_id"], body["change_request_id"]) == ("work_order", alpha["contract"].id, None)
    assert body["title"] == "Year-end payroll audit" and HEX64.match(body["sha256"])
    second = post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id))
    assert second.json["number"] == f"WO-{local_year(alpha)}-0002"


def test_a_work_order_titled_longer_than_a_document_property_holds_is_issued_whole(session, alpha, client, auth):
    title = "Year-end payroll audit of every entity, site and pay group in the region, " * 5  # 375 characters
    response = post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id, title={"en": title}))
    assert response.status_code == 201, response.json
    [document] = documents_of(session, kind=DocumentKind.WORK_ORDER)
    docx = open_docx(document.file.data)
    assert len(docx.core_properties.subject) <= 255
    assert title.strip() in full_text(docx)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"end_date": "2027-01-03"}, "end_date", id="end-before-start"),
        pytest.param({"po_number": ""}, "po_number", id="no-po"),
        pytest.param({"lines": []}, "lines", id="no-lines"),
        pytest.param({"languages": ["vi"]}, "languages", id="not-the-accounts-language"),
        pytest.param({"languages": ["de"]}, "languages.0", id="unknown-language"),
        pytest.param({"start_date": "soon"}, "start_date", id="bad-date"),
        pytest.param({"lines": [{"description": "Day", "quantity": "1", "unit": "", "unit_price": "1"}]},
                     "lines.0.unit", id="no-unit"),
    ],
)
def test_a_bad_work_order_is_422_naming_the_field(session, alpha, client, auth, change, field):
    error = assert_error(post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id, **change)), 422)
    assert field in error["fields"], error["fields"]
    assert documents_of(session, kind=DocumentKind.WORK_ORDER) == []


def test_only_issuers_issue_work_orders_and_only_for_their_accounts(session, worlds, client, auth):
    alpha, bravo = worlds
    assert_error(post(client, "/api/v1/work-orders", auth(CLIENT), new_work_order(alpha.account.id)), 403)
    assert_error(post(client, "/api/v1/work-orders", auth(AM), new_work_order(bravo.account.id)), 404)


def test_the_same_idempotency_key_issues_one_work_order(session, alpha, client, auth):
    body = new_work_order(alpha.account.id)
    first = post(client, "/api/v1/work-orders", auth(AM), body, **{"Idempotency-Key": "wo-1"})
    again = post(client, "/api/v1/work-orders", auth(AM), body, **{"Idempotency-Key": "wo-1"})
    assert (first.status_code, again.status_code) == (201, 201) and again.json == first.json
    changed = post(client, "/api/v1/work-orders", auth(AM), {**body, "po_number": "PO-7732"},
                   **{"Idempotency-Key": "wo-1"})
    assert_error(changed, 422, "idempotency_key_reused")
    assert len(documents_of(session, kind=DocumentKind.WORK_ORDER)) == 1
    too_long = post(client, "/api/v1/work-orders", auth(AM), body, **{"Idempotency-Key": "k" * 201})
    assert "Idempotency-Key" in assert_error(too_long, 422)["fields"]


# --- documents -------------------------------------------------------------------------------


def test_documents_list_show_and_download(session, worlds, client, auth):
    alpha, bravo = worlds
    cr = approved_cr(session, alpha)
    issued = post(client, f"/api/v1/change-requests/{cr.id}/amendment", auth(AM), {"languages": ["en"]}).json

    listed = client.get("/api/v1/documents", headers=auth(CLIENT)).json
    assert listed["items"][0]["id"] == issued["id"]  # newest first
    assert {item["account_id"] for item in listed["items"]} == {alpha.account.id}
    amendments = client.get("/api/v1/documents?kind=amendment&limit=1", headers=auth(CLIENT)).json
    assert [item["id"] for item in amendments["items"]] == [issued["id"]] and amendments["next_cursor"]
    assert "kind" in assert_error(client.get("/api/v1/documents?kind=memo", headers=auth(CLIENT)), 422)["fields"]
    # The client reads what the issuer got, but for the firm's own regional review.
    assert client.get(f"/api/v1/documents/{issued['id']}", headers=auth(VIEWER)).json == {
        key: value for key, value in issued.items() if key != "reviews"}

    response = client.get(issued["file_url"], headers=auth(VIEWER))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == DOCX
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"{issued['number']}.docx" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(response.data).hexdigest() == issued["sha256"] and len(response.data) == issued["size"]

    assert_error(client.get(f"/api/v1/documents/{bravo['document'].id}/file", headers=auth(CLIENT)), 404)
