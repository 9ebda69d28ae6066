"""The plan pages: drafting through the form ("Add" rows working without JavaScript,
missing translations shown), submitting, a Chinese reviewer reading the plan in
Chinese with English fallbacks marked and requesting changes in Chinese, the version
difference, the client's sign-off with typed name and consent on a fresh sign-in only,
the document, the pages in Vietnamese, and in headless Chromium the plan in en, zh and
vi with a row added by the script.

Other accounts' ids answering 404 on every route is proven in ``test_access``."""

from __future__ import annotations


import pytest
import sqlalchemy as sa

from portal.models import Document, Plan, PlanStatus, ReviewDecision, Role
from portal.plans import service
from tests.conftest import csrf_token, screenshot, sign_in_page
from tests.factories import plan_awaiting_signoff, plan_in_review
from tests.helpers import REMEMBER_COOKIE, flashes, latest, only_cookie, signed_in, translated

AM = "account.manager@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
APPROVER_NAME = "Client.Approver"


@pytest.fixture
def alpha(alpha, session):
    """Alpha, its documents in English and Chinese."""
    alpha.account.document_languages = ["en", "zh"]
    session.commit()
    return alpha


def plan_content(**overrides) -> dict:
    return {
        "objectives": [{"en": "Close the books by working day 4.", "zh": "第4个工作日完成月结。"}],
        "kpis": [{"name": {"en": "On-time payroll"}, "baseline": "97", "target": "99.5", "unit": "%", "kpi": "OTP"}],
        "initiatives": [{"title": {"en": "Close calendar", "zh": "月结日历"}, "owner": "Lena Park",
                         "due": "2028-06-30", "status": "in_progress"}],
        "budget": [{"item": {"en": "Bank reconciliation robot", "zh": "银行对账机器人"}, "amount": "85000"}],
        "risks": [],
        **overrides,
    }


def in_review(session, world) -> Plan:
    return plan_in_review(session, world, plan_content())


def latest_plan(session, plan_id: int) -> Plan:
    """The plan as the requests left it."""
    return latest(session).scalar(sa.select(Plan).where(Plan.id == plan_id))


# --- drafting ----------------------------------------------------------------------------


