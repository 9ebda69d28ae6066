"""The plan endpoints of api.md: the firm drafts (201, 403 for others, 422 naming each
field), everyone of the account reads (drafts hidden from the client), reviews by
regional reviewers, account managers and the client approver, the sign-off with the
current version and the typed name (403 for a viewer, 409 for an old version), and the
plan document in Vietnamese and English + Vietnamese, read back with python-docx.

Another account's ids answering 404 on every id route is proven in ``test_access``;
spot checks here cover the plan routes."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.models import Document, DocumentKind
from tests.docgen.reading import full_text, open_docx
from tests.helpers import assert_error, post

AM = "account.manager@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
FINANCE = "finance@alpha.example"
BRAVO_AM = "account.manager@bravo.example"
APPROVER_NAME = "Client.Approver"
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Bravo and the firm's admin beside Alpha in every test.
pytestmark = pytest.mark.beside_alpha("bravo", "admin")


@pytest.fixture
def alpha(alpha, session):
    """Alpha, its documents in English and Vietnamese."""
    alpha.account.document_languages = ["en", "vi"]
    session.commit()
    return alpha


def new_plan(account_id: int, **overrides) -> dict:
    return {
        "account_id": account_id, "plan_type": "jbp", "period": "FY2028",
        "objectives": [{"en": "Support 15 new stores from day one.", "vi": "Hỗ trợ 15 cửa hàng mới ngay từ ngày đầu."}],
        "kpis": [{"name": {"en": "On-time payroll", "vi": "Tỷ lệ trả lương đúng hạn"}, "baseline": "97.5",
                  "target": "99.5", "unit": "%", "kpi": "OTP"}],
        "initiatives": [{"title": {"en": "Store-opening playbook", "vi": "Quy trình chuẩn khai trương cửa hàng"},
                         "owner": "Lena Park", "due": "2028-06-30", "status": "planned"}],
        "budget": [{"item": {"en": "Store-opening support", "vi": "Hỗ trợ khai trương cửa hàng"}, "amount": "225000"}],
        "risks": [{"risk": {"en": "Staff turnover", "vi": "Tỷ lệ nghỉ việc cao"},
                   "mitigation": {"en": "Weekly joiner file", "vi": "Danh sách nhân viên hằng tuần"}, "owner": "Lena Park"}],
        **overrides,
    }


def created(client, auth, alpha, **overrides) -> dict:
    response = post(client, "/api/v1/plans", auth(AM), new_plan(alpha.account.id, **overrides))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def signed_off(client, auth, alpha) -> dict:
    plan = created(client, auth, alpha)
    post(client, f"/api/v1/plans/{plan['id']}/submit", auth(AM))
    post(client, f"/api/v1/plans/{plan['id']}/reviews", auth(REVIEWER), {"decision": "approve"})
    plan = client.get(f"/api/v1/plans/{plan['id']}", headers=auth(CLIENT)).json
    response = post(client, f"/api/v1/plans/{plan['id']}/signoff", auth(CLIENT),
                    {"version": plan["version"], "signature_name": APPROVER_NAME})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_the_firm_drafts_a_plan_with_money_as_decimal_strings(client, auth, alpha):
    plan = created(client, auth, alpha)
    assert plan["status"] == "draft" and plan["account_id"] == alpha.account.id and plan["currency"] == "USD"
    assert plan["budget"] == [{"item": {"en": "Store-opening support", "vi": "Hỗ trợ khai trương cửa hàng"},
                               "amount": "225000.00"}]
    assert plan["budget_total"] == "225000.00" and plan["version"] is None
    assert plan["translations"] == []  # every text is in English and Vietnamese
    assert plan["kpis"][0]["kpi"] == "OTP"


@pytest.mark.parametrize("email", [VIEWER, CLIENT, REVIEWER, FINANCE])
def test_only_the_firms_account_managers_and_admins_draft(client, auth, alpha, email):
    assert_error(post(client, "/api/v1/plans", auth(email), new_plan(alpha.account.id)), 403)


def test_bad_plans_are_422_naming_each_field(client, auth, alpha):
    error = assert_error(post(client, "/api/v1/plans", auth(AM), new_plan(alpha.account.id, period="2028")), 422)
    assert error["fields"] == {"period": "expected the form FY2027"}
    body = new_plan(alpha.account.id, kpis=[{"name": "X", "target": "a lot", "kpi": "NOPE"}],
                    budget=[{"item": "Y", "amount": "10.001"}])
    error = assert_error(post(client, "/api/v1/plans", auth(AM), body), 422)
    assert error["fields"] == {"kpis.0.target": "not a number", "kpis.0.kpi": "not a KPI of the contract",
                               "budget.0.amount": "too many decimals for USD"}
    error = assert_error(post(client, "/api/v1/plans", auth(AM), new_plan(alpha.account.id, budget=[
        {"item": "Y", "amount": "-1"}])), 422)
    assert set(error["fields"]) == {"budget.0.amount"}
    assert_error(post(client, "/api/v1/plans", auth(AM), new_plan(alpha.account.id, period="FY2027")), 409)


def test_another_accounts_plan_is_404_and_its_account_cannot_be_drafted_for(client, auth, worlds):
    alpha, bravo = worlds
    plan_id = alpha["plan"].id
    assert_error(client.get(f"/api/v1/plans/{plan_id}", headers=auth(BRAVO_AM)), 404)
    assert_error(post(client, f"/api/v1/plans/{plan_id}/reviews", auth(BRAVO_AM), {"decision": "comment", "body": "x"}), 404)
    assert_error(post(client, "/api/v1/plans", auth(BRAVO_AM), new_plan(alpha.account.id)), 404)
    listed = client.get("/api/v1/plans", headers=auth(BRAVO_AM)).json["items"]
    assert {p["account_id"] for p in listed} == {bravo.account.id}


def test_a_quarterly_plan_starts_from_the_yearly_plan(client, auth, alpha):
    yearly = created(client, auth, alpha)
    body = {"account_id": alpha.account.id, "plan_type": "qbp", "period": "2028-Q1", "parent_id": yearly["id"]}
    response = post(client, "/api/v1/plans", auth(AM), body)
    assert response.status_code == 201, response.get_data(as_text=True)
    quarter = response.json
    assert quarter["parent_id"] == yearly["id"]
    assert quarter["objectives"] == yearly["objectives"] and quarter["kpis"] == yearly["kpis"]
    assert quarter["initiatives"] == [] and quarter["budget"] == []


def test_drafts_are_hidden_from_the_client_until_submitted(client, auth, alpha):
    plan = created(client, auth, alpha)
    assert_error(client.get(f"/api/v1/plans/{plan['id']}", headers=auth(VIEWER)), 404)
    assert plan["id"] not in {p["id"] for p in client.get("/api/v1/plans", headers=auth(VIEWER)).json["items"]}
    submitted = post(client, f"/api/v1/plans/{plan['id']}/submit", auth(AM)).json
    assert submitted["status"] == "in_review" and HEX64.match(submitted["version"])
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=auth(VIEWER)).json["version"] == submitted["version"]


def test_the_review_and_sign_off_flow_with_roles(client, auth, alpha):
    plan = created(client, auth, alpha)
    url = f"/api/v1/plans/{plan['id']}"
    post(client, f"{url}/submit", auth(AM))
    assert_error(post(client, f"{url}/reviews", auth(VIEWER), {"decision": "comment", "body": "Hi"}), 403)
    assert_error(post(client, f"{url}/reviews", auth(FINANCE), {"decision": "comment", "body": "Hi"}), 403)
    comment = post(client, f"{url}/reviews", auth(REVIEWER),
                   {"decision": "request_changes", "body": "Đề nghị bổ sung mốc thời gian.", "language": "vi",
                    "section": "initiatives"})
    assert comment.status_code == 201
    assert comment.json["section"] == "initiatives" and comment.json["language"] == "vi"
    assert client.get(url, headers=auth(AM)).json["status"] == "changes_requested"
    first = client.get(url, headers=auth(AM)).json["version"]
    patched = client.patch(url, headers=auth(AM), json={"initiatives": [
        {"title": {"en": "Store-opening playbook by June", "vi": "Quy trình chuẩn khai trương trước tháng 6"},
         "owner": "Lena Park", "due": "2028-06-30"}]})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    resubmitted = post(client, f"{url}/submit", auth(AM)).json
    assert resubmitted["version"] != first and resubmitted["version_number"] == 2
    assert_error(post(client, f"{url}/reviews", auth(REVIEWER), {"decision": "approve", "version": first}), 409)
    approved = post(client, f"{url}/reviews", auth(REVIEWER), {"decision": "approve"})
    assert approved.status_code == 201
    plan = client.get(url, headers=auth(CLIENT)).json
    assert plan["status"] == "pending_signoff" and plan["firm_approval"]["complete"]
    assert_error(post(client, f"{url}/signoff", auth(VIEWER), {"version": plan["version"], "signature_name": "X"}), 403)
    assert_error(post(client, f"{url}/signoff", auth(CLIENT), {"version": first, "signature_name": APPROVER_NAME}), 409)
    assert_error(post(client, f"{url}/signoff", auth(CLIENT), {"version": plan["version"], "signature_name": "Y"}), 422)
    done = post(client, f"{url}/signoff", auth(CLIENT), {"version": plan["version"], "signature_name": APPROVER_NAME})
    assert done.status_code == 200 and done.json["status"] == "signed_off"
    assert done.json["signoff"]["version"] == plan["version"]
    assert done.json["signoff"]["signature_name"] == APPROVER_NAME
    assert_error(post(client, f"{url}/signoff", auth(CLIENT), {"version": plan["version"], "signature_name": APPROVER_NAME}), 409)


def test_the_translation_gate_shows_in_the_plan_and_holds_the_sign_off(client, auth, alpha):
    plan = created(client, auth, alpha, objectives=["Only in English"])
    assert plan["translations"] == [{"path": "objectives.0", "language": "vi", "problem": "missing"}]
    url = f"/api/v1/plans/{plan['id']}"
    post(client, f"{url}/submit", auth(AM))
    post(client, f"{url}/reviews", auth(REVIEWER), {"decision": "approve"})
    held = client.get(url, headers=auth(AM)).json
    assert held["status"] == "in_review" and held["firm_approval"]["complete"]
    # The client does not see the firm's translation to-do list.
    assert client.get(url, headers=auth(CLIENT)).json["translations"] == []
    patched = client.patch(url, headers=auth(AM), json={"objectives": [{"en": "Only in English", "vi": "Chỉ tiếng Anh"}]})
    assert patched.json["translations"] == [] and patched.json["version_number"] == 2
    changed = client.patch(url, headers=auth(AM), json={"objectives": [{"en": "Now different", "vi": "Chỉ tiếng Anh"}]})
    assert changed.json["translations"] == [{"path": "objectives.0", "language": "vi", "problem": "stale"}]


def test_the_plan_document_in_vietnamese_and_side_by_side(client, auth, alpha, session):
    plan = signed_off(client, auth, alpha)
    url = f"/api/v1/plans/{plan['id']}/document"
    assert_error(post(client, url, auth(REVIEWER), {"languages": ["vi"]}), 403)
    assert_error(post(client, url, auth(AM), {"languages": ["zh"]}), 422)  # not a language of the account
    vietnamese = post(client, url, auth(AM), {"languages": ["vi"]})
    assert vietnamese.status_code == 201, vietnamese.get_data(as_text=True)
    assert vietnamese.json["kind"] == "plan" and vietnamese.json["number"] == "JBP-FY2028-01"
    both = post(client, url, auth(AM), {"languages": ["en", "vi"]}).json
    # The plan keeps its number: issued again, it is the number's second revision.
    assert (both["number"], both["revision"], both["languages"]) == ("JBP-FY2028-01", 2, ["en", "vi"])
    text = full_text(open_docx(client.get(vietnamese.json["file_url"], headers=auth(CLIENT)).data))
    assert "Kế hoạch kinh doanh chung" in text and "Hỗ trợ 15 cửa hàng mới ngay từ ngày đầu." in text
    assert "Đề nghị" not in text and APPROVER_NAME in text and plan["version"] in text
    side_by_side = full_text(open_docx(client.get(both["file_url"], headers=auth(CLIENT)).data))
    for words in ("Joint business plan", "Kế hoạch kinh doanh chung", "Support 15 new stores from day one.",
                  "Hỗ trợ 15 cửa hàng mới ngay từ ngày đầu.", "225,000.00", APPROVER_NAME):
        assert words in side_by_side, words
    listed = client.get("/api/v1/documents?kind=plan", headers=auth(VIEWER)).json["items"]
    assert {(d["number"], d["revision"]) for d in listed} == {("JBP-FY2028-01", 1), ("JBP-FY2028-01", 2)}
    session.rollback()
    stored = session.scalars(sa.select(Document).where(Document.kind == DocumentKind.PLAN)).all()
    assert {d.plan_id for d in stored} == {plan["id"]}


def test_a_draft_cannot_be_issued_as_a_document(client, auth, alpha):
    plan = created(client, auth, alpha)
    assert_error(post(client, f"/api/v1/plans/{plan['id']}/document", auth(AM), {"languages": ["en"]}), 409)


def test_the_openapi_document_describes_the_plan_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/plans", "/plans/{plan_id}", "/plans/{plan_id}/reviews", "/plans/{plan_id}/signoff",
                 "/plans/{plan_id}/document", "/plans/{plan_id}/submit"):
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/plans"])


def test_the_plan_list_is_newest_first_in_pages(client, auth, alpha):
    for period in ("FY2028", "FY2029", "FY2030"):
        created(client, auth, alpha, period=period)
    first = client.get("/api/v1/plans?limit=2", headers=auth(AM)).json
    assert [p["period"] for p in first["items"]] == ["FY2030", "FY2029"] and first["next_cursor"]
    everything = client.get("/api/v1/plans", headers=auth(AM)).json
    assert [p["period"] for p in everything["items"]] == ["FY2030", "FY2029", "FY2028", "FY2027"]
    assert everything["next_cursor"] is None
    assert client.get("/api/v1/plans?status=draft", headers=auth(AM)).json["items"][0]["status"] == "draft"
    assert_error(client.get("/api/v1/plans?status=nope", headers=auth(AM)), 422)


# --- odd input is a 4xx, never a 500 --------------------------------------------------------


@pytest.mark.parametrize("overrides", [
    {"period": "FY0000"}, {"period": "2028-Q5"}, {"period": "2028-13"}, {"period": ""}, {"plan_type": "weekly"},
    {"kpis": [{"name": "Accuracy", "target": "NaN"}]}, {"kpis": [{"name": "Accuracy", "target": "Infinity"}]},
    {"kpis": [{"name": "Accuracy", "target": "1e400"}]}, {"kpis": [{"name": "", "target": "1"}]},
    {"kpis": [{"name": {"de": "Genauigkeit"}, "target": "1"}]}, {"kpis": [{"name": "Accuracy", "target": []}]},
    {"budget": [{"item": "Robot", "amount": "-1"}]}, {"budget": [{"item": "Robot", "amount": "1e30"}]},
    {"budget": [{"item": "Robot", "amount": "12.345678"}]}, {"budget": [{"item": "Robot", "amount": "sNaN"}]},
    {"initiatives": [{"title": "Go live", "owner": "Lena", "due": "2028-02-30"}]},
    {"initiatives": [{"title": "Go live", "owner": "Lena", "status": "finished"}]},
    {"objectives": ["x" * 100_000]}, {"objectives": [None]}, {"objectives": "Close faster"},
    {"risks": [{"risk": "Late files"}]}, {"parent_id": 2**63}, {"parent_id": -1}, {"account_id": 2**63},
])
def test_odd_plans_are_refused_with_a_4xx(client, auth, alpha, overrides):
    response = post(client, "/api/v1/plans", auth(AM), {**new_plan(alpha.account.id), **overrides})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.json["error"]["message"]
