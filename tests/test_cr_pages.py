"""The change request pages: drafting through the form (with "Add a line" working
without JavaScript), submitting, the client's approval with typed name and consent on
a fresh sign-in only, the tracker and its CSV/XLSX exports, issuing and downloading the
amendment, the pages in Chinese and Vietnamese, and, in headless Chromium, a Chinese
approver approving and downloading the bilingual amendment.

Other accounts' ids answering 404 on every route is proven in ``test_access``."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from portal.change_requests import service
from portal.documents.service import issue_amendment
from portal.models import Approval, ApprovalStage, ChangeRequest, CRStatus, Decision, Document, LineChange, Role
from tests.conftest import PASSWORD, screenshot, sign_in_page
from tests.docgen.reading import full_text, open_docx
from tests.factories import build_admin, make_user
from tests.helpers import REMEMBER_COOKIE, latest, only_cookie, signed_in, translated

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
APPROVER_NAME = "Client.Approver"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EFFECTIVE = date.today() + timedelta(days=30)


def cr_form(**fields) -> dict:
    """The new-CR form as a browser posts it: one added line."""
    return {
        "title_en": "Payroll in Vietnam", "description_en": "Ten more payslips a month.", "in_scope": "out",
        "effective_date": EFFECTIVE.isoformat(), "lines-0-change": "add", "lines-0-scope_line": "0",
        "lines-0-description_en": "Payroll, Vietnam", "lines-0-unit": "payslip", "lines-0-quantity": "10",
        "lines-0-unit_price": "8.50", "save": "Save draft", **fields,
    }


def newest_cr(session) -> ChangeRequest:
    return latest(session).scalar(sa.select(ChangeRequest).order_by(ChangeRequest.id.desc()))


def pending_cr(session, world, *, title=None, quantity=10) -> ChangeRequest:
    """A CR drafted and submitted by the account manager (below the threshold)."""
    manager = world.user(Role.ACCOUNT_MANAGER)
    cr = service.create_draft(session, world["contract"], manager, title=title or {"en": "Payroll in Vietnam"},
                              description={"en": "Ten more payslips a month.", "zh": "每月增加十份工资单。",
                                           "vi": "Thêm mười phiếu lương mỗi tháng."}, in_scope=False,
                              effective_date=EFFECTIVE, lines=[service.LineInput(
                                  LineChange.ADD, {"en": "Payroll, Vietnam", "zh": "越南薪资", "vi": "Lương, Việt Nam"},
                                  "payslip", Decimal(quantity), Decimal("8.50"))])
    service.submit(session, cr, world.account, manager)
    session.commit()
    return cr


def approve_form(cr, name=APPROVER_NAME, **fields) -> dict:
    return {"version": cr.version, "signature_name": name, "consent": "y", "approve": "Approve", **fields}


def client_approvals(session, cr) -> list[Approval]:
    return latest(session).scalars(sa.select(Approval).where(Approval.change_request_id == cr.id,
                                                             Approval.stage == ApprovalStage.CLIENT)).all()


# --- drafting ----------------------------------------------------------------------------


def test_the_account_manager_drafts_a_cr_through_the_form(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/change-requests/new?account={alpha.account.id}"
    page = am.get(url)
    assert page.status_code == 200
    for name in ("title_en", "effective_date", "in_scope", "lines-0-change", "lines-0-scope_line",
                 "lines-0-description_en", "lines-0-unit", "lines-0-quantity", "lines-0-unit_price"):
        assert f'name="{name}"' in page.text, name

    payroll = alpha["scope_line"]
    response = am.post_form(url, cr_form(**{
        "in_scope": "in", "lines-1-change": "modify", "lines-1-scope_line": str(payroll.id), "lines-1-unit": "",
        "lines-1-quantity": "120", "lines-1-unit_price": "10.00"}), page=url)
    assert response.status_code == 302
    cr = newest_cr(session)
    assert response.headers["Location"] == f"/change-requests/{cr.id}"
    assert (cr.status, cr.title, cr.in_scope, cr.effective_date) == (CRStatus.DRAFT, {"en": "Payroll in Vietnam"},
                                                                     True, EFFECTIVE)
    added, modified = cr.lines
    assert (added.change, added.description, added.quantity, added.unit_price) == (
        LineChange.ADD, {"en": "Payroll, Vietnam"}, Decimal(10), Decimal("8.50"))
    assert (modified.change, modified.scope_line_id, modified.old_quantity) == (LineChange.MODIFY, payroll.id,
                                                                               Decimal(100))
    assert cr.price_impact == Decimal("285.00")
    detail = am.get(response.headers["Location"]).text
    assert f"Draft {cr.number} saved" in detail and "$285.00" in detail


def test_add_a_line_works_without_javascript(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/change-requests/new?account={alpha.account.id}"
    before = session.scalar(sa.select(sa.func.count()).select_from(ChangeRequest))
    page = am.post_form(url, {**cr_form(), "add_line": "Add a line"}, page=url)
    assert page.status_code == 200
    assert 'name="lines-1-change"' in page.text and 'name="lines-2-change"' not in page.text
    assert 'value="Payroll, Vietnam"' in page.text, "what was typed is kept"
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == before

    laos = {"lines-1-change": "add", "lines-1-scope_line": "0", "lines-1-description_en": "Payroll, Laos",
            "lines-1-unit": "payslip", "lines-1-quantity": "5", "lines-1-unit_price": "9.00"}
    again = am.post_form(url, {**cr_form(), **laos, "add_line": "Add a line"}, page=url)
    assert 'name="lines-2-change"' in again.text and 'value="Payroll, Laos"' in again.text

    removed = {"lines-2-change": "add", "lines-2-scope_line": "0", "lines-2-description_en": "Ticked for removal",
               "lines-2-unit": "payslip", "lines-2-quantity": "1", "lines-2-unit_price": "1", "lines-2-delete": "y"}
    saved = am.post_form(url, cr_form(**laos, **removed), page=url)
    assert saved.status_code == 302
    cr = newest_cr(session)
    assert [line.description["en"] for line in cr.lines] == ["Payroll, Vietnam", "Payroll, Laos"]
    assert cr.price_impact == Decimal("130.00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title_en": ""}, "This field is required."),
        ({"lines-0-quantity": "-1"}, "Number must be at least 0."),
        ({"lines-0-unit_price": "eight"}, "Enter a number such as 99.5."),
        ({"effective_date": "next week"}, '<small class="errors" id="effective_date-errors">'),
        ({"lines-0-change": "remove"}, "Choose the contract line to change or remove."),
        ({"lines-0-description_en": ""}, "A new line needs a description and a unit."),
    ],
    ids=["no-title", "negative-quantity", "bad-price", "bad-date", "remove-without-line", "add-without-description"],
)
def test_a_bad_form_is_shown_again_with_the_problem_and_nothing_is_saved(session, alpha, new_browser, fields, message):
    am = signed_in(new_browser, AM)
    url = f"/change-requests/new?account={alpha.account.id}"
    before = session.scalar(sa.select(sa.func.count()).select_from(ChangeRequest))
    page = am.post_form(url, cr_form(**fields), page=url)
    assert page.status_code == 200
    assert message in page.text
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == before


def test_submit_from_the_page_freezes_a_version(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/change-requests/new?account={alpha.account.id}"
    location = am.post_form(url, cr_form(), page=url).headers["Location"]
    detail = am.get(location).text
    assert "Submit for approval" in detail
    response = am.post_form(f"{location}/submit", {"submit": "Submit for approval"}, page=location)
    assert response.status_code == 302 and response.headers["Location"] == location
    cr = newest_cr(session)
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL and len(cr.version) == 64
    page = am.get(location).text
    assert "Submitted for approval (version 1)." in page and cr.version in page


# --- the client's decision -------------------------------------------------------------------


def test_the_approver_sees_approves_and_sees_the_status(session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    home = approver.get("/").text
    assert "Change request to approve" in home and f'href="/change-requests/{cr.id}"' in home  # the inbox

    url = f"/change-requests/{cr.id}"
    detail = approver.get(url).text
    assert cr.version in detail and 'name="signature_name"' in detail and 'name="consent"' in detail
    assert f'name="version" type="hidden" value="{cr.version}"' in detail
    response = approver.post_form(f"{url}/approve", approve_form(cr, name="  client.approver "), page=url)
    assert response.status_code == 302 and response.headers["Location"] == url
    page = approver.get(url).text
    assert f"You approved {cr.number}." in page
    assert '<span class="badge badge-ok">Approved</span>' in page
    assert 'name="signature_name"' not in page, "no second decision is offered"
    [approval] = client_approvals(session, cr)
    assert (approval.signature_name, approval.version_hash, approval.ip) == ("client.approver", cr.version, "127.0.0.1")
    assert f'href="/change-requests/{cr.id}"' not in approver.get("/").text, "no longer waiting"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consent": ""}, "Tick the box to confirm your approval."),
        ({"signature_name": "Someone Else"}, "Type your full name as registered: Client.Approver"),
        ({"signature_name": ""}, "This field is required."),
    ],
    ids=["no-consent", "other-name", "no-name"],
)
def test_without_consent_or_the_right_name_nothing_is_approved(session, alpha, new_browser, fields, message):
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/change-requests/{cr.id}"
    data = {k: v for k, v in approve_form(cr, **fields).items() if v != ""}
    approver.post_form(f"{url}/approve", data, page=url)
    assert message in approver.get(url).text
    assert client_approvals(session, cr) == []
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


def test_approving_a_page_whose_cr_changed_meanwhile_is_refused(session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/change-requests/{cr.id}"
    seen = approve_form(cr)  # the page as the approver loaded it
    am = signed_in(new_browser, AM)
    edit = f"{url}/edit"
    assert "Saving makes a new version" in am.get(edit).text
    saved = am.post_form(edit, cr_form(**{"lines-0-quantity": "12"}), page=edit)
    assert saved.status_code == 302
    assert "Saved as version 2" in am.get(url).text

    approver.post_form(f"{url}/approve", seen, page=url)
    assert "decided or changed in the meantime" in approver.get(url).text
    assert client_approvals(session, cr) == []
    assert latest(session).get(ChangeRequest, cr.id).version_number == 2


def test_a_session_restored_from_remember_me_must_reauthenticate_before_approving(app, session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    original = signed_in(new_browser, CLIENT, remember=True)
    restored = only_cookie(app, original, REMEMBER_COOKIE)
    url = f"/change-requests/{cr.id}"
    detail = restored.get(url).text
    assert "Confirm your password" in detail and 'name="signature_name"' not in detail

    response = restored.post_form(f"{url}/approve", approve_form(cr), page=url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/reauthenticate")
    assert client_approvals(session, cr) == []

    confirm = restored.post_form(f"/reauthenticate?next={url}", {"password": PASSWORD}, page="/reauthenticate")
    assert confirm.status_code == 302 and confirm.headers["Location"] == url
    assert restored.post_form(f"{url}/approve", approve_form(cr), page=url).headers["Location"] == url
    assert len(client_approvals(session, cr)) == 1


def test_a_sign_in_older_than_the_fresh_window_must_confirm_the_password_before_approving(app, session, alpha,
                                                                                         new_browser):
    """As an API token must be: a session signed in hours ago (never idle long enough to
    end) proves nobody is at the keyboard now."""
    from portal.security import FRESH_AT

    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    window = app.config["FRESH_SIGN_IN"].total_seconds()
    with approver.client.session_transaction() as cookie:
        cookie[FRESH_AT] -= window + 60
    url = f"/change-requests/{cr.id}"
    assert "Confirm your password" in approver.get(url).text
    response = approver.post_form(f"{url}/approve", approve_form(cr), page=url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/reauthenticate")
    assert client_approvals(session, cr) == []
    confirm = approver.post_form(f"/reauthenticate?next={url}", {"password": PASSWORD}, page="/reauthenticate")
    assert confirm.status_code == 302 and confirm.headers["Location"] == url
    assert approver.post_form(f"{url}/approve", approve_form(cr), page=url).headers["Location"] == url
    assert len(client_approvals(session, cr)) == 1


def test_an_approval_without_the_form_token_is_refused(session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    response = approver.client.post(f"/change-requests/{cr.id}/approve", data=approve_form(cr))
    assert response.status_code == 400
    assert client_approvals(session, cr) == []


def test_the_approval_form_does_not_announce_valid_fields_as_invalid(session, alpha, new_browser):
    """WAI-ARIA: an aria-invalid value other than false/grammar/spelling/true counts as
    true, so a screen reader would call every field of the form invalid."""
    cr = pending_cr(session, alpha)
    page = signed_in(new_browser, CLIENT).get(f"/change-requests/{cr.id}").text
    fields = re.findall(r'<(?:input|textarea)[^>]*name="(?:signature_name|consent|reason)"[^>]*>', page)
    assert len(fields) == 3
    for field in fields:
        assert 'aria-invalid="None"' not in field and 'autocomplete="None"' not in field, field


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_viewer_may_not_decide(session, alpha, new_browser, action):
    cr = pending_cr(session, alpha)
    viewer = signed_in(new_browser, VIEWER)
    url = f"/change-requests/{cr.id}"
    page = viewer.get(url).text
    assert 'name="signature_name"' not in page
    response = viewer.post_form(f"{url}/{action}", {**approve_form(cr, "Client.Viewer"), "reason": "No."}, page=url)
    assert response.status_code == 403
    assert client_approvals(session, cr) == []


def test_the_approver_rejects_with_a_reason(session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/change-requests/{cr.id}"
    approver.post_form(f"{url}/reject", {"version": cr.version, "reject": "Reject"}, page=url)
    assert "Give a reason for the rejection." in approver.get(url).text
    approver.post_form(f"{url}/reject", {"version": cr.version, "reason": "Not this quarter.", "reject": "Reject"},
                       page=url)
    page = approver.get(url).text
    assert f"You rejected {cr.number}." in page and "Not this quarter." in page
    [rejection] = client_approvals(session, cr)
    assert rejection.decision is Decision.REJECTED


def test_above_the_threshold_an_admin_other_than_the_author_approves_on_the_page(session, alpha, new_browser):
    author = build_admin(session)
    make_user(session, "second.admin@firm.example", Role.ADMIN)
    session.commit()
    cr = service.create_draft(session, alpha["contract"], author, title={"en": "Large change"}, description={},
                              in_scope=False, effective_date=EFFECTIVE, lines=[service.LineInput(
                                  LineChange.ADD, {"en": "Payroll"}, "payslip", Decimal(6000), Decimal(10))])
    service.submit(session, cr, alpha.account, author)
    session.commit()
    url = f"/change-requests/{cr.id}"
    form = {"version": cr.version, "approve": "Approve"}

    drafter = signed_in(new_browser, "admin@firm.example")
    assert "another administrator approves it" in drafter.get(url).text
    drafter.post_form(f"{url}/internal-decision", form, page=url)
    assert "Someone other than the author" in drafter.get(url).text

    second = signed_in(new_browser, "second.admin@firm.example")
    assert second.post_form(f"{url}/internal-decision", form, page=url).status_code == 302
    assert "Approved. The change request now waits for the client&#39;s decision." in second.get(url).text
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


def test_the_account_manager_implements_an_approved_cr_from_the_page(session, alpha, new_browser):
    cr = pending_cr(session, alpha)
    service.decide(session, cr, alpha.account, alpha.user(Role.CLIENT_APPROVER), version=cr.version,
                   decision=Decision.APPROVED, signature_name=APPROVER_NAME)
    session.commit()
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{cr.id}"
    assert "Mark as implemented" in am.get(url).text
    am.post_form(f"{url}/implement", {"submit": "Mark as implemented"}, page=url)
    page = am.get(url).text
    assert "Implemented: the contract&#39;s scope and annual value are updated." in page
    assert "Mark as implemented" not in page
    contract = latest(session).get(type(alpha["contract"]), alpha["contract"].id)
    assert contract.annual_value == Decimal("1085.00")  # payroll 100 × 10.00 + the new 10 × 8.50


# --- the tracker and its exports ---------------------------------------------------------------


@pytest.fixture
def decided(session, alpha):
    """One CR approved by the client, one rejected; the factories' CR still pending."""
    approved = pending_cr(session, alpha, title={"en": "=SUM(A1:A9) payroll"})
    service.decide(session, approved, alpha.account, alpha.user(Role.CLIENT_APPROVER), version=approved.version,
                   decision=Decision.APPROVED, signature_name=APPROVER_NAME)
    rejected = pending_cr(session, alpha, title={"en": "Payroll in Laos"}, quantity=3)
    service.decide(session, rejected, alpha.account, alpha.user(Role.CLIENT_APPROVER), version=rejected.version,
                   decision=Decision.REJECTED, reason="No.")
    session.commit()
    return approved, rejected


