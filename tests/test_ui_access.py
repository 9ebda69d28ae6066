"""Users and access in a real browser (headless Chromium, whose console errors, CSP
violations included, fail the test): an invitation followed from its e-mail to a
signed-in home page, two-factor sign-in's QR code, and the pages' screenshots at 1280
and 390 px."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from portal.auth import two_factor
from portal.models import Role
from portal.users.service import invite_user
from tests.conftest import screenshot, sign_in_page
from tests.helpers import mailed_link

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def both_widths(page, name: str) -> None:
    """Screenshots of the page as it is, at 1280 px and at a phone's 390 px."""
    screenshot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", ["en", "zh", "vi"])
def test_an_invitee_follows_the_link_sets_a_password_and_lands_signed_in(page, session, alpha, mailbox, language):
    invite_user(session, alpha.user(Role.ACCOUNT_MANAGER), email="invitee@alpha.example", name="Ngọc 李 Ann",
                role=Role.CLIENT_VIEWER, account=alpha.account, language=language)
    session.commit()
    [message] = [m for m in mailbox.deliver() if m["To"] == "invitee@alpha.example"]

    page.goto(mailed_link(message))
    assert page.locator("html").get_attribute("lang").startswith(language)
    both_widths(page, f"invitation-{language}")
    page.fill("input[name=password]", "a long and quiet river")
    page.fill("input[name=confirm]", "a long and quiet river")
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/")
    assert "Ngọc 李 Ann" in page.locator(".user-chip").inner_text()
    assert "Account Alpha" in page.content()


def test_the_users_pages_and_the_link_pages(page, session, alpha, admin, mailbox):
    invite_user(session, admin, email="pending@alpha.example", name="Pending Person", role=Role.CLIENT_APPROVER,
                account=alpha.account, language="vi")
    session.commit()
    [message] = [m for m in mailbox.deliver() if m["To"] == "pending@alpha.example"]
    page.goto(mailed_link(message)[:-3] + "xyz")
    assert page.locator("h1").inner_text() == "This link cannot be used"
    both_widths(page, "link-refused")
    page.goto("/password/forgot")
    both_widths(page, "forgot-password")

    sign_in_page(page, admin.email)
    page.goto("/admin/users")
    assert page.locator("text=Invited").count() >= 1
    both_widths(page, "admin-users")
    page.goto(f"/admin/users/{alpha.user(Role.CLIENT_VIEWER).id}")
    both_widths(page, "admin-edit-user")
    page.goto("/admin/two-factor")
    both_widths(page, "admin-two-factor")


def test_setting_up_two_factor_shows_the_qr_code_without_breaking_the_csp(page, session, alpha):
    sign_in_page(page, alpha.user(Role.CLIENT_APPROVER).email)
    page.goto("/account")
    page.locator("text=Set up two-factor sign-in").first.click()
    page.locator("input[name=start]").click()
    qr = page.locator("img.qr-code")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    both_widths(page, "two-factor-setup")
    secret = page.locator("code.secret-key").inner_text().replace(" ", "")
    session.rollback()
    assert two_factor.authenticator(session, alpha.user(Role.CLIENT_APPROVER)).secret == secret
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.locator("input[name=confirm]").click()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)  # waits for the page the POST returns
    both_widths(page, "recovery-codes")

    page.locator("button[type=submit]:has-text('Sign out')").click()
    page.goto("/login")
    page.fill("input[name=email]", alpha.user(Role.CLIENT_APPROVER).email)
    page.fill("input[name=password]", "correct horse battery staple")
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/login/code")
    both_widths(page, "two-factor-sign-in")
