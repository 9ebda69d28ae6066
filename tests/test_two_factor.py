"""Two-factor sign-in with an authenticator app (TOTP) and recovery codes: setting it up,
the code after the password on the web and for an API token, a code accepted once, a
recovery code used once, throttled guessing, the code as the fresh proof of decisions,
and the admin requiring it of a role or of an account's users."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import sqlalchemy as sa

from portal.auth import two_factor
from portal.models import (
    ApiToken,
    Approval,
    Authenticator,
    ChangeRequest,
    CRStatus,
    RecoveryCode,
    Role,
    TwoFactorRequirement,
    User,
)
from portal.models.base import utcnow
from tests.conftest import PASSWORD, api_token, bearer, csrf_token
from tests.helpers import REMEMBER_COOKIE, assert_error, latest, mailed_link, only_cookie, signed_in
from tests.test_cr_pages import APPROVER_NAME, approve_form, client_approvals, pending_cr

CLIENT = "client.approver@alpha.example"


class Clock:
    """The time the two-factor service reads: frozen mid-way through a 30-second step, so
    a test's codes never straddle a step; ``advance`` moves it on."""

    def __init__(self):
        now = datetime.now(timezone.utc)
        self.now = now.replace(second=15 if now.second < 30 else 45, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    def code(self, secret: str, steps: int = 0) -> str:
        """The app's code ``steps`` time steps from now."""
        return pyotp.TOTP(secret).at(self.now + timedelta(seconds=30 * steps))


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr(two_factor, "utcnow", frozen)
    return frozen


def turn_on(session, clock, email: str = CLIENT) -> tuple[str, list[str]]:
    """Two-factor sign-in for ``email``, confirmed with the previous step's code (so the
    current one is still unused): (the secret, the recovery codes)."""
    user = latest(session).scalar(sa.select(User).where(User.email == email))
    secret = two_factor.start(session, user).secret
    codes = two_factor.confirm(session, user, clock.code(secret, -1))
    session.commit()
    return secret, codes


def password_step(browser, email: str = CLIENT, password: str = PASSWORD, **login):
    response = browser.login(email, password, **login)
    assert response.status_code == 302, response.text
    return response


def code_step(browser, code: str):
    page = browser.get("/login/code")
    assert page.status_code == 200, page.status_code
    return browser.client.post("/login/code", data={"code": code, "csrf_token": csrf_token(page.text)})


def is_signed_in(browser) -> bool:
    return browser.get("/account").status_code == 200


def token_request(client, code: str | None = None, email: str = CLIENT, password: str = PASSWORD):
    body = {"email": email, "password": password, **({"totp": code} if code is not None else {})}
    return client.post("/api/v1/auth/token", json=body)


# --- setting it up ------------------------------------------------------------------------------


def test_setting_it_up_shows_a_qr_code_and_a_first_code_turns_it_on_with_ten_recovery_codes(session, alpha,
                                                                                            new_browser, clock):
    browser = signed_in(new_browser, CLIENT)
    assert "Set up two-factor sign-in" in browser.get("/account").text
    start = browser.post_form("/account/two-factor", {"start": "y"}, page="/account/two-factor")
    assert start.status_code == 302
    page = browser.get("/account/two-factor").text
    assert re.search(r'<img class="qr-code" src="data:image/svg\+xml;charset=utf-8,%3Csvg', page)
    secret = re.search(r'<code class="secret-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert latest(session).scalar(sa.select(Authenticator.secret)) == secret

    wrong = browser.post_form("/account/two-factor", {"code": "000000", "confirm": "y"}, page="/account/two-factor")
    assert wrong.status_code == 200 and "The code is not correct" in wrong.text
    assert not two_factor.is_enabled(latest(session), alpha.user(Role.CLIENT_APPROVER))

    done = browser.post_form("/account/two-factor", {"code": clock.code(secret), "confirm": "y"},
                             page="/account/two-factor")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-z-]+)</code></li>", done.text)
    assert len(codes) == len(set(codes)) == 10
    stored = latest(session).scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert "Recovery codes left: 10 of 10." in browser.get("/account/two-factor").text


def test_changing_it_needs_a_fresh_sign_in(app, session, alpha, new_browser, secret, clock):
    restored = only_cookie(app, signed_in_with_code(new_browser, clock.code(secret), remember=True), REMEMBER_COOKIE)
    response = restored.post_form("/account/two-factor", {"turn_off": "y"}, page="/account/two-factor")
    assert response.headers["Location"].startswith("/reauthenticate")
    assert two_factor.is_enabled(latest(session), alpha.user(Role.CLIENT_APPROVER))