def test_the_account_manager_drafts_a_plan_through_the_forms_without_javascript(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/plans/new?account={alpha.account.id}"
    assert am.get(url).status_code == 200
    created = am.post_form(url, {"plan_type": "qbp", "period": "2028-13"}, page=url)
    assert created.status_code == 200 and "2027-Q1" in flashes(created.text)
    created = am.post_form(url, {"plan_type": "jbp", "period": "fy2028", "parent": "0"}, page=url)
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    session.rollback()
    plan = session.scalar(sa.select(Plan).where(Plan.period == "FY2028"))
    assert edit_url == f"/plans/{plan.id}/edit" and plan.status is PlanStatus.DRAFT

    # "Add a KPI" posts the form back with one more row, keeping what was typed.
    added = am.post_form(edit_url, {"objectives-0-text_en": "Close by day 4", "add_kpis": "Add a KPI"}, page=edit_url)
    assert added.status_code == 200
    assert 'name="kpis-0-name_en"' in added.text and "Close by day 4" in added.text
    assert 'name="kpis-0-name_zh"' in added.text and 'name="kpis-0-name_vi"' not in added.text  # the account's languages
    assert '<option value="OTP">OTP · On-time payroll</option>' in added.text  # the contract's KPIs to link
    form = {
        "objectives-0-text_en": "Close the books by working day 4.", "objectives-0-text_zh": "",
        "kpis-0-name_en": "On-time payroll", "kpis-0-baseline": "97", "kpis-0-target": "99.5", "kpis-0-unit": "%",
        "kpis-0-kpi": "OTP", "budget-0-item_en": "Robot", "budget-0-amount": "85000",
        "initiatives-0-title_en": "", "initiatives-0-owner": "", "initiatives-0-status": "planned",  # a blank row
        "risks-0-risk_en": "Late files", "risks-0-mitigation_en": "Alert", "risks-0-delete": "y",  # removed
        "save": "Save",
    }
    saved = am.post_form(edit_url, form, page=edit_url)
    assert saved.status_code == 302, flashes(saved.text)
    plan = latest_plan(session, plan.id)
    assert plan.content["objectives"] == [{"en": "Close the books by working day 4."}]
    assert plan.content["kpis"] == [{"name": {"en": "On-time payroll"}, "baseline": "97", "target": "99.5",
                                     "unit": "%", "kpi": "OTP"}]
    assert plan.content["budget"] == [{"item": {"en": "Robot"}, "amount": "85000.00"}]
    assert plan.content["initiatives"] == plan.content["risks"] == []
    # The form says which translations are missing.
    page = am.get(edit_url).text
    assert "Translations to do before the client can sign off: 3" in page
    assert page.count("translation missing") >= 3


def test_a_bad_value_is_marked_on_its_field_and_nothing_is_saved(session, alpha, new_browser):
    plan = in_review(session, alpha)
    am = signed_in(new_browser, AM)
    edit_url = f"/plans/{plan.id}/edit"
    form = {"objectives-0-text_en": "Close by day 4", "kpis-0-delete": "y", "kpis-1-name_en": "Accuracy",
            "kpis-1-target": "high", "save": "Save"}
    refused = am.post_form(edit_url, form, page=edit_url)
    assert refused.status_code == 200
    assert 'aria-invalid="true"' in refused.text and "Enter a number." in refused.text
    assert latest_plan(session, plan.id).version_number == 1


def test_a_quarterly_plan_starts_from_the_yearly_plan_on_the_page(session, alpha, new_browser):
    yearly = in_review(session, alpha)
    am = signed_in(new_browser, AM)
    url = f"/plans/new?account={alpha.account.id}"
    assert f'<option value="{yearly.id}">' in am.get(url).text
    created = am.post_form(url, {"plan_type": "qbp", "period": "2028-Q1", "parent": str(yearly.id)}, page=url)
    assert created.status_code == 302
    session.rollback()
    quarter = session.scalar(sa.select(Plan).where(Plan.period == "2028-Q1"))
    assert quarter.content["objectives"] == yearly.content["objectives"] and quarter.parent_id == yearly.id


# --- review ------------------------------------------------------------------------------


def test_a_chinese_reviewer_reads_the_plan_in_chinese_and_requests_changes_in_chinese(session, alpha, new_browser):
    alpha.user(Role.REGIONAL_REVIEWER).language = "zh"
    plan = in_review(session, alpha)
    reviewer = signed_in(new_browser, REVIEWER)
    url = f"/plans/{plan.id}"
    page = reviewer.get(url).text
    assert 'lang="zh-Hans"' in page
    assert translated("zh", "Joint business plan") in page and translated("zh", "Reviews") in page
    assert "第4个工作日完成月结。" in page and "Close the books" not in page
    # The KPI has no Chinese name: it shows in English, marked as such.
    assert "On-time payroll" in page
    assert translated("zh", "%(language)s, not translated") % {"language": "English"} in page
    answer = reviewer.post_form(f"{url}/review", {"request_changes": "要求修改", "section": "kpis", "shared": "y",
                                                  "body": "请补充关键绩效指标的中文名称。", "language": "zh",
                                                  "version": plan.version}, page=url)
    assert answer.status_code == 302
    plan = latest_plan(session, plan.id)
    assert plan.status is PlanStatus.CHANGES_REQUESTED
    assert (plan.reviews[-1].language, plan.reviews[-1].section) == ("zh", "kpis")
    page = reviewer.get(url).text
    assert "请补充关键绩效指标的中文名称。" in page and translated("zh", "Changes requested") in page


def test_the_next_version_shows_what_changed(session, alpha, new_browser):
    plan = in_review(session, alpha)
    service.review(session, plan, alpha.account, alpha.user(Role.REGIONAL_REVIEWER),
                   decision=ReviewDecision.REQUEST_CHANGES, body="Name the KPI in Chinese.")
    changed = plan_content(kpis=[{"name": {"en": "On-time payroll", "zh": "准时发薪率"}, "baseline": "97",
                                  "target": "99.8", "unit": "%", "kpi": "OTP"}])
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), changed)
    service.submit_for_review(session, plan, alpha.user(Role.ACCOUNT_MANAGER))
    session.commit()
    page = signed_in(new_browser, AM).get(f"/plans/{plan.id}").text
    assert "What changed from version 1 to version 2" in page
    changes = page[page.index("What changed"):]
    assert "准时发薪率" in changes and "99.5" in changes and "99.8" in changes


