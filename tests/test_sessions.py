"""Browser sessions: new ids at sign-in, server-side revocation that copied cookies
cannot outlive, timeouts, and cookie attributes (battery items 18-21, 23)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db
from portal.models import ApiToken, User, UserSession
from portal.models.user import hash_token
from tests.conftest import FAST_HASHING, PASSWORD, Browser, api_token, bearer, csrf_token
from tests.factories import build_admin
from tests.helpers import REMEMBER_COOKIE, SESSION_COOKIE, only_cookie


def is_signed_in(browser: Browser) -> bool:
    """Whether ``browser``'s cookies still open a signed-in page (else it is sent to sign in)."""
    response = browser.get("/account")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def live_sessions(session, email: str) -> list[UserSession]:
    session.rollback()  # a new transaction: see what the requests committed
    return session.scalars(
        sa.select(UserSession).join(User, User.id == UserSession.user_id)
        .where(User.email == email, UserSession.revoked_at.is_(None))
    ).all()


def set_cookies(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def cookie_attributes(header: str) -> dict[str, str]:
    attributes = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


# --- new identifiers at sign-in ---------------------------------------------------------


def test_sign_in_starts_a_new_session_and_csrf_token(session, browser, user):
    page = browser.get("/login")
    old_csrf = csrf_token(page.text)
    with browser.client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = "planted-by-an-attacker"  # session fixation attempt
        planted_csrf = cookie_session["csrf_token"]

    assert browser.login(user).status_code == 302
    assert is_signed_in(browser)
    with browser.client.session_transaction() as cookie_session:
        token, new_csrf = cookie_session["_user_id"], cookie_session["csrf_token"]
    assert token != "planted-by-an-attacker"
    assert new_csrf != planted_csrf
    [record] = live_sessions(session, user)
    assert record.token_hash == hash_token(token), "the cookie names a new server-side session"

    # The form token from before sign-in no longer works.
    assert browser.client.post("/logout", data={"csrf_token": old_csrf}).status_code == 400


def test_each_sign_in_creates_its_own_server_side_session(session, browser, new_browser, user):
    browser.login(user)
    other = new_browser()
    other.login(user)
    tokens = []
    for b in (browser, other):
        with b.client.session_transaction() as cookie_session:
            tokens.append(cookie_session["_user_id"])
    assert tokens[0] != tokens[1]
    assert {r.token_hash for r in live_sessions(session, user)} == {hash_token(t) for t in tokens}


def test_session_cookie_holds_a_random_token_not_the_user_id(session, browser, user):
    browser.login(user)
    with browser.client.session_transaction() as cookie_session:
        token = cookie_session["_user_id"]
    user_id = session.scalar(sa.select(User.id).where(User.email == user))
    assert token != str(user_id) and len(token) >= 32
    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                          .where(UserSession.token_hash == token)) == 0, "only the token's hash is stored"


# --- copied cookies after logout -------------------------------------------------------


def test_a_copied_session_cookie_is_rejected_after_logout(app, browser, user):
    browser.login(user)
    copy = only_cookie(app, browser, SESSION_COOKIE)
    assert is_signed_in(copy), "the copy works while the session lives (else this test proves nothing)"
    browser.logout()
    assert not is_signed_in(copy)


def test_a_copied_remember_cookie_is_rejected_after_logout(app, browser, user):
    browser.login(user, remember=True)
    assert is_signed_in(only_cookie(app, browser, REMEMBER_COOKIE))
    browser.logout()
    assert not is_signed_in(only_cookie(app, browser, REMEMBER_COOKIE))


def test_a_session_restored_from_the_remember_cookie_is_not_fresh(app, browser, user):
    browser.login(user, remember=True)
    with browser.client.session_transaction() as cookie_session:
        assert cookie_session["_fresh"] is True
    restored = only_cookie(app, browser, REMEMBER_COOKIE)
    assert is_signed_in(restored)
    with restored.client.session_transaction() as cookie_session:
        assert cookie_session["_fresh"] is False


def test_remember_me_lasts_at_most_30_days(session, browser, user):
    response = browser.login(user, remember=True)
    [header] = set_cookies(response, REMEMBER_COOKIE)
    attributes = cookie_attributes(header)
    limit = datetime.now(timezone.utc) + timedelta(days=30, minutes=1)
    assert "expires" in attributes or "max-age" in attributes
    if "expires" in attributes:
        assert parsedate_to_datetime(attributes["expires"]) <= limit
    if "max-age" in attributes:
        assert int(attributes["max-age"]) <= 30 * 24 * 3600
    [record] = live_sessions(session, user)
    assert record.remember and record.expires_at <= limit


# --- ending other sessions ------------------------------------------------------------------


@pytest.fixture
def two_browsers(session, browser, new_browser, user):
    """The same user signed in twice, with an API token as well."""
    browser.login(user)
    other = new_browser()
    other.login(user, remember=True)
    token = api_token(browser.client, user)
    assert is_signed_in(other)
    return browser, other, token


def test_changing_the_password_ends_the_other_sessions_but_keeps_this_one(app, session, two_browsers, user):
    current, other, token = two_browsers
    remember_copy = only_cookie(app, other, REMEMBER_COOKIE)
    response = current.post_form("/account", {
        "pw-current_password": PASSWORD, "pw-new_password": "a new and long passphrase",
        "pw-confirm": "a new and long passphrase", "pw-submit": "Change password",
    })
    assert response.status_code == 302
    assert is_signed_in(current)
    assert not is_signed_in(other)
    assert not is_signed_in(remember_copy)
    assert current.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert len(live_sessions(session, user)) == 1


