"""Each role's inbox in a real browser, in Chinese and in Vietnamese: the item is on the
home page, following it leads to where the work is done, and once it is done the item
has left the inbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.change_requests import service as change_requests
from portal.change_requests.service import LineInput
from portal.documents.service import issue_amendment
from portal.models import CRStatus, Decision, LineChange, Role
from tests.conftest import sign_in_page
from tests.factories import build_admin
from tests.helpers import approver_of, manager_of, today_of, translated

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("language", ["zh", "vi"])]


def speaks(session, user, language: str, name: str | None = None) -> None:
    user.language = language
    if name:
        user.name = name
    session.commit()


def open_item(page, language: str, kind: str, title: str) -> None:
    """On the home page: the inbox names the kind of work and the item; follow it."""
    inbox = page.locator("section.inbox")
    assert translated(language, "Waiting for you") in inbox.locator("h2").inner_text()
    item = inbox.locator(f"li[data-kind={kind}]")
    assert item.count() == 1 and title in item.inner_text()
    item.get_by_role("link").click()
    page.wait_for_load_state()


def gone_from_inbox(page, kind: str) -> None:
    page.goto("/")
    assert page.locator(f"section.inbox li[data-kind={kind}]").count() == 0


def test_the_client_approver_approves_a_change_request_from_the_inbox(page, session, alpha, language):
    approver, cr = approver_of(alpha), alpha["change_request"]
    speaks(session, approver, language, name="Nguyễn Thị Lan" if language == "vi" else "王小明")
    sign_in_page(page, approver.email)
    open_item(page, language, "change_request_approval", cr.number)
    page.wait_for_url(f"**/change-requests/{cr.id}")
    page.fill("input[name=signature_name]", approver.name)
    page.check("input[name=consent]")
    page.locator("input[name=approve]").click()
    page.wait_for_url(f"**/change-requests/{cr.id}")
    gone_from_inbox(page, "change_request_approval")


def test_the_client_viewer_acknowledges_the_scorecard_from_the_inbox(page, session, alpha, language):
    viewer = alpha.user(Role.CLIENT_VIEWER)
    session.delete(alpha["acknowledgement"])
    speaks(session, viewer, language)
    sign_in_page(page, viewer.email)
    open_item(page, language, "scorecard_acknowledgement", translated(language, "Scorecard"))
    page.locator("form[action*='/acknowledge'] button[type=submit]").click()
    page.wait_for_url(f"**/scorecards/{alpha.account.id}?period=*")
    gone_from_inbox(page, "scorecard_acknowledgement")
    assert translated(language, "Nothing is waiting for you.") in page.locator("section.inbox").inner_text()


def test_the_account_manager_answers_a_request_from_the_inbox(page, session, alpha, language):
    manager, request = manager_of(alpha), alpha["request"]
    speaks(session, manager, language)
    sign_in_page(page, manager.email)
    open_item(page, language, "request_awaiting_reply", request.subject)
    page.wait_for_url(f"**/requests/{request.id}")
    page.fill("textarea[name=body]", "Đã xử lý." if language == "vi" else "已处理。")
    page.locator("form[action$='/comments'] [type=submit]").click()
    page.wait_for_url(f"**/requests/{request.id}*")
    gone_from_inbox(page, "request_awaiting_reply")


def test_the_admin_approves_internally_from_the_inbox(page, session, alpha, language):
    admin = build_admin(session)
    speaks(session, admin, language)
    line = LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip", Decimal(10000), Decimal("8.50"))
    cr = change_requests.create_draft(session, alpha["contract"], manager_of(alpha), title={"en": "Big payroll"},
                                      description={"en": "Many payslips."}, in_scope=False,
                                      effective_date=today_of(alpha) + timedelta(days=40), lines=[line])
    change_requests.submit(session, cr, alpha.account, manager_of(alpha))
    session.commit()
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL
    sign_in_page(page, admin.email)
    open_item(page, language, "change_request_internal_approval", cr.number)
    page.wait_for_url(f"**/change-requests/{cr.id}")
    page.locator("form[action$='/internal-decision'] input[name=approve]").click()
    page.wait_for_url(f"**/change-requests/{cr.id}")
    gone_from_inbox(page, "change_request_internal_approval")


def test_the_regional_reviewer_approves_a_draft_from_the_inbox(page, session, alpha, language):
    reviewer, cr = alpha.user(Role.REGIONAL_REVIEWER), alpha["change_request"]
    alpha.account.document_languages, alpha.account.review_languages = ["en", language], [language]
    speaks(session, reviewer, language)
    change_requests.decide(session, cr, alpha.account, approver_of(alpha), version=cr.version,
                           decision=Decision.APPROVED, signature_name=approver_of(alpha).name)
    draft = issue_amendment(session, cr, alpha.account, manager_of(alpha), ["en", language], show_source_text=True)
    session.commit()
    sign_in_page(page, reviewer.email)
    open_item(page, language, "document_review", draft.number)
    page.wait_for_url(f"**/documents/{draft.id}")
    page.locator("form[action$='/review'] input[name=approve]").click()
    page.wait_for_url(f"**/documents/{draft.id}*")
    gone_from_inbox(page, "document_review")
