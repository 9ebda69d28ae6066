"""What every HTML page shares: security headers, no inline script, error pages without
debug output, 503 on a lost database, a trusted Host, language and time zone
(battery items 24, 29, 30 in part)."""

from __future__ import annotations

import functools
import http.client
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from html.parser import HTMLParser

import flask
import pytest
import sqlalchemy as sa
from flask_login import current_user

from portal import create_app, database, web
from portal.admin.service import assign
from portal.extensions import db
from portal.models import Account, Role, User, UserSession
from tests.conftest import ROOT, USER_EMAIL, Browser, base_config, csrf_token
from tests.factories import make_user
from tests.helpers import signed_in

AM = "am@firm.example"
CLIENT = USER_EMAIL


@pytest.fixture
def approver_and_manager(user, session):
    """The shared user (CLIENT) of Account Alpha, and an account manager (AM) assigned to it."""
    account = session.scalars(sa.select(Account)).one()
    assign(session, make_user(session, AM, Role.ACCOUNT_MANAGER), account)
    session.commit()


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class InlineScriptFinder(HTMLParser):
    """Collects what a strict CSP would block: inline script bodies, ``on...=``
    handlers and ``javascript:`` URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")


def inline_script(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


# Each page: (who is signed in, path, expected status).
PAGES = {
    "login-signed-out": (None, "/login", 200),
    "home": (AM, "/", 200),
    "account-settings": (AM, "/account", 200),
    "accounts": (AM, "/accounts", 200),
    "client-home": (CLIENT, "/", 200),
    "not-found-signed-in": (AM, "/accounts/987654", 404),
    "forbidden-signed-in": (CLIENT, "/accounts", 403),
}


@pytest.fixture
def served_page(request, client, new_browser, approver_and_manager):
    """The response to one of PAGES, fetched as its user, its status and type checked."""
    who, path, status = PAGES[request.param]
    browser = signed_in(new_browser, who) if who else Browser(client)
    response = browser.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    return who, response


@pytest.mark.parametrize("served_page", list(PAGES), indirect=True)
def test_every_page_sends_the_security_headers(served_page):
    _who, response = served_page
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp.get("default-src", [])
    assert csp.get("object-src") == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin",
                                                   "strict-origin-when-cross-origin")


@pytest.mark.parametrize("served_page", [p for p, (who, _, _) in PAGES.items() if who], indirect=True)
def test_signed_in_pages_are_not_stored(served_page):
    _who, response = served_page
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("served_page", list(PAGES), indirect=True)
def test_no_page_contains_inline_script(served_page):
    _who, response = served_page
    assert inline_script(response.text) == []


@pytest.mark.parametrize(
    "html",
    ['<script>alert(1)</script>', '<a href="#" onclick="x()">x</a>', '<a href="javascript:x()">x</a>',
     '<body onload="x()">'],
)
def test_the_inline_script_check_finds_inline_script(html):
    assert inline_script(html)


def test_hsts_is_sent_over_tls_only(client):
    assert "max-age=" in client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/login").headers


@contextmanager
def gunicorn(database_url: str, **env: str):
    """The app served by gunicorn with the repository's gunicorn.conf.py, in production
    mode, on a socket this test bound (no other server can take its port): yields an
    ``http.client`` connection factory. Requests wait in the socket's backlog until the
    worker is up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    environment = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": "x" * 40, "AUDIT_HMAC_KEY": "k" * 40,
                   "DATABASE_URL": database_url,
                   "TRUSTED_HOSTS": "127.0.0.1", "PORTAL_BIND": f"fd://{listener.fileno()}", **env}
    environment.pop("FORWARDED_ALLOW_IPS", None)
    with listener:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "wsgi:app"], cwd=ROOT,
                                  env=environment, pass_fds=[listener.fileno()], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    try:
        yield functools.partial(http.client.HTTPConnection, "127.0.0.1", port, timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)


def hsts_over(connect, headers: dict) -> str | None:
    conn = connect()
    try:
        conn.request("GET", "/login", headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        return response.getheader("Strict-Transport-Security")
    finally:
        conn.close()


FORGED_TLS = [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Protocol": "ssl"}]


def test_gunicorn_trusts_no_forwarded_scheme_when_no_proxy_is_configured(database_url):
    """gunicorn's own default trusts X-Forwarded-Proto from 127.0.0.1, which a local
    client (or a proxy passing the client's header on) can forge to turn on HSTS."""
    with gunicorn(database_url) as connect:
        assert [hsts_over(connect, forged) for forged in FORGED_TLS] == [None] * len(FORGED_TLS)


def test_behind_a_configured_proxy_its_forwarded_scheme_counts(database_url):
    with gunicorn(database_url, PROXY_FIX_X_PROTO="1") as connect:
        assert "max-age=" in hsts_over(connect, {"X-Forwarded-Proto": "https"})
        assert hsts_over(connect, {}) is None

@pytest.mark.parametrize(
    "path", [pytest.param("/login"), "/api/v1/me"]
)
@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "evil.example:80"])
def test_a_forged_host_header_gets_400(client, host, path):
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 400
    assert host not in response.get_data(as_text=True)


