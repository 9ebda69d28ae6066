"""Each role's inbox in a real browser, in Chinese and in Vietnamese: the item is on the
home page, following it leads to where the work is done, and once it is done the item
has left the inbox."""

from __future__ import annotations

import pytest

from portal.change_requests import service as change_requests
from portal.documents.service import issue_amendment
from portal.models import Decision, Role
from tests.conftest import sign_in_page
from tests.factories import build_admin
from tests.helpers import approver_of, manager_of, translated
from tests.test_inbox import above_the_threshold

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("language", ["zh", "vi"])]


def speaks(session, user, language: str, name: str | None = None) -> None:
    user.language = language
    if name:
        user.name = name
    session.commit()


def done_from_inbox(page, language: str, user, kind: str, title: str, path: str, submit: str, **fields) -> None:
    """``user`` signs in; their inbox names the kind of work and the item (``title``),
    whose link leads to ``path``; there they fill ``fields`` (name: text, or True to
    tick a box) and press ``submit``; back home, the item has left the inbox."""
    sign_in_page(page, user.email)
    inbox = page.locator("section.inbox")
    assert translated(language, "Waiting for you") in inbox.locator("h2").inner_text()
    item = inbox.locator(f"li[data-kind={kind}]")
    assert item.count() == 1 and title in item.inner_text()
    item.get_by_role("link").click()
    page.wait_for_url(f"**{path}*")
    for name, value in fields.items():
        page.check(f"[name={name}]") if value is True else page.fill(f"[name={name}]", value)
    with page.expect_navigation():
        page.locator(submit).click()
    page.goto("/")
    assert page.locator(f"section.inbox li[data-kind={kind}]").count() == 0


def test_the_client_approver_approves_a_change_request_from_the_inbox(page, session, alpha, language):
    approver, cr = approver_of(alpha), alpha["change_request"]
    speaks(session, approver, language, name="Nguyễn Thị Lan" if language == "vi" else "王小明")
    done_from_inbox(page, language, approver, "change_request_approval", cr.number, f"/change-requests/{cr.id}",
                    "input[name=approve]", signature_name=approver.name, consent=True)


def test_the_client_viewer_acknowledges_the_scorecard_from_the_inbox(page, session, alpha, language):
    viewer = alpha.user(Role.CLIENT_VIEWER)
    session.delete(alpha["acknowledgement"])
    speaks(session, viewer, language)
    done_from_inbox(page, language, viewer, "scorecard_acknowledgement", translated(language, "Scorecard"),
                    f"/scorecards/{alpha.account.id}", "form[action*='/acknowledge'] button[type=submit]")
    assert translated(language, "Nothing is waiting for you.") in page.locator("section.inbox").inner_text()


def test_the_account_manager_answers_a_request_from_the_inbox(page, session, alpha, language):
    manager, request = manager_of(alpha), alpha["request"]
    speaks(session, manager, language)
    done_from_inbox(page, language, manager, "request_awaiting_reply", request.subject, f"/requests/{request.id}",
                    "form[action$='/comments'] [type=submit]", body="Đã xử lý." if language == "vi" else "已处理。")


def test_the_admin_approves_internally_from_the_inbox(page, session, alpha, language):
    admin = build_admin(session)
    speaks(session, admin, language)
    cr = above_the_threshold(session, alpha)
    done_from_inbox(page, language, admin, "change_request_internal_approval", cr.number, f"/change-requests/{cr.id}",
                    "form[action$='/internal-decision'] input[name=approve]")


def test_the_regional_reviewer_approves_a_draft_from_the_inbox(page, session, alpha, language):
    reviewer, cr = alpha.user(Role.REGIONAL_REVIEWER), alpha["change_request"]
    alpha.account.document_languages, alpha.account.review_languages = ["en", language], [language]
    speaks(session, reviewer, language)
    change_requests.decide(session, cr, alpha.account, approver_of(alpha), version=cr.version,
                           decision=Decision.APPROVED, signature_name=approver_of(alpha).name)
    draft = issue_amendment(session, cr, alpha.account, manager_of(alpha), ["en", language], show_source_text=True)
    session.commit()
    done_from_inbox(page, language, reviewer, "document_review", draft.number, f"/documents/{draft.id}",
                    "form[action$='/review'] input[name=approve]")
