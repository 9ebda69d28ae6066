"""The workflow's rough edges, as the people who meet them see them: problems beside
their fields in the reader's words (and the page brought to the first, in Chromium);
why an action is not offered, naming who may take it; the account manager's way from
the tracker to a new change request; contract lines that read as text in the line
picker; a document's languages starting at the account's; a document previewed before
it is issued; reviewers deciding with buttons and told what happens next; and the
firm's internal plan remarks kept from the client on the page, in the API and in the
plan document."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.change_requests import service as cr_service
from portal.models import (
    ChangeRequest,
    Document,
    LineChange,
    Plan,
    PlanReview,
    PlanStatus,
    ReviewDecision,
    Role,
    ScopeLine,
    NumberSequence,
)
from portal.plans import service as plan_service
from tests.conftest import screenshot, sign_in_page
from tests.docgen.reading import full_text, open_docx
from tests.factories import build_admin, make_user, plan_awaiting_signoff, plan_in_review
from tests.helpers import approved_cr, flashes, latest, signed_in, translated

ROOT = Path(__file__).resolve().parent.parent
AM = "account.manager@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EFFECTIVE = date.today() + timedelta(days=30)


def pending_cr(session, world, **fields) -> ChangeRequest:
    """A CR drafted and submitted by ``world``'s account manager, pending the client."""
    manager = world.user(Role.ACCOUNT_MANAGER)
    cr = cr_service.create_draft(
        session, world["contract"], manager, title={"en": "Payroll in Vietnam", "zh": "越南薪资", "vi": "Lương"},
        description={}, in_scope=False, effective_date=EFFECTIVE, lines=[cr_service.LineInput(
            LineChange.ADD, {"en": "Payroll, Vietnam", "zh": "越南薪资", "vi": "Lương, Việt Nam"}, "payslip",
            Decimal(10), Decimal("8.50"))], **fields)
    cr_service.submit(session, cr, world.account, manager)
    session.commit()
    return cr


def plan_content() -> dict:
    return {"objectives": [{"en": "Close the books by working day 4.", "zh": "第4个工作日完成月结。",
                            "vi": "Khóa sổ trước ngày làm việc thứ 4."}]}


def set_language(session, world, role: Role, language: str) -> None:
    world.user(role).language = language
    session.commit()


# --- problems beside their fields, in the reader's words ----------------------------------


