"""What an attacker's tester found, each proved fixed (issue 17): hostile text refused
at the edge and survived where it is already stored, decisions that prove the decider
is present, four eyes that mean four eyes, and one billing enquiry however many
disputes race. Both databases run every test here."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.change_requests import service
from portal.models import (
    Approval,
    ChangeRequest,
    CRStatus,
    Decision,
    Invoice,
    InvoiceStatus,
    LineChange,
    Role,
    ServiceRequest,
    User,
)
from tests.conftest import DB_KIND, PASSWORD, Browser, api_token, bearer, csrf_token
from tests.factories import make_user
from tests.helpers import stale_token

EDGE_MESSAGE = "Some text contains characters that cannot be stored. Remove them and try again."


@pytest.fixture
def world(alpha, admin):
    """Alpha, with the firm's administrator beside it."""
    return alpha


def _pending(session, world, *, quantity="10", price="8.50", by=None):
    manager = by or world.user(Role.ACCOUNT_MANAGER)
    cr = service.create_draft(session, world["contract"], manager, title={"en": "Payroll in Vietnam"},
                              description={"en": "More payslips."}, in_scope=False,
                              effective_date=date.today() + timedelta(days=30),
                              lines=[service.LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip",
                                                       Decimal(quantity), Decimal(price))])
    service.submit(session, cr, world.account, manager)
    session.commit()
    return cr