def test_only_those_whose_approval_counts_are_offered_approve(session, alpha, new_browser):
    """The account has a regional reviewer: the firm's approval is theirs, and the account
    manager, who may comment or request changes, is told so instead of offered Approve."""
    plan = in_review(session, alpha)
    url = f"/plans/{plan.id}"
    reviewer_name = alpha.user(Role.REGIONAL_REVIEWER).name
    manager = signed_in(new_browser, AM)
    page = manager.get(url).text
    assert 'name="approve"' not in page and 'name="request_changes"' in page
    assert f"The firm's approval of this plan is given by {reviewer_name}." in page
    answer = manager.post_form(f"{url}/review", {"approve": "Approve", "version": plan.version, "body": ""}, page=url)
    assert answer.status_code == 200 and f"given by {reviewer_name}" in flashes(answer.text)
    assert latest_plan(session, plan.id).reviews == []
    assert 'name="approve"' in signed_in(new_browser, REVIEWER).get(url).text


def test_a_viewer_cannot_review_or_sign(session, alpha, new_browser):
    plan = in_review(session, alpha)
    viewer = signed_in(new_browser, VIEWER)
    page = viewer.get(f"/plans/{plan.id}")
    assert page.status_code == 200 and 'action="/plans/%d/review"' % plan.id not in page.text
    for action in ("review", "signoff"):
        refused = viewer.post_form(f"/plans/{plan.id}/{action}", {"version": plan.version, "decision": "comment",
                                                                  "body": "x", "signature_name": "Client.Viewer",
                                                                  "consent": "y"})
        assert refused.status_code == 403
    assert latest_plan(session, plan.id).reviews == []


# --- the client's sign-off -----------------------------------------------------------------


def awaiting_signoff(session, world) -> Plan:
    content = plan_content(kpis=[{"name": {"en": "On-time payroll", "zh": "准时发薪率"}, "target": "99.5"}])
    return plan_awaiting_signoff(session, world, content)