def _problems_written_by_services() -> dict[str, str]:
    """Every field problem the services write (``fields={...: "..."}``, ``fields[...] =
    "..."``, ``fields.setdefault(..., "...")``, ``problems.add(..., "...")``), the
    constant start of an f-string standing for it, with where it is written. The API's
    own checks and the imports' (which have their own words per row) are left out."""
    def text(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
            return node.values[0].value.rstrip(" (")
        return None

    found = {}
    for path in (ROOT / "portal").rglob("*.py"):
        if "api" in path.parts or path.name == "imports.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Call):
                values += [v for kw in node.keywords if kw.arg == "fields" and isinstance(kw.value, ast.Dict)
                           for v in kw.value.values]
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in ("setdefault", "add") and len(node.args) == 2 \
                        and isinstance(func.value, ast.Name) and func.value.id in ("fields", "problems"):
                    values.append(node.args[1])
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) \
                    and isinstance(node.targets[0].value, ast.Name) and node.targets[0].value.id == "fields":
                values.append(node.value)
            for value in values:
                if text(value):
                    found.setdefault(text(value), f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_problem_a_service_writes_has_words_for_the_reader(app):
    from portal.i18n import LABELS, problem

    found = _problems_written_by_services()
    assert "before the start date" in found and len(found) > 50  # the scan finds what it should
    with app.test_request_context():
        unknown = {text: where for text, where in found.items() if problem(text) == "Check this value."}
    assert not unknown, f"problems without words in LABELS['problem']: {unknown}"
    assert "before start_date" not in found and "before start_date" not in LABELS["problem"]


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_a_problem_without_words_is_never_shown_as_written(app, language):
    """A refusal naming two fields whose problems the portal has no words for: each field
    says "Check this value." in the reader's language, not ``end_date: before start_date``."""
    from flask_babel import force_locale
    from wtforms import Form, StringField

    from portal.forms import mark_problems

    class Dates(Form):
        start_date = StringField()
        end_date = StringField()

    with app.test_request_context(), force_locale(language):
        form = Dates()
        mark_problems(form, {"start_date": "after end_date", "end_date": "before start_date"}, "Some fields are wrong.")
        shown = [str(e) for f in form for e in f.errors]
    assert shown == [translated(language, "Check this value.")] * 2


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_work_order_ending_before_it_starts_says_so_beside_the_end_date(session, alpha, new_browser, language):
    set_language(session, alpha, Role.ACCOUNT_MANAGER, language)
    am = signed_in(new_browser, AM)
    url = f"/work-orders/new?account={alpha.account.id}"
    form = {"title_en": "Year-end close", "po_number": "PO-7", "start_date": "2027-03-31", "end_date": "2027-03-01",
            "languages": "en", "lines-0-description_en": "Close", "lines-0-unit": "day", "lines-0-quantity": "2",
            "lines-0-unit_price": "900", "save": "Issue work order"}
    page = am.post_form(url, form, page=url).text
    [note] = re.findall(r'<small class="errors" id="end_date-errors">(.*?)</small>', page)
    expected = "This date is before the start date."
    assert note == (expected if language == "en" else translated(language, expected))
    assert "start_date" not in flashes(page) and "before start_date" not in page
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="end_date"', page)


@pytest.mark.browser
def test_a_refused_form_brings_its_first_problem_into_view_and_focus(page, session, alpha):
    """On a phone the change request form is long: its lines come far below the fold.
    A quantity the server refuses is shown beside its field, scrolled to and focused."""
    page.set_viewport_size({"width": 390, "height": 740})
    sign_in_page(page, AM)
    page.goto(f"/change-requests/new?account={alpha.account.id}")
    page.fill("input[name=title_en]", "Payroll in Vietnam")
    page.fill("input[name=effective_date]", EFFECTIVE.isoformat())
    page.fill("input[name='lines-0-description_en']", "Payroll, Vietnam")
    page.fill("input[name='lines-0-quantity']", "-5")
    page.fill("input[name='lines-0-unit_price']", "8.50")
    page.locator("input[name=save]").click()
    page.wait_for_load_state("load")
    quantity = page.locator("input[name='lines-0-quantity']")
    assert quantity.get_attribute("aria-invalid") == "true"
    assert quantity.evaluate("field => document.activeElement === field")
    assert page.evaluate("window.scrollY") > 200  # brought down to it
    top, bottom = quantity.evaluate("f => { const r = f.getBoundingClientRect(); return [r.top, r.bottom]; }")
    assert 0 <= top and bottom <= 740
    screenshot(page, "first-problem-in-view-390")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_decision_refused_on_its_page_names_the_field_by_its_label(session, alpha, new_browser, language):
    set_language(session, alpha, Role.CLIENT_APPROVER, language)
    cr = pending_cr(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/change-requests/{cr.id}"
    approver.post_form(f"{url}/approve", {"version": cr.version, "signature_name": "", "consent": "y",
                                          "approve": "Approve"}, page=url)
    shown = flashes(approver.get(url).text)
    label, required = "Type your full name to sign", "This field is required."
    if language == "zh":
        label, required = translated("zh", label), "该字段是必填字段。"
    expected = "%(field)s: %(problem)s" if language == "en" else translated(language, "%(field)s: %(problem)s")
    assert expected % {"field": label, "problem": required} in shown
    assert "signature_name" not in shown and "version" not in shown


# --- why an action is not offered -----------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh", "vi"])
def test_a_client_viewer_reads_who_decides_a_change_request(session, alpha, new_browser, language):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    set_language(session, alpha, Role.CLIENT_VIEWER, language)
    cr = pending_cr(session, alpha)
    page = signed_in(new_browser, VIEWER).get(f"/change-requests/{cr.id}").text
    assert f'action="/change-requests/{cr.id}/approve"' not in page
    message = "Only the account's approver, %(names)s, can decide."
    if language != "en":
        message = translated(language, message)
    assert message % {"names": "Emma Richardson"} in page


def test_with_two_approvers_the_viewer_reads_both_names(session, alpha, new_browser):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    make_user(session, "second.approver@alpha.example", Role.CLIENT_APPROVER, alpha.account, name="Li Wei")
    cr = pending_cr(session, alpha)
    page = signed_in(new_browser, VIEWER).get(f"/change-requests/{cr.id}").text
    assert "Only the account's approvers, Emma Richardson and Li Wei, can decide." in page


def test_the_account_manager_reads_whose_decision_a_change_request_waits_for(session, alpha, new_browser):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    cr = pending_cr(session, alpha)
    page = signed_in(new_browser, AM).get(f"/change-requests/{cr.id}").text
    assert "The change request waits for the decision of the client's approver, Emma Richardson." in page


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_a_client_viewer_reads_who_signs_off_a_plan_and_who_reviews_it(session, alpha, new_browser, language):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    set_language(session, alpha, Role.CLIENT_VIEWER, language)
    plan = plan_awaiting_signoff(session, alpha, plan_content())
    page = signed_in(new_browser, VIEWER).get(f"/plans/{plan.id}").text
    assert f'action="/plans/{plan.id}/signoff"' not in page and f'action="/plans/{plan.id}/review"' not in page
    for message in ("Only the account's approver, %(names)s, can sign off this plan.",
                    "Only the account's approver, %(names)s, can comment on this plan or request changes."):
        assert translated(language, message) % {"names": "Emma Richardson"} in page


def test_the_firm_reads_whose_sign_off_a_plan_waits_for(session, alpha, new_browser):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    plan = plan_awaiting_signoff(session, alpha, plan_content())
    page = signed_in(new_browser, AM).get(f"/plans/{plan.id}").text
    assert "The plan waits for the sign-off of the client's approver, Emma Richardson." in page


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_firm_reads_who_acknowledges_a_scorecard(session, alpha, new_browser, language):
    alpha.user(Role.CLIENT_APPROVER).name = "Emma Richardson"
    alpha.user(Role.CLIENT_VIEWER).name = "Li Wei"
    set_language(session, alpha, Role.ACCOUNT_MANAGER, language)
    session.execute(sa.delete(alpha["acknowledgement"].__class__))
    session.commit()
    period = date.today().replace(day=1)
    page = signed_in(new_browser, AM).get(f"/scorecards/{alpha.account.id}?period={period:%Y-%m}").text
    message = "The client's users acknowledge the scorecard: %(names)s."
    names = {"en": "Emma Richardson and Li Wei", "zh": "Emma Richardson和Li Wei"}[language]
    expected = (message if language == "en" else translated(language, message)) % {"names": names}
    assert expected in page


# --- from the tracker to a new change request -------------------------------------------------


def test_the_account_manager_starts_a_change_request_from_the_tracker(session, worlds, new_browser):
    alpha, bravo = worlds
    admin = build_admin(session)
    session.commit()
    am = signed_in(new_browser, AM)
    tracker = am.get("/change-requests").text
    assert 'action="/change-requests/new"' in tracker and "New change request" in tracker
    # One account: the form names it; /change-requests/new without one goes to it.
    assert f'<input type="hidden" name="account" value="{alpha.account.id}">' in tracker
    assert am.get("/change-requests/new").headers["Location"] == f"/change-requests/new?account={alpha.account.id}"
    # The tracker names each change request's account for the firm.
    assert "<th>Account</th>" in tracker and "<td>Account Alpha</td>" in tracker

    chooser = signed_in(new_browser, admin.email)
    tracker = chooser.get(f"/change-requests?account={bravo.account.id}").text
    [choices] = re.findall(r'<select id="new-cr-account".*?</select>', tracker, re.S)
    assert f'<option value="{bravo.account.id}" selected>Account Bravo</option>' in choices
    assert f'<option value="{alpha.account.id}">Account Alpha</option>' in choices
    page = chooser.get("/change-requests/new")
    assert page.status_code == 200 and "Account Alpha" in page.text and "Account Bravo" in page.text
    form = chooser.get(f"/change-requests/new?account={bravo.account.id}")
    assert form.status_code == 200 and "Account Bravo" in form.text


def test_the_client_has_no_new_change_request_button_nor_account_column(session, alpha, new_browser):
    pending_cr(session, alpha)
    tracker = signed_in(new_browser, CLIENT).get("/change-requests").text
    assert "New change request" not in tracker and "<th>Account</th>" not in tracker


# --- the line picker ---------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "text"), [
    ("en", "Payroll, 4,200 payslips × CN¥14.50"),
    ("zh", "薪资处理，4,200 份工资单 × ¥14.50"),
    ("vi", "Tính lương, 4.200 phiếu lương × 14,50\xa0CN¥"),
])
def test_contract_lines_read_as_text_in_the_line_picker(session, alpha, new_browser, language, text):
    contract = alpha["contract"]
    contract.currency = "CNY"
    line = alpha["scope_line"]
    line.service = {"en": "Payroll", "zh": "薪资处理", "vi": "Tính lương"}
    line.quantity, line.unit_price = Decimal(4200), Decimal("14.50")
    session.add(ScopeLine(account_id=alpha.account.id, contract=contract, service={"en": "Service desk"},
                          unit="user-month", quantity=Decimal(1), unit_price=Decimal("180")))
    set_language(session, alpha, Role.ACCOUNT_MANAGER, language)
    page = signed_in(new_browser, AM).get(f"/change-requests/new?account={alpha.account.id}").text
    options = re.findall(r'<option value="\d+">([^<]*)</option>', page)
    assert text in options
    one = {"en": "Service desk, 1 user-month × CN¥180.00", "zh": "Service desk，1 用户·月 × ¥180.00",
           "vi": "Service desk, 1 người dùng-tháng × 180,00\xa0CN¥"}[language]
    assert one in options