def signed_in_with_code(new_browser, code: str, **login):
    """A browser of its own, signed in as the approver with the password and ``code``."""
    browser = new_browser()
    password_step(browser, **login)
    assert code_step(browser, code).status_code == 302
    return browser


@pytest.fixture
def secret(session, alpha, clock) -> str:
    """Alpha's approver with two-factor sign-in on; its secret."""
    return turn_on(session, clock)[0]


# --- signing in ---------------------------------------------------------------------------------


def test_the_password_alone_does_not_sign_in_a_user_with_two_factor(new_browser, secret, clock):
    browser = new_browser()
    response = password_step(browser)
    assert response.headers["Location"] == "/login/code"
    assert not is_signed_in(browser)
    assert code_step(browser, clock.code(secret)).headers["Location"] == "/"
    assert is_signed_in(browser)


def test_a_wrong_code_is_refused_and_counted_as_a_failed_sign_in(new_browser, secret, clock):
    browser = new_browser()
    password_step(browser)
    wrong = code_step(browser, "123456" if clock.code(secret) != "123456" else "654321")
    assert wrong.status_code == 401 and "The code is not correct" in wrong.text
    assert not is_signed_in(browser)
    for _ in range(9):
        code_step(browser, "000000x")
    throttled = code_step(browser, clock.code(secret))
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert not is_signed_in(browser)


def test_a_code_is_accepted_once(new_browser, client, secret, clock):
    code = clock.code(secret)
    signed_in_with_code(new_browser, code)
    again = new_browser()
    password_step(again)
    assert code_step(again, code).status_code == 401
    assert not is_signed_in(again)
    assert_error(token_request(client, code), 401, "invalid_totp")
    # An earlier step's code, not used before, comes too late once a later one was accepted.
    assert code_step(again, clock.code(secret, -1)).status_code == 401
    assert code_step(again, clock.code(secret, +1)).status_code == 302


def test_codes_of_steps_beyond_the_allowed_drift_are_refused(new_browser, secret, clock):
    browser = new_browser()
    password_step(browser)
    for steps in (-3, -2, 2, 3):
        assert code_step(browser, clock.code(secret, steps)).status_code == 401


def test_a_recovery_code_signs_in_once(session, alpha, new_browser, clock):
    _secret, codes = turn_on(session, clock)
    browser = new_browser()
    password_step(browser)
    used = code_step(browser, codes[0].upper().replace("-", " "))  # typed as people type it
    assert used.status_code == 302
    assert "9 are left" in browser.get("/").text
    again = new_browser()
    password_step(again)
    assert code_step(again, codes[0]).status_code == 401
    assert code_step(again, codes[1]).status_code == 302
    assert two_factor.recovery_codes_left(latest(session), alpha.user(Role.CLIENT_APPROVER)) == 8


def test_the_code_step_lasts_five_minutes(new_browser, secret, clock):
    browser = new_browser()
    password_step(browser)
    with browser.client.session_transaction() as cookie_session:
        pending = cookie_session["two_factor_pending"]
        cookie_session["two_factor_pending"] = {**pending, "at": pending["at"] - 301}
    response = browser.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_signed_in(browser)


def test_the_code_step_keeps_remember_me_and_the_return_path(app, new_browser, secret, clock):
    browser = new_browser()
    password_step(browser, remember=True, next_url="/invoices")
    response = code_step(browser, clock.code(secret))
    assert response.headers["Location"] == "/invoices"
    assert only_cookie(app, browser, REMEMBER_COOKIE).get("/account").status_code == 200


# --- the API ----------------------------------------------------------------------------------------


def test_an_api_token_needs_the_code_too(client, secret, clock):
    assert_error(token_request(client), 401, "totp_required")
    assert_error(token_request(client, "999999" if clock.code(secret) != "999999" else "111111"), 401, "invalid_totp")
    assert_error(token_request(client, clock.code(secret), password="not the password"), 401, "invalid_credentials")
    granted = token_request(client, clock.code(secret))
    assert granted.status_code == 201
    assert client.get("/api/v1/me", headers=bearer(granted.json["token"])).json["email"] == CLIENT
    assert_error(token_request(client, clock.code(secret)), 401, "invalid_totp")  # replayed


