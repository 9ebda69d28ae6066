"""A firm onboards its first client from an empty database, without seed-demo, as the
README's "Onboarding a client" tells it: the administrator from the command line; the
account and its contract through the API; a client approver invited, who reads the
invitation from a real SMTP server, follows the link in Chromium and chooses a
password; then a change request that removes a scope line the API client found
through ``GET /contracts/{id}``, approved by that approver in the browser."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.models import Account, ChangeRequest, CRStatus, User
from tests.conftest import api_token, bearer
from tests.helpers import latest, mailed_link, post

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "Onboarding-day 2027!"
APPROVER_PASSWORD = "Shenzhen approver #1"


def test_from_an_empty_database_to_a_client_approver_approving_a_change_request(
        app, runner, client, session, page, smtp_server, monkeypatch):
    assert session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0

    # 1. The administrator, from the command line.
    created = runner.invoke(args=["users", "create", "ops@newfirm.example", "--role", "admin", "--name", "Olivia Park",
                                  "--password", ADMIN_PASSWORD])
    assert created.exit_code == 0, created.output
    admin = bearer(api_token(client, "ops@newfirm.example", ADMIN_PASSWORD))

    # 2. The account, with its legal name in English and Chinese, through the API. (Its
    # internal approval threshold is above the 360,000 the change request of step 7 takes
    # off the contract, which then goes straight to the client.)
    response = post(client, "/api/v1/accounts", admin, {
        "name": {"en": "Lingnan Electronics Co., Ltd.", "zh": "岭南电子有限公司"}, "country": "CN", "tier": "key",
        "timezone": "Asia/Shanghai", "currency": "CNY", "document_languages": ["en", "zh"],
        "approval_threshold": "400000", "address": {"en": "3 Keyuan Road, Shenzhen", "zh": "深圳市科苑路 3 号"},
        "tax_id": "91440300MA5G2B7Q1X", "representative": {"name": {"en": "Chen Jing", "zh": "陈静"},
                                                           "title": {"en": "General Manager", "zh": "总经理"}},
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    account_id = response.json["id"]

    # 3. Its contract with two scope lines.
    today = date.today()
    response = post(client, f"/api/v1/accounts/{account_id}/contracts", admin, {
        "number": "MSA-LN-2027-001", "title": {"en": "Payroll and IT services", "zh": "薪资及IT服务"},
        "signed_on": (today - timedelta(days=40)).isoformat(), "start_date": (today - timedelta(days=30)).isoformat(),
        "end_date": (today + timedelta(days=700)).isoformat(), "currency": "CNY",
        "scope_lines": [
            {"service": {"en": "Payroll processing", "zh": "薪资核算"}, "quantity": "6000", "unit": "payslip",
             "unit_price": "42.00"},
            {"service": {"en": "IT service desk", "zh": "IT服务台"}, "quantity": "12", "unit": "month",
             "unit_price": "30000.00"},
        ],
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    contract_id = response.json["id"]

    # 4. The client approver, invited in Chinese.
    response = post(client, "/api/v1/users", admin, {"email": "chen.jing@lingnan.example", "name": "陈静",
                                                     "role": "client_approver", "account_id": account_id,
                                                     "language": "zh", "timezone": "Asia/Shanghai"})
    assert response.status_code == 201, response.get_data(as_text=True)

    # 5. `flask mail send` delivers the invitation to a real SMTP server.
    # The command runs in the app context already pushed, the ``session`` fixture's (as
    # ``mailbox`` knows): that app is the one to configure, its session the one to refresh.
    from flask import current_app

    inbox, port = smtp_server
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False}.items():
        monkeypatch.setitem(current_app.config, key, value)
    latest(session)
    sent = runner.invoke(args=["mail", "send"])
    assert sent.exit_code == 0, sent.output
    [envelope] = [e for e in inbox.envelopes if "chen.jing@lingnan.example" in e.rcpt_tos]
    from email import message_from_bytes, policy

    invitation = message_from_bytes(envelope.original_content, policy=policy.default)
    assert "岭南电子有限公司" in invitation.get_content() or "邀请" in invitation["Subject"]

    # 6. The approver follows the link in the browser, chooses a password, is signed in.
    page.goto(mailed_link(invitation))
    page.fill("input[name=password]", APPROVER_PASSWORD)
    page.fill("input[name=confirm]", APPROVER_PASSWORD)
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    page.wait_for_url("**/")
    assert page.locator("html").get_attribute("lang").startswith("zh")

    # 7. The firm finds the scope line to remove through the API, drafts and submits.
    contract = client.get(f"/api/v1/contracts/{contract_id}", headers=admin).json
    desk = next(line for line in contract["scope_lines"] if line["service"]["en"] == "IT service desk")
    assert desk["active"] is True
    response = post(client, "/api/v1/change-requests", admin, {
        "account_id": account_id, "contract_id": contract_id,
        "title": {"en": "Stop the IT service desk", "zh": "停止IT服务台服务"},
        "description": {"en": "The client moves its service desk in-house.", "zh": "客户将服务台转为内部运营。"},
        "effective_date": (today + timedelta(days=30)).isoformat(),
        "lines": [{"change": "remove", "scope_line_id": desk["id"], "description": "IT service desk",
                   "quantity": desk["quantity"], "unit": desk["unit"], "unit_price": desk["unit_price"]}],
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    change_request_id = response.json["id"]
    response = post(client, f"/api/v1/change-requests/{change_request_id}/submit", admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "pending_client_approval"

    # 8. The approver approves it in the browser with a typed signature.
    page.goto(f"/change-requests/{change_request_id}")
    page.fill("input[name=signature_name]", "陈静")
    page.check("input[name=consent]")
    page.locator("form[action$='/approve'] [type=submit]").click()
    page.wait_for_load_state("networkidle")
    cr = latest(session).get(ChangeRequest, change_request_id)
    assert cr.status is CRStatus.APPROVED
    [approval] = cr.approvals
    assert approval.signature_name == "陈静"
    assert approval.user.email == "chen.jing@lingnan.example"