# --- a document's languages start at the account's --------------------------------------------


def _selected(page: str, name: str) -> str:
    [select] = re.findall(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    return re.findall(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', select)[0]


def test_an_amendments_languages_start_at_the_accounts_document_languages(session, alpha, new_browser):
    alpha.account.document_languages = ["en", "zh"]
    cr = approved_cr(session, alpha, pending_cr(session, alpha))
    plan = plan_in_review(session, alpha, plan_content())
    am = signed_in(new_browser, AM)
    assert "en+zh" in _selected(am.get(f"/change-requests/{cr.id}").text, "languages")
    assert "en+zh" in _selected(am.get(f"/plans/{plan.id}").text, "languages")
    assert "en+zh" in _selected(am.get(f"/work-orders/new?account={alpha.account.id}").text, "languages")
    alpha.account.document_languages = ["vi"]
    session.commit()
    assert "vi" in _selected(am.get(f"/change-requests/{cr.id}").text, "languages")


# --- previews -----------------------------------------------------------------------------------


def _counters(session) -> dict[str, int]:
    return {s.key: s.last_value for s in latest(session).scalars(sa.select(NumberSequence))}


def test_an_amendment_is_previewed_before_it_is_issued_without_taking_a_number(session, alpha, new_browser):
    alpha.account.document_languages = ["en", "zh"]
    cr = approved_cr(session, alpha, pending_cr(session, alpha))
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{cr.id}"
    assert 'name="preview"' in am.get(url).text
    before = _counters(session)
    preview = am.post_form(f"{url}/amendment", {"languages": "en+zh", "preview": "Preview"}, page=url)
    assert preview.status_code == 200 and preview.mimetype == DOCX
    year = alpha.account.today().year
    assert f'filename=AMD-{year}-PREVIEW.docx' in preview.headers["Content-Disposition"]
    text = full_text(open_docx(preview.data))
    assert f"AMD-{year}-PREVIEW" in text and cr.number in text and "合同补充协议" in text
    assert latest(session).scalar(sa.select(Document).where(Document.change_request_id == cr.id)) is None
    assert _counters(session) == before  # no number taken

    issued = am.post_form(f"{url}/amendment", {"languages": "en+zh", "submit": "Issue amendment"}, page=url)
    assert issued.status_code == 302
    document = latest(session).scalar(sa.select(Document).where(Document.change_request_id == cr.id))
    assert document.number == f"AMD-{year}-0001"


def test_a_preview_refused_like_an_issue_says_why_on_the_page(session, alpha, new_browser):
    alpha.account.document_languages = ["en", "vi"]
    cr = approved_cr(session, alpha, pending_cr(session, alpha))
    cr.title = {"en": "Payroll in Vietnam"}  # no Vietnamese title
    session.commit()
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{cr.id}"
    refused = am.post_form(f"{url}/amendment", {"languages": "en+vi", "preview": "Preview"}, page=url)
    assert refused.status_code == 200 and refused.mimetype == "text/html"
    assert "Some texts have no translation" in flashes(refused.text)


def test_a_plan_document_and_a_work_order_are_previewed_too(session, alpha, new_browser):
    plan = plan_in_review(session, alpha, plan_content())
    am = signed_in(new_browser, AM)
    url = f"/plans/{plan.id}"
    preview = am.post_form(f"{url}/document", {"languages": "en", "preview": "Preview"}, page=url)
    assert preview.mimetype == DOCX and "filename=JBP-FY2028-PREVIEW.docx" in preview.headers["Content-Disposition"]
    assert "Close the books by working day 4." in full_text(open_docx(preview.data))
    assert latest(session).scalar(sa.select(Document).where(Document.plan_id == plan.id)) is None

    url = f"/work-orders/new?account={alpha.account.id}"
    form = {"title_en": "Year-end close", "po_number": "PO-7", "start_date": "2027-03-01", "end_date": "2027-03-31",
            "languages": "en", "lines-0-description_en": "Close", "lines-0-unit": "day", "lines-0-quantity": "2",
            "lines-0-unit_price": "900", "preview": "Preview"}
    preview = am.post_form(url, form, page=url)
    year = alpha.account.today().year
    assert preview.mimetype == DOCX and f"filename=WO-{year}-PREVIEW.docx" in preview.headers["Content-Disposition"]
    assert "Year-end close" in full_text(open_docx(preview.data))
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(Document)
                                  .where(Document.number.like("WO-%"))) == 0


# --- reviewers decide with buttons, and are told what happens next -----------------------------


def test_a_reviewer_approves_with_a_button_and_reads_what_happens_next(session, alpha, new_browser):
    plan = plan_in_review(session, alpha, plan_content())
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    page = reviewer.get(url).text
    assert 'name="decision"' not in page
    for name, value in (("approve", "Approve"), ("request_changes", "Request changes"), ("comment", "Send the comment")):
        assert f'name="{name}" type="submit" value="{value}"' in page
    answer = reviewer.post_form(f"{url}/review", {"version": plan.version, "body": "", "approve": "Approve"}, page=url)
    assert answer.status_code == 302
    assert "Approved. The plan now waits for the client&#39;s sign-off." in flashes(reviewer.get(url).text)
    assert latest(session).scalar(sa.select(Plan).where(Plan.id == plan.id)).status is PlanStatus.PENDING_SIGNOFF


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_an_approval_awaiting_another_reviewer_names_them(session, alpha, new_browser, language):
    other = make_user(session, "second.reviewer@alpha.example", Role.REGIONAL_REVIEWER, name="Nguyen Van An")
    from portal.admin.service import assign

    assign(session, other, alpha.account)
    set_language(session, alpha, Role.REGIONAL_REVIEWER, language)
    plan = plan_in_review(session, alpha, plan_content())
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    reviewer.post_form(f"{url}/review", {"version": plan.version, "approve": "Approve"}, page=url)
    expected = translated(language, "Approved. The plan now waits for the approval of %(names)s.")
    assert expected % {"names": "Nguyen Van An"} in flashes(reviewer.get(url).text)


def test_the_client_approver_has_no_approve_button_and_requests_changes_with_one(session, alpha, new_browser):
    plan = plan_in_review(session, alpha, plan_content())
    approver = signed_in(new_browser, CLIENT)
    url = f"/plans/{plan.id}"
    page = approver.get(url).text
    assert 'name="approve"' not in page and 'name="request_changes"' in page and 'name="shared"' not in page
    answer = approver.post_form(f"{url}/review", {"version": plan.version, "body": "Add the Q4 budget.",
                                                  "request_changes": "Request changes"}, page=url)
    assert answer.status_code == 302  # the form's own sign-in is fresh
    assert latest(session).scalar(sa.select(Plan).where(Plan.id == plan.id)).status is PlanStatus.CHANGES_REQUESTED


def test_a_comment_without_words_is_refused_beside_its_field(session, alpha, new_browser):
    plan = plan_in_review(session, alpha, plan_content())
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    refused = reviewer.post_form(f"{url}/review", {"version": plan.version, "body": " ", "comment": "Send the comment"},
                                 page=url)
    assert refused.status_code == 200
    assert '<small class="errors" id="body-errors">Required.</small>' in refused.text
    assert "Write your comment first." in flashes(refused.text) and "Only the firm reads it" not in refused.text


def test_the_document_reviewer_and_the_internal_approver_approve_with_a_button_named_approve(session, alpha,
                                                                                            new_browser):
    from portal.change_requests.forms import InternalDecisionForm
    from portal.documents.forms import DocumentReviewForm

    assert str(DocumentReviewForm.approve.args[0]) == str(InternalDecisionForm.approve.args[0]) == "Approve"


# --- internal plan remarks -----------------------------------------------------------------------


def _reviews_of(session, plan) -> list[PlanReview]:
    return list(latest(session).scalars(sa.select(PlanReview).where(PlanReview.plan_id == plan.id)
                                        .order_by(PlanReview.id)))


def test_a_firm_reviewers_remark_is_internal_unless_shared(session, alpha, new_browser, client, auth):
    alpha.account.document_languages = ["en", "zh"]
    plan = plan_in_review(session, alpha, plan_content())
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    reviewer.post_form(f"{url}/review", {"version": plan.version, "body": "The client's CFO will push back on this.",
                                         "comment": "Send the comment"}, page=url)
    assert "Your comment is recorded. Only the firm reads it." in flashes(reviewer.get(url).text)
    reviewer.post_form(f"{url}/review", {"version": plan.version, "body": "Please confirm the close calendar.",
                                         "shared": "y", "comment": "Send the comment"}, page=url)
    internal, shared = _reviews_of(session, plan)[-2:]
    assert (internal.internal, shared.internal) == (True, False)

    firm_page = signed_in(new_browser, AM).get(url).text
    assert "CFO will push back" in firm_page and "Internal: only the firm reads it" in firm_page
    for email in (CLIENT, VIEWER):
        client_page = signed_in(new_browser, email).get(url).text
        assert "CFO will push back" not in client_page and "Please confirm the close calendar." in client_page

    answer = client.get(f"/api/v1/plans/{plan.id}", headers=auth(CLIENT)).json
    assert [r["body"] for r in answer["reviews"]] == ["Please confirm the close calendar."]
    firm = client.get(f"/api/v1/plans/{plan.id}", headers=auth(AM)).json
    assert {r["body"]: r["internal"] for r in firm["reviews"]} == {
        "The client's CFO will push back on this.": True, "Please confirm the close calendar.": False}


def test_an_approval_is_shared_and_its_internal_remark_stays_with_the_firm(session, alpha, new_browser):
    plan = plan_in_review(session, alpha, plan_content())
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    reviewer.post_form(f"{url}/review", {"version": plan.version, "body": "Their numbers look optimistic.",
                                         "approve": "Approve"}, page=url)
    approval, remark = _reviews_of(session, plan)[-2:]
    assert (approval.decision, approval.internal, approval.body) == (ReviewDecision.APPROVE, False, "")
    assert (remark.decision, remark.internal, remark.body) == (ReviewDecision.COMMENT, True,
                                                               "Their numbers look optimistic.")
    client_page = signed_in(new_browser, CLIENT).get(url).text
    assert "optimistic" not in client_page and "Approve" in client_page  # the firm's approval is the client's to read


def test_the_client_never_marks_a_remark_internal(session, alpha):
    plan = plan_in_review(session, alpha, plan_content())
    entry = plan_service.review(session, plan, alpha.account, alpha.user(Role.CLIENT_APPROVER),
                                decision=ReviewDecision.COMMENT, body="Looks good to us.", internal=True)
    assert entry.internal is False


def test_the_plan_document_leaves_internal_remarks_out(session, alpha):
    plan = plan_in_review(session, alpha, plan_content())
    manager, reviewer = alpha.user(Role.ACCOUNT_MANAGER), alpha.user(Role.REGIONAL_REVIEWER)
    plan_service.review(session, plan, alpha.account, reviewer, decision=ReviewDecision.COMMENT,
                        body="Internal: their CFO is leaving.")
    plan_service.review(session, plan, alpha.account, reviewer, decision=ReviewDecision.COMMENT,
                        body="Shared: confirm the calendar.", internal=False)
    document = plan_service.issue_document(session, plan, alpha.account, manager, ["en"])
    session.commit()
    text = full_text(open_docx(document.file.data))
    assert "Shared: confirm the calendar." in text and "CFO" not in text


def test_an_internal_remark_is_hidden_from_every_client_query(session, alpha):
    """The model's policy, not the page: a client's scope never loads an internal remark."""
    from portal.security import Scope, scoped_to

    plan = plan_in_review(session, alpha, plan_content())
    plan_service.review(session, plan, alpha.account, alpha.user(Role.REGIONAL_REVIEWER),
                        decision=ReviewDecision.COMMENT, body="For the firm.")
    session.commit()
    account_id, plan_id = alpha.account.id, plan.id
    session.expunge_all()
    with scoped_to(Scope(frozenset({account_id}), client=True)):
        bodies = session.scalars(sa.select(PlanReview.body).where(PlanReview.plan_id == plan_id)).all()
        reloaded = session.scalar(sa.select(Plan).where(Plan.id == plan_id))
        assert "For the firm." not in bodies and all(r.body != "For the firm." for r in reloaded.reviews)


def test_the_migration_makes_the_firms_earlier_remarks_internal(unmigrated_url):
    """Before 0021 every review reached the client; the firm's remarks (not its
    approvals, not the client's own reviews) become the firm's only."""
    from flask_migrate import upgrade

    from portal.models import Account, User
    from tests.conftest import app_session, base_config
    from tests.helpers import insert_as_of

    migrations = str(ROOT / "migrations")
    reviews = sa.table("plan_reviews", sa.column("id"), sa.column("account_id"), sa.column("plan_id"),
                       sa.column("reviewer_id"), sa.column("decision"), sa.column("body"), sa.column("language"),
                       sa.column("created_at", PlanReview.__table__.c.created_at.type))
    with app_session(base_config(unmigrated_url)) as session:
        upgrade(directory=migrations, revision="0020")
        account_id = insert_as_of(session, Account, name="Legacy", country="GB", timezone="UTC", tier="key",
                                  document_languages=["en"], cr_approval_threshold=Decimal(50000))
        people = {role: insert_as_of(session, User, email=f"{role}@legacy.example", name=role, role=role,
                                     password_hash="x", account_id=account_id if role.startswith("client") else None)
                  for role in ("regional_reviewer", "account_manager", "client_approver")}
        plan_id = insert_as_of(session, Plan, account_id=account_id, plan_type="jbp", period="FY2027", currency="USD",
                               content={}, status="in_review")
        rows = [("regional_reviewer", "comment"), ("regional_reviewer", "approve"),
                ("account_manager", "request_changes"), ("client_approver", "comment")]
        session.execute(sa.insert(reviews), [
            {"account_id": account_id, "plan_id": plan_id, "reviewer_id": people[role], "decision": decision,
             "body": f"{role} {decision}", "language": "en", "created_at": datetime.now(UTC)} for role, decision in rows])
        session.commit()
        upgrade(directory=migrations, revision="0021")
        internal = dict(session.execute(sa.text("SELECT body, internal FROM plan_reviews")).all())
    assert {body: bool(flag) for body, flag in internal.items()} == {
        "regional_reviewer comment": True, "regional_reviewer approve": False,
        "account_manager request_changes": True, "client_approver comment": False}