def test_a_trusted_host_is_served(client):
    assert client.get("/login", headers={"Host": "127.0.0.1"}).status_code == 200


# --- unexpected errors -----------------------------------------------------------------------

SECRET_DETAIL = "internal detail 7f3a: password=hunter2"


@pytest.fixture
def raising_app(app):
    """The app with two routes that raise, registered before its first request."""

    def explode():
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/test-only/explode", "test_explode", explode)
    app.add_url_rule("/api/v1/test-only/explode", "test_api_explode", explode)
    return app


def test_a_route_that_raises_shows_a_generic_page_with_an_error_reference(raising_app, new_browser, approver_and_manager, caplog):
    browser = signed_in(new_browser, AM)
    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = browser.get("/test-only/explode")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = response.text
    match = re.search(r"Error reference: ([0-9a-f]{8,})", body)
    assert match, "the page quotes an error reference"
    for leak in ("Traceback", "RuntimeError", SECRET_DETAIL, "hunter2", "test_web.py", "File &#34;", 'File "'):
        assert leak not in body
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info, "the reference is logged with the traceback"


def test_a_route_that_raises_under_the_api_answers_in_the_error_shape(raising_app, new_browser, approver_and_manager):
    browser = signed_in(new_browser, AM)
    response = browser.get("/api/v1/test-only/explode")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == "server_error" and error["message"]
    assert re.fullmatch(r"[0-9a-f]{8,}", error["id"])
    assert SECRET_DETAIL not in response.get_data(as_text=True)


# --- a lost database --------------------------------------------------------------------------

OUTAGE_URLS = {
    "postgresql-closed-port": lambda tmp_path: "postgresql+psycopg://postgres@127.0.0.1:1/portal?connect_timeout=2",
    "sqlite-unreachable-path": lambda tmp_path: f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.db'}",
}


@pytest.fixture(params=list(OUTAGE_URLS))
def outage_client(request, tmp_path, database_url):
    config = {**base_config(database_url), "SQLALCHEMY_DATABASE_URI": OUTAGE_URLS[request.param](tmp_path)}
    app = create_app(config)
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def assert_outage(response, mimetype: str):
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == mimetype
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_lost_database_answers_503_on_a_page(outage_client):
    page = outage_client.get("/login")  # the sign-in form itself needs no database
    response = outage_client.post("/login", data={"email": CLIENT, "password": "x" * 10,
                                                  "csrf_token": csrf_token(page.text)})
    assert_outage(response, "text/html")


def test_a_lost_database_answers_503_to_a_signed_in_browser(outage_client):
    outage_client.get("/login")
    with outage_client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = "a-session-token"
        cookie_session["_fresh"] = True
    assert_outage(outage_client.get("/account"), "text/html")


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/api/v1/auth/token", json={"email": CLIENT, "password": "x" * 10}),
        lambda c: c.get("/api/v1/me", headers={"Authorization": "Bearer some-token"}),
    ],
    ids=["token", "me"],
)
def test_a_lost_database_answers_503_in_the_api_error_shape(outage_client, send):
    response = send(outage_client)
    assert_outage(response, "application/json")
    assert response.json["error"]["code"] == "unavailable"


