"""Sign-in: credentials, the answer for unknown e-mails, safe redirects, throttling and
the password policy and hashing (battery items 13-17, 25 for /logout)."""

from __future__ import annotations

import re
import time
from contextlib import nullcontext

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.admin.service import create_user
from portal.auth import passwords
from portal.models import Role, User
from portal.domain import DomainError
from tests.conftest import PASSWORD, USER_EMAIL, base_config, csrf_token
from tests.factories import make_account, make_user

FLASHES = re.compile(r'<ul class="flashes"[^>]*>.*?</ul>', re.S)


@pytest.fixture
def user(user, session):
    """The shared user, and an account manager (am@firm.example) assigned to no account."""
    make_user(session, "am@firm.example", Role.ACCOUNT_MANAGER)
    session.commit()
    return user


def post_login(client, email: str, password: str, *, csrf: str | None = None, query: dict | None = None, **kwargs):
    """POST the sign-in form (fetching a CSRF token unless given one)."""
    if csrf is None:
        csrf = csrf_token(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf},
                       query_string=query or {}, **kwargs)


def post_token(client, email: str, password: str, **kwargs):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password}, **kwargs)


def stored_hash(session, email: str) -> str:
    session.rollback()  # end the test's read transaction: see what the requests committed
    return session.scalar(sa.select(User.password_hash).where(User.email == email))


# --- signing in ---------------------------------------------------------------------