def test_users_without_two_factor_get_a_token_as_before(client, alpha):
    granted = client.post("/api/v1/auth/token", json={"email": CLIENT, "password": PASSWORD})
    assert granted.status_code == 201 and set(granted.json) == {"token", "expires_at"}


# --- the fresh proof of decisions -------------------------------------------------------------------


def test_on_the_web_a_decision_after_remember_me_needs_the_password_and_the_code(app, session, alpha, new_browser,
                                                                                 secret, clock):
    cr = pending_cr(session, alpha)
    url = f"/change-requests/{cr.id}"
    restored = only_cookie(app, signed_in_with_code(new_browser, clock.code(secret), remember=True), REMEMBER_COOKIE)
    assert restored.post_form(f"{url}/approve", approve_form(cr), page=url).headers["Location"].startswith(
        "/reauthenticate")
    page = restored.get(f"/reauthenticate?next={url}").text
    assert 'name="code"' in page

    password_only = restored.post_form(f"/reauthenticate?next={url}", {"password": PASSWORD}, page="/reauthenticate")
    assert password_only.status_code == 401
    assert restored.post_form(f"{url}/approve", approve_form(cr), page=url).headers["Location"].startswith(
        "/reauthenticate")
    proved = restored.post_form(f"/reauthenticate?next={url}", {"password": PASSWORD, "code": clock.code(secret, 1)},
                                page="/reauthenticate")
    assert proved.status_code == 302 and proved.headers["Location"] == url
    assert restored.post_form(f"{url}/approve", approve_form(cr), page=url).headers["Location"] == url
    assert len(client_approvals(session, cr)) == 1


def test_in_the_api_a_decision_with_a_stale_token_needs_the_password_and_the_totp(app, session, alpha, secret, clock):
    cr = pending_cr(session, alpha)
    client = app.test_client()
    token = token_request(client, clock.code(secret)).json["token"]
    latest(session).execute(sa.update(ApiToken).values(created_at=utcnow() - timedelta(minutes=16)))
    session.commit()
    url = f"/api/v1/change-requests/{cr.id}/approve"
    body = {"version": cr.version, "signature_name": APPROVER_NAME}
    for proof in ({}, {"password": PASSWORD}, {"password": PASSWORD, "totp": clock.code(secret)},
                  {"password": "not it", "totp": clock.code(secret, 1)}):
        refused = client.post(url, headers=bearer(token), json={**body, **proof})
        assert_error(refused, 401, "fresh_sign_in_required")
        assert "totp" in refused.json["error"]["message"]
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(Approval)
                                  .where(Approval.change_request_id == cr.id)) == 0
    proved = client.post(url, headers=bearer(token), json={**body, "password": PASSWORD, "totp": clock.code(secret, 1)})
    assert proved.status_code == 200 and proved.json["status"] == CRStatus.APPROVED.value
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.APPROVED


# --- turning it off ---------------------------------------------------------------------------------


def test_a_user_turns_it_off_and_signs_in_with_the_password_alone(session, alpha, new_browser, secret, clock):
    browser = signed_in_with_code(new_browser, clock.code(secret))
    response = browser.post_form("/account/two-factor", {"turn_off": "y"}, page="/account/two-factor")
    assert response.headers["Location"] == "/account"
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert new_browser().login(CLIENT).headers["Location"] == "/"


def test_the_admin_turns_it_off_for_a_user_who_lost_their_phone(session, alpha, admin, new_browser, secret, clock):
    user = alpha.user(Role.CLIENT_APPROVER)
    browser = signed_in(new_browser, admin.email)
    assert "Turn off two-factor sign-in" in browser.get(f"/admin/users/{user.id}").text
    response = browser.post_form(f"/admin/users/{user.id}/two-factor", page=f"/admin/users/{user.id}")
    assert response.status_code == 302
    assert not two_factor.is_enabled(latest(session), user)


# --- required by the admin -----------------------------------------------------------------------------


def require(browser, roles=(), accounts=()):
    data = {"roles": list(roles), "accounts": [str(a) for a in accounts]}
    return browser.post_form("/admin/two-factor", data, page="/admin/two-factor")