@pytest.mark.parametrize("path", ["/account", "/invoices"], ids=["page", "read-only page"])
def test_a_connection_the_database_dropped_while_idle_is_replaced_unseen(approver_and_manager, app, new_browser, session, monkeypatch,
                                                                         path):
    """Battery item 30 after an idle restart: pooled connections that sat idle are
    tested before use, so the first request after the restart is answered."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose")
    browser = signed_in(new_browser, CLIENT)
    assert browser.get(path).status_code == 200

    def drop_the_pooled_connection():
        with app.app_context():
            pid = db.session.connection().connection.driver_connection.info.backend_pid
            db.session.remove()
        session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    drop_the_pooled_connection()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle
    assert browser.get(path).status_code == 200
    drop_the_pooled_connection()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 3600.0)  # no connection counts as idle
    assert_outage(browser.get(path), "text/html")  # the request that meets it: a 503, never a 500
    assert browser.get(path).status_code == 200  # and the pool starts over


@pytest.fixture
def dropping_app(app, database_url):
    """The app with two routes that read, then lose the database as a stopped server
    does (their connection dropped, no new one accepted), then read again (answered
    503) or answer 404 without reading."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to lose")
    import psycopg

    other = sa.create_engine(database_url)  # not the request's session: ``session`` would be, in a request
    down = threading.Event()
    with app.app_context():
        @sa.event.listens_for(db.engine, "do_connect")
        def _refuse(*_args):
            if down.is_set():
                raise psycopg.OperationalError("the database system is shutting down")

    def drop_my_connection():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with other.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        down.set()

    def read_again():
        drop_my_connection()
        db.session.execute(sa.text("SELECT 1"))

    def not_found():
        drop_my_connection()
        flask.abort(404)

    app.add_url_rule("/test-only/read-again", "test_read_again", read_again)
    app.add_url_rule("/api/v1/test-only/read-again", "test_api_read_again", read_again)
    @web.unit_of_work
    def page():  # the bell's count is the first read to meet the lost database
        assert current_user.role  # the signed-in user is loaded, as any page's view loads them
        drop_my_connection()
        return flask.render_template("base.html")

    def bug():
        assert current_user.role
        drop_my_connection()
        raise RuntimeError("a bug met while the database is gone")

    app.add_url_rule("/test-only/not-found", "test_not_found", not_found)
    app.add_url_rule("/test-only/page", "test_page", page)
    app.add_url_rule("/test-only/bug", "test_bug", bug)
    return app


@pytest.mark.parametrize(("path", "mimetype"), [("/test-only/read-again", "text/html"),
                                                ("/api/v1/test-only/read-again", "application/json")])
def test_a_connection_dropped_mid_request_answers_503_in_the_users_language(session, dropping_app, new_browser,
                                                                           approver_and_manager,
                                                                           path, mimetype):
    """The signed-in user was loaded from the database, and the rollback that follows
    the lost connection expires them: the 503 must not read their language again."""
    session.execute(sa.update(User).where(User.email == AM).values(language="vi"))
    session.commit()
    response = signed_in(new_browser, AM).get(path)
    assert_outage(response, mimetype)
    if mimetype == "text/html":
        assert html_lang(response) == "vi"


@pytest.mark.parametrize("path", ["/test-only/page", "/test-only/bug"], ids=["page", "error page"])
def test_a_page_that_meets_the_lost_database_only_in_its_layout_answers_503(dropping_app, new_browser,
                                                                            approver_and_manager, path):
    """The view's reads succeeded and the lost database is met by the layout (the bell's
    count; the menu, for the page of an unexpected error, whose rollback expired the
    user): 503, never a page whose work is silently not committed, and never a 500."""
    assert_outage(signed_in(new_browser, AM).get(path), "text/html")


def test_a_connection_dropped_before_a_404_still_answers_404(dropping_app, new_browser, approver_and_manager):
    """Nothing rolled back before the request ended: the end of the request does, on a
    connection that is gone."""
    assert signed_in(new_browser, AM).get("/test-only/not-found").status_code == 404

# --- language and time zone -------------------------------------------------------------------


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.text).group(1)


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [("zh-CN", "zh-Hans"), ("zh-Hans-CN,zh;q=0.9", "zh-Hans"), ("vi", "vi"), ("vi-VN,en;q=0.5", "vi"),
     ("fr-FR, vi;q=0.8", "vi"), ("fr", "en"), ("en-GB", "en-GB"), ("en-US,en;q=0.9", "en"), (None, "en")],
)
def test_the_language_follows_accept_language(client, accept_language, lang):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    assert html_lang(client.get("/login", headers=headers)) == lang


