"""The sign-in page and the home page in a real browser, in all three languages."""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.conftest import PASSWORD, screenshot
from tests.factories import build_account, make_user

pytestmark = pytest.mark.browser

SIGN_IN = {"en": "Sign in", "zh": "登录", "vi": "Đăng nhập"}
WELCOME = {"en": "Welcome", "zh": "欢迎", "vi": "Chào mừng"}


@pytest.mark.parametrize("language", ["en", "zh", "vi"])
def test_sign_in_in_each_language(page, session, language):
    world = build_account(session, "Alpha")
    user = make_user(session, f"user.{language}@alpha.example", Role.CLIENT_APPROVER, world.account, language=language)
    session.commit()

    page.goto("/login")
    page.select_option("#language-switch", language)  # app.js submits the switcher on change
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang").startswith(language)
    assert page.locator("h1").inner_text() == SIGN_IN[language]
    screenshot(page, f"login-{language}")

    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/")
    assert WELCOME[language] in page.locator("h1").inner_text()
    assert "Account Alpha" in page.content()
    screenshot(page, f"home-{language}")


def sign_in_wrongly(page, session) -> None:
    """Alpha's client approver signs in with a wrong password."""
    build_account(session, "Alpha")
    session.commit()
    page.goto("/login")
    page.fill("input[name=email]", "client.approver@alpha.example")
    page.fill("input[name=password]", "not the password")
    page.locator("input[type=submit]").click()


def test_wrong_password_shows_an_error_and_stays_on_sign_in(page, session):
    sign_in_wrongly(page, session)
    assert "not correct" in page.locator(".flashes").inner_text()
    assert page.url.endswith("/login")


def test_an_error_and_a_success_look_different(page, session):
    """Seen: every flash had the text colour's border (``.flashes li`` beat
    ``.flash-error``), so an error looked like a success."""
    sign_in_wrongly(page, session)
    error = page.locator(".flashes .flash-error")
    error.wait_for()
    page.locator(".flashes").evaluate("list => list.insertAdjacentHTML('beforeend', '<li class=\"flash-success\">Saved.</li>')")
    style = "item => { const s = getComputedStyle(item); return [s.borderLeftColor, s.backgroundColor]; }"
    (error_border, error_background) = error.evaluate(style)
    (success_border, success_background) = page.locator(".flashes .flash-success").evaluate(style)
    assert error_border == "rgb(179, 38, 30)" and success_border == "rgb(27, 127, 59)"  # --portal-bad, --portal-ok
    assert error_background != success_background