def test_a_wrong_current_password_changes_nothing(session, two_browsers, user):
    current, other, _token = two_browsers
    response = current.post_form("/account", {
        "pw-current_password": "not my password", "pw-new_password": "a new and long passphrase",
        "pw-confirm": "a new and long passphrase", "pw-submit": "Change password",
    })
    assert response.status_code == 200
    assert is_signed_in(other)


def test_sign_out_everywhere_ends_the_other_sessions_but_keeps_this_one(app, session, two_browsers, user):
    current, other, token = two_browsers
    remember_copy = only_cookie(app, other, REMEMBER_COOKIE)
    response = current.post_form("/account", {"all-submit": "Sign out everywhere else"})
    assert response.status_code == 302
    assert is_signed_in(current)
    assert not is_signed_in(other)
    assert not is_signed_in(remember_copy)
    assert current.client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_an_admin_disabling_a_user_ends_its_sessions_and_tokens_at_once(session, new_browser, two_browsers, user):
    current, other, token = two_browsers
    build_admin(session)
    session.commit()
    user_id = session.scalar(sa.select(User.id).where(User.email == user))
    admin = new_browser()
    admin.login("admin@firm.example")
    response = admin.post_form(f"/admin/users/{user_id}/active", page="/admin/users")
    assert response.status_code == 302
    assert not is_signed_in(current)
    assert not is_signed_in(other)
    assert current.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert live_sessions(session, user) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) == 0


def test_signing_out_ends_only_this_session(two_browsers):
    current, other, _token = two_browsers
    current.logout()
    assert not is_signed_in(current)
    assert is_signed_in(other)


def test_the_settings_page_marks_the_session_it_is_read_in(browser, new_browser, user):
    other = new_browser()
    for b, agent in ((browser, "Browser One"), (other, "Browser Two")):
        b.client.environ_base["HTTP_USER_AGENT"] = agent
        b.login(user)
    for b, own, foreign in ((browser, "Browser One", "Browser Two"), (other, "Browser Two", "Browser One")):
        rows = b.get("/account").text.split("<tr>")
        [own_row] = [row for row in rows if own in row]
        [foreign_row] = [row for row in rows if foreign in row]
        assert "This session" in own_row and "This session" not in foreign_row


# --- timeouts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "offset", "alive"),
    [
        ("last_seen_at", "idle - 5 minutes", True),
        ("last_seen_at", "idle + 1 minute", False),
        ("expires_at", "+1 minute", True),
        ("expires_at", "-1 second", False),
    ],
    ids=["idle-within-timeout", "idle-past-timeout", "before-absolute-end", "past-absolute-end"],
)
def test_sessions_end_after_the_idle_timeout_and_the_absolute_lifetime(app, session, browser, user, column, offset,
                                                                      alive):
    browser.login(user)
    now = datetime.now(timezone.utc)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    value = {
        "idle - 5 minutes": now - idle + timedelta(minutes=5),
        "idle + 1 minute": now - idle - timedelta(minutes=1),
        "+1 minute": now + timedelta(minutes=1),
        "-1 second": now - timedelta(seconds=1),
    }[offset]
    session.execute(sa.update(UserSession).values({column: value}))
    session.commit()
    assert is_signed_in(browser) is alive


def test_activity_keeps_a_session_alive(app, session, browser, user):
    browser.login(user)
    almost_idle = datetime.now(timezone.utc) - app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=2)
    session.execute(sa.update(UserSession).values(last_seen_at=almost_idle))
    session.commit()
    assert is_signed_in(browser)
    [record] = live_sessions(session, user)
    assert record.last_seen_at > almost_idle + timedelta(minutes=5), "the request counts as activity"


def test_the_absolute_lifetime_also_ends_a_remembered_session(app, session, browser, user):
    browser.login(user, remember=True)
    session.execute(sa.update(UserSession).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    session.commit()
    assert not is_signed_in(browser)
    assert not is_signed_in(only_cookie(app, browser, REMEMBER_COOKIE))


def test_the_absolute_lifetime_is_at_most_12_hours_without_remember_me(session, browser, user):
    browser.login(user)
    [record] = live_sessions(session, user)
    assert record.expires_at - record.created_at <= timedelta(hours=12)


# --- cookie attributes --------------------------------------------------------------------


def production_app(database_url: str):
    return create_app({
        **FAST_HASHING,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 32,
        "AUDIT_HMAC_KEY": "a" * 32,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "TRUSTED_HOSTS": ["localhost"],
    })


@pytest.mark.parametrize("environment", ["testing", "production"])
def test_every_cookie_is_httponly_samesite_lax_and_secure_in_production(app, session, database_url, user, environment):
    if environment == "production":
        app = production_app(database_url)
    client = app.test_client()
    secure = environment == "production"
    base = "https://localhost" if secure else "http://localhost"
    # Flask-WTF checks the Referer of HTTPS posts (WTF_CSRF_SSL_STRICT).
    headers = {"Referer": f"{base}/login"}
    page = client.get("/login", base_url=base)
    response = client.post("/login", base_url=base, headers=headers, data={
        "email": user, "password": PASSWORD, "remember": "y", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    headers_by_name = {name: set_cookies(response, name) for name in (SESSION_COOKIE, REMEMBER_COOKIE)}
    for name, values in headers_by_name.items():
        assert values, f"sign-in sets {name}"
        for header in values:
            attributes = cookie_attributes(header)
            assert "httponly" in attributes, header
            assert attributes.get("samesite", "").lower() == "lax", header
            assert ("secure" in attributes) is secure, header
    if environment == "production":
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("secret", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_a_secret_key(monkeypatch, database_url, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"PORTAL_ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url}
    if secret is not None:
        config["SECRET_KEY"] = secret
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(config)


def test_production_is_the_default_environment(monkeypatch, database_url):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})