def test_the_language_switcher_sets_a_signed_out_visitors_language(client):
    zh = {"Accept-Language": "zh-CN"}
    page = client.get("/login", headers=zh)
    response = client.post("/language", headers=zh, data={"language": "vi", "next": "/login",
                                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert html_lang(client.get("/login", headers=zh)) == "vi"


@pytest.mark.parametrize("csrf", [None, "forged"], ids=["missing", "forged"])
def test_the_language_switcher_needs_a_csrf_token(client, csrf):
    client.get("/login")
    response = client.post("/language", data={"language": "vi", **({"csrf_token": csrf} if csrf else {})})
    assert response.status_code == 400
    assert html_lang(client.get("/login")) == "en"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_the_language_switcher_returns_only_to_same_site_paths(client, target):
    page = client.get("/login")
    response = client.post("/language", data={"language": "vi", "next": target, "csrf_token": csrf_token(page.text)})
    assert response.headers["Location"] == "/"


def test_a_signed_in_user_sees_the_language_of_their_setting(session, new_browser, approver_and_manager):
    session.execute(sa.update(User).where(User.email == AM).values(language="zh"))
    session.commit()
    browser = signed_in(new_browser, AM)
    assert html_lang(browser.get("/account", headers={"Accept-Language": "vi"})) == "zh-Hans"

    browser.post_form("/language", {"language": "vi", "next": "/account"})
    assert html_lang(browser.get("/account", headers={"Accept-Language": "zh-CN"})) == "vi"
    session.rollback()
    assert session.scalar(sa.select(User.language).where(User.email == AM)) == "vi", "the setting is saved"


def navigation_labels(response) -> list[str]:
    header = re.search(r'<header class="site-header">.*?</header>', response.text, re.S).group(0)
    return re.findall(r'<li><a href="/[^"]*"(?: aria-current="page")?>([^<]+)</a></li>', header)


def test_the_navigation_is_in_each_users_language(session, new_browser, approver_and_manager):
    """The navigation is built once per role and page and kept: each language keeps its own."""
    english = navigation_labels(signed_in(new_browser, AM).get("/account"))
    session.execute(sa.update(User).where(User.email == AM).values(language="zh"))
    session.commit()
    chinese = navigation_labels(signed_in(new_browser, AM).get("/account"))
    assert "Invoices" in english and "Home" in english
    assert "发票" in chinese and len(chinese) == len(english)
    assert not set(english) & set(chinese)


@pytest.mark.parametrize(
    ("tz", "local_time"),
    [("Asia/Shanghai", "11:07"), ("Asia/Ho_Chi_Minh", "10:07"), ("America/New_York", "10:07"), ("UTC", "3:07")],
)
def test_times_are_shown_in_the_users_time_zone(session, new_browser, approver_and_manager, tz, local_time):
    session.execute(sa.update(User).where(User.email == AM).values(timezone=tz))
    session.commit()
    browser = signed_in(new_browser, AM)
    signed_in_at = datetime(2024, 1, 15, 3, 7, 9, tzinfo=timezone.utc)
    session.execute(sa.update(UserSession).values(created_at=signed_in_at))
    session.commit()
    page = browser.get("/account").text
    table = page[page.index("<tbody>"):page.index("</tbody>")]
    assert re.search(rf"(?<![0-9]){re.escape(local_time)}", table), table
    if tz != "UTC":
        assert not re.search(r"(?<![0-9])3:07", table), "not the UTC time"


def test_json_answers_write_dates_and_times_as_the_api_does_even_when_orjson_refuses(app):
    """The API's JSON is written by orjson (speed): sorted keys, decimals as strings,
    dates and times as ``iso_date`` and ``iso_time`` write them (a list passes its rows'
    dates as they are); a lone surrogate (stored before the edge refused them) or a huge
    integer falls back to Flask's encoder, which writes them the same way."""
    import json
    from datetime import date, timezone
    from decimal import Decimal

    from flask.json.provider import DefaultJSONProvider

    from portal.api.common import iso_date, iso_time

    flask_own = DefaultJSONProvider(app)
    day, time = date(2026, 12, 5), datetime(2026, 12, 5, 8, 0, 7, 123456, tzinfo=timezone.utc)
    values = {"b": day, "a": Decimal("1.50"), "c": "中文 Tiếng Việt", "d": time, "e": time.replace(tzinfo=None)}
    expected = {"a": "1.50", "b": "2026-12-05", "c": "中文 Tiếng Việt", "d": "2026-12-05T08:00:07Z",
                "e": "2026-12-05T08:00:07Z"}
    assert iso_date(day) == expected["b"] and iso_time(time) == expected["d"]
    with app.app_context():
        written = app.json.dumps(values)
        assert json.loads(written) == expected
        assert written.index('"a"') < written.index('"b"') < written.index('"c"')
        for refused in ({"s": "a\ud800b"}, {"n": 2**70}):
            assert json.loads(app.json.dumps(refused)) == json.loads(flask_own.dumps(refused))
            assert json.loads(app.json.dumps({**refused, **values})) == {**json.loads(flask_own.dumps(refused)),
                                                                           **expected}