def _signed_in(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(email).status_code == 302
    return browser


def _count(session, model, *where) -> int:
    session.rollback()  # a new transaction: see what the requests committed
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- hostile text ------------------------------------------------------------------------


def test_a_nul_byte_in_the_sign_in_is_refused_with_a_message_not_a_500(app):
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={"email": "a\x00b@example.com", "password": "x",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 400 and EDGE_MESSAGE in response.text
    token = client.post("/api/v1/auth/token", json={"email": "a\u0000b", "password": "x"})
    assert token.status_code == 400
    assert token.json["error"] == {"code": "invalid_text", "message": EDGE_MESSAGE,
                                   "fields": {"email": "contains the control character U+0000"}}


def test_a_control_character_in_a_query_string_is_refused(app, world):
    browser = _signed_in(app, "account.manager@alpha.example")
    assert browser.get("/invoices?q=INV%00").status_code == 400
    assert browser.get("/invoices?q=INV%1F").status_code == 400
    assert browser.get("/invoices?q=INV%09A").status_code == 200  # a tab is text


def test_a_signature_with_a_control_character_is_refused_and_nothing_is_stored(app, session, world):
    cr = _pending(session, world)
    browser = _signed_in(app, "client.approver@alpha.example")
    page = browser.get(f"/change-requests/{cr.id}").text
    response = browser.client.post(f"/change-requests/{cr.id}/approve", data={
        "version": cr.version, "signature_name": "Client.\x1fApprover", "consent": "y",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 400 and EDGE_MESSAGE in response.text
    token = api_token(browser.client, "client.approver@alpha.example")
    api = browser.client.post(f"/api/v1/change-requests/{cr.id}/approve", headers=bearer(token),
                              json={"version": cr.version, "signature_name": "Client.\u001fApprover"})
    assert api.status_code == 400 and api.json["error"]["fields"] == {
        "signature_name": "contains the control character U+001F"}
    assert _count(session, Approval, Approval.change_request_id == cr.id) == 0


def test_a_lone_surrogate_in_json_is_refused(app, world):
    client = app.test_client()
    token = api_token(client, "account.manager@alpha.example")
    body = ('{"account_id": %d, "title": {"en": "Bad \\ud800 title"}, "effective_date": "2030-01-01", '
            '"lines": [{"change": "add", "description": "x", "unit": "hour", "quantity": "1", "unit_price": "1"}]}'
            % world.account.id)
    response = client.post("/api/v1/change-requests", headers={**bearer(token), "Content-Type": "application/json"},
                           data=body)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"title.en": "contains the control character U+D800"}


@pytest.mark.parametrize("depth", [65, 100_000])
def test_json_nested_too_deeply_is_refused(app, depth):
    body = "[" * depth + "]" * depth
    response = app.test_client().post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "too_deep"


def test_json_nested_within_the_limit_is_read(app):
    nested = "[" * 63 + "]" * 63
    response = app.test_client().post("/api/v1/auth/token", data='{"email": %s, "password": "x"}' % nested,
                                      content_type="application/json")
    assert response.status_code == 422  # read, then refused by the schema: an e-mail is no list


@pytest.mark.parametrize("number", ["1e400", "9" * 26, "-1e20"])
def test_a_huge_number_in_a_form_is_a_field_error(app, session, world, number):
    browser = _signed_in(app, "account.manager@alpha.example")
    url = f"/change-requests/new?account={world.account.id}"
    form = {"title_en": "Huge", "in_scope": "out", "effective_date": "2030-01-01", "lines-0-change": "add",
            "lines-0-scope_line": "0", "lines-0-description_en": "Line", "lines-0-unit": "hour",
            "lines-0-quantity": number, "lines-0-unit_price": "1", "save": "Save draft"}
    page = browser.post_form(url, form, page=url)
    assert page.status_code == 200 and "This number is too large." in page.text
    assert _count(session, ChangeRequest, ChangeRequest.title["en"].as_string() == "Huge") == 0


def test_a_choice_no_record_can_have_is_a_field_error(app, session, world):
    """A select sends a record's id: 26 digits is no id (PostgreSQL would refuse the
    query), said beside the field with what was typed kept."""
    browser = _signed_in(app, "account.manager@alpha.example")
    url = f"/actions/new?account={world.account.id}"
    form = {"title": "Owned by nobody", "owner_side": "firm", "owner": "9" * 26, "owner_name": "",
            "source": "meeting", "due_date": "", "submit": "Save"}
    page = browser.post_form(url, form, page=url)
    assert page.status_code == 200 and 'id="owner-errors"' in page.text
    assert 'value="Owned by nobody"' in page.text


def test_exports_and_pages_survive_text_stored_before_the_edge_refused_it(app, session, world):
    cr = _pending(session, world)
    approver = world.user(Role.CLIENT_APPROVER)
    service.decide(session, cr, world.account, approver, version=cr.version, decision=Decision.APPROVED,
                   signature_name=approver.name)
    session.commit()
    with session.begin_nested():  # what an older release let through, written as it would be stored
        session.execute(sa.update(Approval).where(Approval.change_request_id == cr.id)
                        .values(signature_name="Client.\x1fApprover"))
        if DB_KIND == "sqlite":  # PostgreSQL could never store a lone surrogate
            session.execute(sa.update(ChangeRequest).where(ChangeRequest.id == cr.id)
                            .values(title={"en": "Bad \ud800 title"}))
    session.commit()
    browser = _signed_in(app, "account.manager@alpha.example")
    for url in (f"/contracts/{world['contract'].id}/change-requests?format=xlsx",
                f"/contracts/{world['contract'].id}/change-requests?format=csv",
                "/change-requests", f"/change-requests/{cr.id}", "/api/v1/change-requests"):
        headers = bearer(api_token(browser.client, "account.manager@alpha.example")) if "/api/" in url else {}
        assert browser.get(url, headers=headers).status_code == 200, url


# --- decisions prove the decider is present ------------------------------------------------


def test_reauthentication_is_throttled_like_sign_in(app, world):
    browser = _signed_in(app, "client.approver@alpha.example")
    statuses = []
    for _ in range(12):
        page = browser.get("/reauthenticate").text
        statuses.append(browser.client.post("/reauthenticate", data={
            "password": "not the password", "csrf_token": csrf_token(page)}).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    page = browser.get("/reauthenticate").text
    right = browser.client.post("/reauthenticate", data={"password": PASSWORD, "csrf_token": csrf_token(page)})
    assert right.status_code == 429, "throttled: even the right password waits"


def test_an_api_approval_needs_a_recent_sign_in_or_the_password(app, session, world):
    cr = _pending(session, world)
    approver = world.user(Role.CLIENT_APPROVER)
    headers = stale_token(session, approver)
    client = app.test_client()
    url, body = f"/api/v1/change-requests/{cr.id}/approve", {"version": cr.version, "signature_name": approver.name}
    stale = client.post(url, headers=headers, json=body)
    assert stale.status_code == 401 and stale.json["error"]["code"] == "fresh_sign_in_required"
    wrong = client.post(url, headers=headers, json={**body, "password": "not it"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "fresh_sign_in_required"
    assert _count(session, Approval, Approval.change_request_id == cr.id) == 0
    proved = client.post(url, headers=headers, json={**body, "password": PASSWORD})
    assert proved.status_code == 200 and proved.json["status"] == "approved"


def test_a_fresh_token_decides_without_the_password(app, session, world):
    cr = _pending(session, world)
    approver = world.user(Role.CLIENT_APPROVER)
    client = app.test_client()
    fresh = bearer(api_token(client, approver.email))
    answer = client.post(f"/api/v1/change-requests/{cr.id}/approve", headers=fresh,
                         json={"version": cr.version, "signature_name": approver.name})
    assert answer.status_code == 200


def test_a_stale_token_still_reads_and_comments(app, session, world):
    """Only decisions ask for the proof: reading and commenting do not."""
    cr = _pending(session, world)
    headers = stale_token(session, world.user(Role.CLIENT_APPROVER))
    client = app.test_client()
    assert client.get(f"/api/v1/change-requests/{cr.id}", headers=headers).status_code == 200


def _refused_to_the_author_then_approved_by_another(app, cr, *, author, other) -> None:
    """The internal decision through the API: 403 for ``author``, then ``other``'s approval."""
    client = app.test_client()
    body = {"version": cr.version, "decision": "approve"}
    own = client.post(f"/api/v1/change-requests/{cr.id}/internal-decision",
                      headers=bearer(api_token(client, author.email)), json=body)
    assert own.status_code == 403
    approved = client.post(f"/api/v1/change-requests/{cr.id}/internal-decision",
                           headers=bearer(api_token(client, other.email)), json=body)
    assert approved.status_code == 200 and approved.json["status"] == "pending_client_approval"


def test_the_internal_approval_comes_from_someone_who_wrote_no_version(app, session, world):
    second = make_user(session, "second.admin@firm.example", Role.ADMIN)
    session.commit()
    cr = _pending(session, world, quantity="10000", price="10")  # 100,000 over the 50,000 threshold
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL
    admin = session.scalar(sa.select(User).where(User.email == "admin@firm.example"))
    # The first admin edits the CR: version 2 is theirs.
    service.edit(session, cr, world.account, admin, title={"en": "Payroll in Vietnam, edited"},
                 description={"en": "More payslips."}, in_scope=False, effective_date=cr.effective_date,
                 lines=[service.LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip", Decimal(10000),
                                          Decimal(11))])
    session.commit()
    assert cr.version_number == 2 and cr.versions[-1].created_by_id == admin.id
    _refused_to_the_author_then_approved_by_another(app, cr, author=admin, other=second)


@pytest.mark.parametrize("edited", ["draft", "rejected"])
def test_an_admin_who_rewrote_a_draft_that_another_sent_does_not_approve_it_internally(app, session, world, edited):
    """A version names only who sent it: the admin who rewrote the draft (or the CR sent
    back to draft by a rejection) and let the account manager send it once approved it."""
    second = make_user(session, "second.admin@firm.example", Role.ADMIN)
    session.commit()
    manager = world.user(Role.ACCOUNT_MANAGER)
    admin = session.scalar(sa.select(User).where(User.email == "admin@firm.example"))
    lines = [service.LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip", Decimal(10000), Decimal(10))]
    cr = service.create_draft(session, world["contract"], manager, title={"en": "Payroll in Vietnam"},
                              description={"en": "More payslips."}, in_scope=False,
                              effective_date=date.today() + timedelta(days=30), lines=lines)
    if edited == "rejected":
        service.submit(session, cr, world.account, manager)
        service.decide_internally(session, cr, world.account, second, version=cr.version,
                                  decision=Decision.REJECTED, reason="Price it again.")
        assert cr.status is CRStatus.REJECTED
    lines[0] = service.LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip", Decimal(10000), Decimal(11))
    service.edit(session, cr, world.account, admin, title={"en": "Payroll in Vietnam"},
                 description={"en": "More payslips, at the new price."}, in_scope=False,
                 effective_date=cr.effective_date, lines=lines)
    assert cr.status is CRStatus.DRAFT
    service.submit(session, cr, world.account, manager)
    session.commit()
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL and cr.versions[-1].created_by_id == manager.id
    assert cr not in service.pending_for(session, admin), "not in the inbox of the admin who wrote it"
    _refused_to_the_author_then_approved_by_another(app, cr, author=admin, other=second)


def test_the_migration_takes_the_earlier_editors_from_the_audit_trail(unmigrated_url):
    """A change request edited before 0031 keeps its editors out of its internal approval."""
    from pathlib import Path

    from flask_migrate import upgrade

    from portal.models import Account, AuditEvent, ChangeRequest, Contract
    from tests.conftest import app_session, base_config
    from tests.helpers import insert_as_of

    migrations = str(Path(__file__).resolve().parents[1] / "migrations")
    with app_session(base_config(unmigrated_url)) as session:
        upgrade(directory=migrations, revision="0030")
        account_id = insert_as_of(session, Account, name="Legacy", country="GB", timezone="UTC", tier="key",
                                  document_languages=["en"], cr_approval_threshold=Decimal(50000))
        people = [insert_as_of(session, User, email=f"{name}@firm.example", name=name, role=role, password_hash="x")
                  for name, role in (("author", "account_manager"), ("editor", "admin"))]
        contract_id = insert_as_of(session, Contract, account_id=account_id, number="MSA-1", title={"en": "MSA"},
                                   start_date=date(2026, 1, 1), end_date=date(2027, 12, 31), currency="USD",
                                   annual_value=Decimal(0))
        crs = [insert_as_of(session, ChangeRequest, account_id=account_id, contract_id=contract_id, number=number,
                            title={"en": number}, description={}, effective_date=date(2027, 1, 1), status="draft",
                            currency="USD", price_impact=Decimal(0), created_by_id=people[0])
               for number in ("CR-0001", "CR-0002")]
        for actor in (people[1], people[1], people[0]):
            insert_as_of(session, AuditEvent, account_id=account_id, actor_id=actor, action="change_request.edited",
                         object_type="ChangeRequest", object_id=crs[0], created_at=datetime.now(UTC))
        session.commit()
        upgrade(directory=migrations, revision="0031")
        editors = dict(session.execute(sa.select(ChangeRequest.number, ChangeRequest.editor_ids)).all())
    assert editors == {"CR-0001": [people[1], people[0]], "CR-0002": []}


def test_concurrent_disputes_of_one_invoice_open_one_enquiry(app, session, world):
    invoice = world["invoice"]
    client = app.test_client()
    token = bearer(api_token(client, "client.approver@alpha.example"))
    url = f"/api/v1/invoices/{invoice.id}/dispute"
    barrier, statuses = threading.Barrier(16), []

    def dispute():
        barrier.wait(timeout=30)
        statuses.append(app.test_client().post(url, headers=token, json={"reason": "Wrong volume"}).status_code)

    threads = [threading.Thread(target=dispute) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [201] + [409] * 15
    assert _count(session, ServiceRequest, ServiceRequest.invoice_id == invoice.id) == 1
    assert session.scalar(sa.select(Invoice.status).where(Invoice.id == invoice.id)) is InvoiceStatus.DISPUTED


# --- a request sent twice does its work once ----------------------------------------------


def test_a_new_request_posted_twice_with_one_idempotency_key_is_raised_once(app, session, world):
    client = app.test_client()
    headers = {**bearer(api_token(client, "client.approver@alpha.example")), "Idempotency-Key": "raise-once-1"}
    body = {"category": "service", "subject": "Payslips late", "description": "Again.", "priority": "high"}
    first = client.post("/api/v1/requests", headers=headers, json=body)
    again = client.post("/api/v1/requests", headers=headers, json=body)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    assert _count(session, ServiceRequest, ServiceRequest.subject == "Payslips late") == 1
    other = client.post("/api/v1/requests", headers=headers, json={**body, "subject": "Another"})
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


def test_a_form_that_creates_something_sent_twice_creates_it_once(app, session, world):
    browser = _signed_in(app, "client.approver@alpha.example")
    page = browser.get("/requests/new").text
    form = {"category": "service", "subject": "Sent twice", "description": "A double click.", "priority": "normal",
            "csrf_token": csrf_token(page), "once": _once(page)}
    first = browser.client.post("/requests/new", data=form)
    again = browser.client.post("/requests/new", data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"], "the second goes where the first went"
    assert _count(session, ServiceRequest, ServiceRequest.subject == "Sent twice") == 1
    fresh = browser.get("/requests/new").text
    assert _once(fresh) != form["once"], "each form shown carries a token of its own"
    other = browser.client.post("/requests/new", data={**form, "csrf_token": csrf_token(fresh), "once": _once(fresh)})
    assert other.status_code == 302
    assert _count(session, ServiceRequest, ServiceRequest.subject == "Sent twice") == 2


def test_twin_forms_sent_at_the_same_moment_create_one_thing(app, session, world):
    browser = _signed_in(app, "client.approver@alpha.example")
    page = browser.get("/requests/new").text
    form = {"category": "service", "subject": "Twins", "description": "Two tabs.", "priority": "normal",
            "csrf_token": csrf_token(page), "once": _once(page)}
    cookie = browser.client.get_cookie("portal_session")
    barrier, locations = threading.Barrier(8), []

    def send():
        client = app.test_client()
        client.set_cookie("portal_session", cookie.value)
        barrier.wait(timeout=30)
        locations.append(client.post("/requests/new", data=form).headers.get("Location"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(locations) == 8 and len(set(locations)) == 1 and locations[0].startswith("/requests/")
    assert _count(session, ServiceRequest, ServiceRequest.subject == "Twins") == 1


def _once(html: str) -> str:
    import re

    return re.search(r'name="once" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.browser
def test_a_file_too_large_is_refused_in_the_page_and_what_was_typed_stays(page, session, world):
    from tests.conftest import screenshot

    page.goto("/login")
    page.fill("input[name=email]", "client.approver@alpha.example")
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/")
    page.goto("/requests/new")
    page.select_option("select[name=category]", "service")
    page.fill("input[name=subject]", "Scan of the payslips")
    page.fill("textarea[name=description]", "Attached, the scans.")
    page.set_input_files("input[name=attachments]", files=[
        {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b" " * (10 * 1024 * 1024)}])
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    problem = page.locator("small.upload-problem")
    problem.wait_for()
    assert problem.inner_text() == "scan.pdf is larger than 10 MB."
    assert page.url.endswith("/requests/new"), "nothing was sent"
    assert page.input_value("input[name=subject]") == "Scan of the payslips"
    screenshot(page, "upload-too-large")
    assert _count(session, ServiceRequest, ServiceRequest.subject == "Scan of the payslips") == 0