def test_the_tracker_lists_the_contracts_crs(session, alpha, decided, new_browser):
    approved, rejected = decided
    am = signed_in(new_browser, AM)
    url = f"/contracts/{alpha['contract'].id}/change-requests"
    page = am.get(url).text
    for cr in (alpha["change_request"], approved, rejected):
        assert f'href="/change-requests/{cr.id}"' in page
    assert page.index(rejected.number) < page.index(approved.number), "newest first"
    filtered = am.get(f"{url}?status=approved").text
    assert approved.number in filtered and rejected.number not in filtered


def test_the_tracker_exports_as_csv(session, alpha, decided, new_browser):
    approved, rejected = decided
    response = signed_in(new_browser, CLIENT).get(f"/contracts/{alpha['contract'].id}/change-requests?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data.startswith("\ufeff".encode())  # Excel reads the UTF-8 then
    header, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header[:3] == ["Number", "Title", "Status"] and header[-2:] == ["Approved by", "Version"]
    by_number = {row[0]: dict(zip(header, row)) for row in rows}
    assert set(by_number) == {alpha["change_request"].number, approved.number, rejected.number}
    row = by_number[approved.number]
    assert (row["Status"], row["Approved by"], row["Version"]) == ("Approved", APPROVER_NAME, approved.version)
    assert Decimal(row["Price impact"]) == Decimal("85.00") and row["Currency"] == "USD"
    assert row["Title"] == "'=SUM(A1:A9) payroll", "a title is never run as a formula"
    assert by_number[rejected.number]["Status"] == "Rejected" and by_number[rejected.number]["Approved by"] == ""


def test_the_tracker_exports_as_xlsx(session, alpha, decided, new_browser):
    approved, _ = decided
    response = signed_in(new_browser, AM).get(f"/contracts/{alpha['contract'].id}/change-requests?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    by_number = {row[0]: dict(zip(header, row)) for row in rows}
    row = by_number[approved.number]
    assert row["Price impact"] == 85 and row["Approved by"] == APPROVER_NAME and row["Version"] == approved.version
    assert row["Effective date"] is not None and row["Title"] == "'=SUM(A1:A9) payroll"
    assert len(by_number) == 3


def test_an_unknown_export_format_is_404(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    assert am.get(f"/contracts/{alpha['contract'].id}/change-requests?format=pdf").status_code == 404


# --- the amendment --------------------------------------------------------------------------


def test_the_amendment_is_issued_from_the_page_and_downloaded_from_documents(session, alpha, decided, new_browser):
    approved, _ = decided
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{approved.id}"
    pending_page = am.get(f"/change-requests/{alpha['change_request'].id}").text
    assert "Issue amendment" not in pending_page
    assert "Issue amendment" in am.get(url).text

    response = am.post_form(f"{url}/amendment", {"languages": "en", "submit": "Issue amendment"}, page=url)
    assert response.status_code == 302
    document = latest(session).scalar(sa.select(Document).where(Document.change_request_id == approved.id))
    page = am.get(url).text
    assert f"Amendment {document.number} issued." in page
    assert f'href="/documents/{document.id}/download"' in page and document.sha256 in page

    approver = signed_in(new_browser, CLIENT)
    listing = approver.get("/documents").text
    assert document.number in listing and f'href="/documents/{document.id}/download"' in listing
    download = approver.get(f"/documents/{document.id}/download")
    assert download.status_code == 200 and download.mimetype == DOCX
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(download.data).hexdigest() == document.sha256
    text = full_text(open_docx(download.data))
    assert approved.number in text and approved.version in text and APPROVER_NAME in text


def test_the_amendment_languages_are_the_accounts(session, alpha, decided, new_browser):
    approved, _ = decided
    alpha.account.document_languages = ["en", "zh"]
    session.commit()
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{approved.id}"
    [choices] = re.findall(r'<select[^>]*name="languages".*?</select>', am.get(url).text, re.S)
    assert re.findall(r'value="([^"]+)"', choices) == ["en", "zh", "en+zh"]
    am.post_form(f"{url}/amendment", {"languages": "vi", "submit": "Issue amendment"}, page=url)
    assert latest(session).scalar(sa.select(Document).where(Document.change_request_id == approved.id)) is None
    # The title "=SUM(A1:A9) payroll" has no Chinese: shown as written, marked (the gate's own tests are below)
    am.post_form(f"{url}/amendment", {"languages": "en+zh", "show_source_text": "y", "submit": "Issue amendment"},
                 page=url)
    document = latest(session).scalar(sa.select(Document).where(Document.change_request_id == approved.id))
    assert document.languages == ["en", "zh"]


# --- other languages ----------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "html_lang"), [("zh", "zh-Hans"), ("vi", "vi")])
def test_the_approval_pages_in_chinese_and_vietnamese(session, alpha, new_browser, language, html_lang):
    alpha.user(Role.CLIENT_APPROVER).language = language
    alpha.user(Role.ACCOUNT_MANAGER).language = language
    session.commit()
    cr = pending_cr(session, alpha, title={"en": "Payroll in Vietnam", "zh": "越南薪资", "vi": "Lương tại Việt Nam"})
    approver = signed_in(new_browser, CLIENT)
    home = approver.get("/").text
    assert f'<html lang="{html_lang}"' in home and translated(language, "Change request to approve") in home
    url = f"/change-requests/{cr.id}"
    detail = approver.get(url).text
    assert translated(language, "Your decision") in detail and cr.version in detail
    assert {"zh": "越南薪资", "vi": "Lương tại Việt Nam"}[language] in detail
    assert approver.post_form(f"{url}/approve", approve_form(cr), page=url).status_code == 302
    page = approver.get(url).text
    assert translated(language, "Approved") in page
    if language == "zh":
        assert "已批准" in page

    am = signed_in(new_browser, AM)
    form = am.get(f"/change-requests/new?account={alpha.account.id}")
    assert form.status_code == 200 and translated(language, "New change request") in form.text
    tracker = am.get(f"/contracts/{alpha['contract'].id}/change-requests")
    assert tracker.status_code == 200 and translated(language, "Change request tracker") in tracker.text


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_a_chinese_approver_approves_and_downloads_the_bilingual_amendment(page, session, alpha):
    approver = alpha.user(Role.CLIENT_APPROVER)
    approver.language, approver.name = "zh", "王小明"
    alpha.account.document_languages = ["en", "zh"]
    alpha.account.timezone = "Asia/Shanghai"
    session.commit()
    cr = pending_cr(session, alpha, title={"en": "Payroll in Vietnam", "zh": "越南薪资"})

    sign_in_page(page, CLIENT)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    waiting = page.locator("section.inbox")
    assert "待批准的变更请求" in waiting.inner_text()
    waiting.get_by_role("link", name=cr.number).click()
    page.wait_for_url(f"**/change-requests/{cr.id}")

    page.fill("input[name=signature_name]", "王小明")
    page.check("input[name=consent]")
    page.locator("input[name=approve]").click()
    page.wait_for_url(f"**/change-requests/{cr.id}")
    assert "已批准" in page.locator(".page-title").inner_text()
    assert "王小明" in page.locator("td.signature").inner_text()
    screenshot(page, "cr-approved-zh")

    session.rollback()
    stored = session.get(ChangeRequest, cr.id)
    document = issue_amendment(session, stored, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), ["en", "zh"])
    session.commit()

    page.goto("/documents")
    page.get_by_role("link", name=document.number).click()  # the document's page
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Word").click()
    download = download_info.value
    assert download.suggested_filename == f"{document.number}.docx"
    data = Path(download.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == document.sha256
    text = full_text(open_docx(data))
    assert "王小明" in text and cr.version in text and cr.number in text
    assert "越南薪资" in text and "合同补充协议" in text