def test_the_client_approver_signs_off_with_name_and_consent_and_the_page_shows_it(session, alpha, new_browser):
    plan = awaiting_signoff(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/plans/{plan.id}"
    page = approver.get(url).text
    assert 'action="/plans/%d/signoff"' % plan.id in page and plan.version in page
    without_consent = approver.post_form(f"{url}/signoff", {"version": plan.version, "signature_name": APPROVER_NAME},
                                         page=url)
    assert "Tick the box to confirm your sign-off." in flashes(approver.get(url).text) or without_consent.status_code == 302
    assert latest_plan(session, plan.id).status is PlanStatus.PENDING_SIGNOFF
    wrong_name = approver.post_form(f"{url}/signoff", {"version": plan.version, "signature_name": "Somebody",
                                                       "consent": "y"}, page=url)
    assert wrong_name.status_code == 302 and latest_plan(session, plan.id).status is PlanStatus.PENDING_SIGNOFF
    signed = approver.post_form(f"{url}/signoff", {"version": plan.version, "signature_name": APPROVER_NAME,
                                                   "consent": "y"}, page=url)
    assert signed.status_code == 302
    plan = latest_plan(session, plan.id)
    assert plan.status is PlanStatus.SIGNED_OFF and plan.signoffs[0].signature_name == APPROVER_NAME
    page = approver.get(url).text
    assert "Signed off by" in page and APPROVER_NAME in page and 'action="/plans/%d/signoff"' % plan.id not in page


def test_a_session_restored_from_remember_me_must_reauthenticate_before_signing_off(app, session, alpha, new_browser):
    plan = awaiting_signoff(session, alpha)
    original = signed_in(new_browser, CLIENT, remember=True)
    restored = only_cookie(app, original, REMEMBER_COOKIE)
    url = f"/plans/{plan.id}"
    page = restored.get(url).text
    assert "/reauthenticate" in page
    answer = restored.client.post(f"{url}/signoff", data={"csrf_token": csrf_token(page), "version": plan.version,
                                                          "signature_name": APPROVER_NAME, "consent": "y"})
    assert answer.status_code == 302 and "/reauthenticate" in answer.headers["Location"]
    assert latest_plan(session, plan.id).status is PlanStatus.PENDING_SIGNOFF


def test_the_account_manager_issues_the_plan_document_listed_on_documents(session, alpha, new_browser):
    plan = awaiting_signoff(session, alpha)
    am = signed_in(new_browser, AM)
    url = f"/plans/{plan.id}"
    issued = am.post_form(f"{url}/document", {"languages": "en+zh"}, page=url)
    assert issued.status_code == 302
    session.rollback()
    document = session.scalar(sa.select(Document).where(Document.plan_id == plan.id))
    assert document.number == "JBP-FY2028-01" and document.languages == ["en", "zh"]
    assert "JBP-FY2028-01" in am.get(url).text and "JBP-FY2028-01" in am.get("/documents").text
    download = signed_in(new_browser, VIEWER).get(f"/documents/{document.id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"


def test_the_pages_in_vietnamese(session, alpha, new_browser):
    alpha.account.document_languages = ["en", "vi"]
    alpha.user(Role.ACCOUNT_MANAGER).language = "vi"
    plan = in_review(session, alpha)
    am = signed_in(new_browser, AM)
    for url in ("/plans", f"/plans/{plan.id}", f"/plans/{plan.id}/edit", f"/plans/new?account={alpha.account.id}"):
        page = am.get(url)
        assert page.status_code == 200, url
        assert 'lang="vi"' in page.text
    page = am.get(f"/plans/{plan.id}").text
    assert translated("vi", "Joint business plan") in page and translated("vi", "In review") in page
    assert translated("vi", "Objectives") in page
    edit = am.get(f"/plans/{plan.id}/edit").text
    assert 'name="objectives-0-text_vi"' in edit and translated("vi", "translation missing") in edit


# --- in a real browser ---------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh", "vi"])
def test_the_plan_page_in_each_language(page, session, alpha, language):
    alpha.user(Role.ACCOUNT_MANAGER).language = language  # the plan is in en and zh: vi shows English, marked
    session.commit()
    plan = awaiting_signoff(session, alpha)
    service.review(session, plan, alpha.account, alpha.user(Role.CLIENT_APPROVER), decision=ReviewDecision.COMMENT,
                   body="请在第二季度前完成。", language="zh", section="initiatives")
    session.commit()
    sign_in_page(page, AM)
    page.goto(f"/plans/{plan.id}")
    assert page.locator("h1").inner_text().startswith(
        {"en": "Joint business plan", "zh": translated("zh", "Joint business plan"),
         "vi": translated("vi", "Joint business plan")}[language])
    screenshot(page, f"plan-{language}")
    page.goto(f"/plans/{plan.id}/edit")
    rows = page.locator("[data-rows=risks] [data-row]")
    assert rows.count() == 0
    page.locator("[data-add-row=risks]").click()  # the script adds the row in the page
    assert rows.count() == 1
    page.fill("input[name='risks-0-risk_en'], textarea[name='risks-0-risk_en']", "Late files")
    page.fill("textarea[name='risks-0-mitigation_en']", "Cut-off alert")
    screenshot(page, f"plan-edit-{language}")
    page.locator("input[name=save]").click()
    page.wait_for_url(f"**/plans/{plan.id}")
    assert latest_plan(session, plan.id).content["risks"] == [{"risk": {"en": "Late files"},
                                                          "mitigation": {"en": "Cut-off alert"}, "owner": ""}]