def test_sign_in_with_the_right_password_redirects_home(client, user):
    response = post_login(client, user, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize("email", [USER_EMAIL.upper(), f"  {USER_EMAIL} "], ids=["upper-case", "spaces"])
def test_sign_in_ignores_case_and_surrounding_spaces_of_the_email(client, user, email):
    assert post_login(client, email, PASSWORD).status_code == 302


@pytest.fixture
def burned(monkeypatch):
    """Record calls of the dummy hash that stands in for an unknown user's."""
    calls = []
    real = passwords.burn_verification_time

    def record(password):
        calls.append(password)
        real(password)

    monkeypatch.setattr(passwords, "burn_verification_time", record)
    return calls


def _disable(session, email):
    session.execute(sa.update(User).where(User.email == email).values(active=False))
    session.commit()


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email", "disabled-user"])
def test_failed_sign_in_answers_the_same_whatever_the_reason(client, session, user, burned, case):
    baseline = post_login(client, user, "not the password at all")
    assert baseline.status_code == 401
    expected = FLASHES.search(baseline.text).group(0)
    assert "The e-mail or password is not correct." in expected
    burned.clear()

    if case == "disabled-user":
        _disable(session, user)
    email = "nobody@alpha.example" if case == "unknown-email" else user
    password = PASSWORD if case == "disabled-user" else "not the password at all"
    response = post_login(client, email, password)

    assert response.status_code == baseline.status_code
    assert FLASHES.search(response.text).group(0) == expected
    # An unknown e-mail costs a hash like a known one does (no timing oracle).
    assert burned == (["not the password at all"] if case == "unknown-email" else [])


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email", "disabled-user"])
def test_failed_token_request_answers_the_same_whatever_the_reason(client, session, user, burned, case):
    baseline = post_token(client, user, "not the password at all")
    burned.clear()
    if case == "disabled-user":
        _disable(session, user)
    email = "nobody@alpha.example" if case == "unknown-email" else user
    response = post_token(client, email, PASSWORD if case == "disabled-user" else "not the password at all")
    assert (response.status_code, response.json) == (401, baseline.json)
    assert response.json["error"]["code"] == "invalid_credentials"
    assert len(burned) == (1 if case == "unknown-email" else 0)


# --- signing out ----------------------------------------------------------------------


def test_logout_is_not_available_by_get(browser, user):
    browser.login(user)
    response = browser.get("/logout")
    assert response.status_code == 405
    assert browser.get("/account").status_code == 200, "still signed in"


def csrf_signed_at(app, raw: str, seconds_ago: int) -> str:
    """A form token for the session's raw CSRF value, signed ``seconds_ago`` (as Flask-WTF signs it)."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds_ago

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=PastSigner).dumps(raw)


@pytest.mark.parametrize("case", ["missing", "forged", "another-sessions", "expired"])
def test_logout_without_a_valid_csrf_token_is_refused(app, browser, new_browser, user, case):
    browser.login(user)
    with browser.client.session_transaction() as cookie_session:
        raw = cookie_session.get("csrf_token") or ""
    if case == "another-sessions":
        other = new_browser()
        other.login("am@firm.example")
        token = csrf_token(other.get("/account").text)
    else:
        token = {"missing": None, "forged": "forged-token",
                 "expired": csrf_signed_at(app, raw, app.config["WTF_CSRF_TIME_LIMIT"] + 60)}[case]
    response = browser.client.post("/logout", data={"csrf_token": token} if token else {})
    assert response.status_code == 400
    assert browser.get("/account").status_code == 200, "still signed in"


def test_a_recently_signed_csrf_token_is_accepted(app, browser, user):
    """The control for the expired case above: the same construction, signed a minute ago."""
    browser.login(user)
    browser.get("/account")
    with browser.client.session_transaction() as cookie_session:
        raw = cookie_session["csrf_token"]
    response = browser.client.post("/logout", data={"csrf_token": csrf_signed_at(app, raw, 60)})
    assert response.status_code == 302
    assert browser.get("/account").status_code == 302


def test_logout_with_the_csrf_token_signs_out(browser, user):
    browser.login(user)
    response = browser.logout()
    assert response.status_code == 302
    assert browser.get("/account").headers["Location"].startswith("/login")


# --- next= ------------------------------------------------------------------------------


def test_sign_in_returns_to_a_same_site_path(client, user):
    response = post_login(client, "am@firm.example", PASSWORD, query={"next": "/accounts?page=2"})
    assert response.headers["Location"] == "/accounts?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_sign_in_refuses_to_return_to_another_site(client, user, target):
    response = post_login(client, user, PASSWORD, query={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- throttling ---------------------------------------------------------------------------


def form_attempts(client):
    csrf = csrf_token(client.get("/login").text)
    return lambda email, password, **kw: post_login(client, email, password, csrf=csrf, **kw)


def token_attempts(client):
    return lambda email, password, **kw: post_token(client, email, password, **kw)


CHANNELS = {"form": form_attempts, "api": token_attempts}


def assert_throttled(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_ten_failures_for_one_email_block_the_eleventh_attempt_even_with_the_right_password(client, user, channel):
    attempt = CHANNELS[channel](client)
    for _ in range(10):
        assert attempt(user, "wrong password!").status_code == 401
    assert_throttled(attempt(user, PASSWORD))
    if channel == "api":
        assert set(client.post("/api/v1/auth/token", json={"email": user, "password": PASSWORD}).json) == {"error"}


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_the_email_throttle_is_per_email(client, user, channel):
    attempt = CHANNELS[channel](client)
    for _ in range(10):
        attempt(user, "wrong password!")
    assert attempt("am@firm.example", PASSWORD).status_code in (201, 302)


def test_the_email_throttle_counts_form_and_api_failures_together(client, user):
    form, api = form_attempts(client), token_attempts(client)
    for i in range(10):
        (form if i % 2 else api)(user, "wrong password!")
    assert_throttled(form(user, PASSWORD))
    assert_throttled(api(user, PASSWORD))


def test_the_email_throttle_ignores_the_emails_case(client, user):
    attempt = token_attempts(client)
    for i in range(10):
        attempt(user.upper() if i % 2 else user, "wrong password!")
    assert_throttled(attempt(user, PASSWORD))


def test_successful_sign_ins_are_not_counted(client, user):
    attempt = token_attempts(client)
    for _ in range(12):
        assert attempt(user, PASSWORD).status_code == 201


class TestAddressThrottle:
    LIMIT = 5

    @pytest.fixture
    def app_config(self, database_url):
        return {**base_config(database_url), "LOGIN_FAILURES_PER_ADDRESS": f"{self.LIMIT} per 15 minutes"}

    @pytest.mark.parametrize("channel", list(CHANNELS))
    @pytest.mark.parametrize("rotate_forwarded_for", [False, True], ids=["same-headers", "rotating-x-forwarded-for"])
    def test_failures_over_many_emails_from_one_address_reach_the_address_limit(self, client, user, channel,
                                                                                 rotate_forwarded_for):
        attempt = CHANNELS[channel](client)

        def headers(i):
            return {"X-Forwarded-For": f"203.0.113.{i}"} if rotate_forwarded_for else {}

        for i in range(self.LIMIT):
            assert attempt(f"guess{i}@alpha.example", "wrong password!", headers=headers(i)).status_code == 401
        assert_throttled(attempt(user, PASSWORD, headers=headers(99)))

    def test_the_address_throttle_is_per_address(self, client, user):
        attempt = token_attempts(client)
        for i in range(self.LIMIT):
            attempt(f"guess{i}@alpha.example", "wrong password!")
        assert_throttled(attempt(user, PASSWORD))
        other_address = attempt(user, PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert other_address.status_code == 201


# --- password policy ------------------------------------------------------------------------


LONG_128 = "Tr0ub4dor&3-" * 10 + "xK#9mQ2v"


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Zq7#mK2", False),  # 7 characters
        ("Zq7#mK2p", True),  # 8 characters
        ("password1", False),
        ("qwerty123", False),
        ("PASSWORD1", False),  # common in any case
        (LONG_128, True),
        (LONG_128 + "x", False),  # 129 characters
    ],
    ids=["7-chars", "8-chars", "password1", "qwerty123", "common-upper-case", "128-chars", "129-chars"],
)
def test_password_policy(session, password, accepted):
    with nullcontext() if accepted else pytest.raises(DomainError):
        create_user(session, email="new@firm.example", name="New", role=Role.FINANCE, password=password)
    assert (passwords.password_problems(password) == []) is accepted


@pytest.mark.parametrize(
    ("new_password", "accepted"),
    [("Zq7#mK2", False), ("qwerty123", False), (LONG_128 + "x", False), (LONG_128, True)],
    ids=["7-chars", "common", "129-chars", "128-chars"],
)
def test_changing_the_password_applies_the_policy(client, browser, user, new_password, accepted):
    browser.login(user)
    response = browser.post_form("/account", {
        "pw-current_password": PASSWORD, "pw-new_password": new_password, "pw-confirm": new_password,
        "pw-submit": "Change password",
    })
    assert response.status_code == (302 if accepted else 200)
    assert post_token(client, user, new_password).status_code == (201 if accepted else 401)
    assert post_token(client, user, PASSWORD).status_code == (401 if accepted else 201)


def test_a_password_equal_to_the_emails_name_is_refused(session):
    with pytest.raises(DomainError) as error:
        create_user(session, email="margaret.thatcher@firm.example", name="M", role=Role.FINANCE,
                    password="Margaret.Thatcher")
    assert "password" in error.value.fields


@pytest.mark.parametrize(
    ("stored", "other"),
    [
        ("k" * 100, "k" * 80 + "j" * 20),  # ASCII: differs from byte 81 on
        ("密" * 40, "密" * 30 + "码" * 10),  # 3-byte characters: 40 characters, differs from byte 91 on
    ],
    ids=["ascii", "cjk"],
)
def test_passwords_are_not_truncated(client, session, stored, other):
    assert stored.encode()[:72] == other.encode()[:72] and stored != other
    account = make_account(session, "Account Alpha")
    make_user(session, USER_EMAIL, Role.CLIENT_APPROVER, account, password=stored)
    session.commit()
    assert post_token(client, USER_EMAIL, other).status_code == 401
    assert post_token(client, USER_EMAIL, stored).status_code == 201


def test_stored_hashes_are_argon2id(session, user):
    assert stored_hash(session, user).startswith("$argon2id$")


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_a_hash_with_other_parameters_is_replaced_on_the_next_sign_in(app, client, session, user, channel):
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(PASSWORD)
    session.execute(sa.update(User).where(User.email == user).values(password_hash=old))
    session.commit()

    assert post_token(client, user, "wrong password!").status_code == 401
    assert stored_hash(session, user) == old, "a failed sign-in never rewrites the hash"

    assert CHANNELS[channel](client)(user, PASSWORD).status_code in (201, 302)
    new = stored_hash(session, user)
    assert new != old and new.startswith("$argon2id$")
    current = PasswordHasher(time_cost=app.config["ARGON2_TIME_COST"], memory_cost=app.config["ARGON2_MEMORY_COST"],
                             parallelism=app.config["ARGON2_PARALLELISM"])
    assert not current.check_needs_rehash(new)
    assert current.verify(new, PASSWORD)


UNKNOWN_HASHES = [
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
    "pbkdf2:sha256:600000$salt$0123456789abcdef",  # Werkzeug
    "scrypt:32768:8:1$salt$0123456789abcdef",
    "$argon2id$v=19$m=1024,t=1,p=1$bm90LWJhc2U2NA",  # damaged argon2
    "plain-text-password",
    "",
]


@pytest.mark.parametrize("stored", UNKNOWN_HASHES, ids=["bcrypt", "pbkdf2", "scrypt", "damaged-argon2", "plain", "empty"])
def test_an_unknown_hash_format_is_a_failed_sign_in_not_an_error(client, session, user, stored):
    session.execute(sa.update(User).where(User.email == user).values(password_hash=stored))
    session.commit()
    for password in (PASSWORD, stored or "x"):
        response = post_token(client, user, password)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "invalid_credentials"
        page = post_login(client, user, password)
        assert page.status_code == 401
        assert "The e-mail or password is not correct." in page.text
    assert stored_hash(session, user) == stored