def test_required_of_a_role_it_signs_those_users_out_and_asks_them_to_set_it_up_first(session, client, alpha, admin,
                                                                                     new_browser, clock):
    approver = signed_in(new_browser, CLIENT)
    viewer = signed_in(new_browser, alpha.user(Role.CLIENT_VIEWER).email)
    token = api_token(client, CLIENT)
    saved = require(signed_in(new_browser, admin.email), roles=["client_approver"])
    assert saved.status_code == 302
    assert latest(session).scalar(sa.select(TwoFactorRequirement.role)) is Role.CLIENT_APPROVER
    assert not is_signed_in(approver) and is_signed_in(viewer)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert_error(token_request(client), 403, "two_factor_setup_required")

    browser = new_browser()
    assert browser.login(CLIENT, remember=True).headers["Location"] == "/account/two-factor"
    assert browser.client.get_cookie(REMEMBER_COOKIE) is None  # not remembered before it is set up
    for page in ("/", "/invoices", "/account"):
        assert browser.get(page).headers["Location"] == "/account/two-factor", page
    browser.post_form("/account/two-factor", {"start": "y"}, page="/account/two-factor")
    secret = latest(session).scalar(sa.select(Authenticator.secret))
    assert browser.post_form("/account/two-factor", {"code": clock.code(secret), "confirm": "y"},
                             page="/account/two-factor").status_code == 200
    assert browser.get("/").status_code == 200
    off = browser.post_form("/account/two-factor", {"turn_off": "y"}, page="/account/two-factor")
    assert "Two-factor sign-in is required for your account: it cannot be turned off." in off.text
    assert two_factor.is_enabled(latest(session), alpha.user(Role.CLIENT_APPROVER))


def test_a_user_asked_to_set_it_up_goes_on_once_the_admin_no_longer_requires_it(session, alpha, admin, new_browser):
    admin_browser = signed_in(new_browser, admin.email)
    require(admin_browser, roles=["client_approver"])
    browser = new_browser()
    assert browser.login(CLIENT).headers["Location"] == "/account/two-factor"
    assert browser.get("/invoices").headers["Location"] == "/account/two-factor"
    require(admin_browser)
    assert browser.get("/invoices").status_code == 200


def test_required_of_an_account_it_concerns_its_client_users_and_the_firm_users_on_it(session, worlds, admin,
                                                                                     new_browser):
    alpha, bravo = worlds
    require(signed_in(new_browser, admin.email), accounts=[alpha.account.id])
    session.rollback()
    for world, role, required in [(alpha, Role.CLIENT_VIEWER, True), (alpha, Role.ACCOUNT_MANAGER, True),
                                  (bravo, Role.CLIENT_VIEWER, False), (bravo, Role.ACCOUNT_MANAGER, False)]:
        assert two_factor.is_required(session, world.user(role)) is required, (world.account.name, role)
    assert not two_factor.is_required(session, admin)
    assert new_browser().login(bravo.user(Role.CLIENT_VIEWER).email).headers["Location"] == "/"


def test_the_admin_page_shows_what_is_required(session, alpha, admin, new_browser):
    browser = signed_in(new_browser, admin.email)
    require(browser, roles=["finance", "account_manager"], accounts=[alpha.account.id])
    page = browser.get("/admin/two-factor").text
    checked = set(re.findall(r'<input checked id="[^"]+" name="(?:roles|accounts)" type="checkbox" value="([^"]+)">',
                             page))
    assert checked == {"finance", "account_manager", str(alpha.account.id)}


def test_an_admin_who_requires_it_of_admins_sets_it_up_before_going_on(session, admin, new_browser):
    browser = signed_in(new_browser, admin.email)
    assert require(browser, roles=["admin"]).status_code == 302
    assert browser.get("/admin/users").headers["Location"] == "/account/two-factor"
    assert browser.get("/account/two-factor").status_code == 200  # their own session goes on


def test_a_password_reset_by_email_still_asks_for_the_code(client, session, secret, clock, mailbox):
    """The link stands in for the password only: someone who can read the user's mail
    still needs their phone."""
    page = client.get("/password/forgot")
    client.post("/password/forgot", data={"email": CLIENT, "csrf_token": csrf_token(page.text)})
    [message] = [m for m in mailbox.deliver() if m["To"] == CLIENT and "/password/reset/" in m.get_content()]
    path = mailed_link(message)
    form = client.get(path)
    response = client.post(path, data={"password": "a long and quiet river", "confirm": "a long and quiet river",
                                       "csrf_token": csrf_token(form.text)})
    assert response.headers["Location"] == "/login/code"
    assert client.get("/account").status_code == 302
    assert client.post("/login/code", data={"code": clock.code(secret), "csrf_token": csrf_token(
        client.get("/login/code").text)}).headers["Location"] == "/"
