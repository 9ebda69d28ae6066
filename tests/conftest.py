"""Test fixtures: a real database per test (SQLite or PostgreSQL), the app, clients.

Choose the database with ``PORTAL_TEST_DB=sqlite`` (default) or ``postgresql``
(``TEST_POSTGRES_URL``, default the local server's ``test`` database; each xdist worker
gets a database of its own). The schema is built once per run by the Alembic
migrations, never by ``create_all``, so every test also exercises them.

* SQLite: each test gets a copy of the migrated database file.
* PostgreSQL: each test starts from emptied tables. As in production (see the README),
  the migrations run as the owner (the ``TEST_POSTGRES_URL`` user) and the app connects
  as a restricted role (``TEST_POSTGRES_APP_ROLE``, created if missing) that may not
  change the audit log; ``owner_session`` is the owner, for what only it may do.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.extensions import db
from portal.security import unscoped

ROOT = Path(__file__).resolve().parent.parent
DB_KIND = os.environ.get("PORTAL_TEST_DB", "sqlite")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POSTGRES_APP_ROLE = os.environ.get("TEST_POSTGRES_APP_ROLE", "portal_test_app")
REQUIRE_ALL = os.environ.get("PORTAL_REQUIRE_ALL") == "1"  # CI: a skipped browser/PDF test is a failure


def _url_builders_compiled_once() -> None:
    """Almost every test creates an app, and nine tenths of ``create_app`` (about 90 ms)
    is werkzeug compiling a URL builder, Python source through ``compile``, for each of
    its 1,100 rules: the same rules each time. A builder is a function of the rule's
    text, its parsed parts and defaults (it reaches the rule itself, and its converters,
    through its first argument when called), so each worker compiles each one once."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict[tuple, object] = {}

    def once(self: Rule, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = once


_url_builders_compiled_once()


class _TemplatesCompiledOnce(jinja2.BytecodeCache):
    """Each app has a Jinja environment of its own, which compiles every template it
    renders (15-40 ms each here: the page frame 16, ``macros.html`` 40), several in most
    tests. The compiled code depends on the template's text and the environment's
    settings, which ``create_app`` makes the same for every app; so each worker compiles
    each template once, and the apps of later tests load its code (checked against the
    template's text)."""

    def __init__(self) -> None:
        self.compiled: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        checksum, code = self.compiled.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = (bucket.checksum, bucket.code)


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _TemplatesCompiledOnce()}


FAST_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}
PASSWORD = "correct horse battery staple"
USER_EMAIL = "approver@alpha.example"  # the ``user`` fixture's


def pytest_configure(config):
    config.addinivalue_line("markers", "beside_alpha(*fixtures): the fixtures (Bravo, the admin) built right "
                                       "after Alpha for each test of the module that uses Alpha")


def pytest_report_header(config):
    return f"database: {DB_KIND}" + (f" ({POSTGRES_URL})" if DB_KIND == "postgresql" else "")


def skip_or_fail(reason: str):
    """Skip a test whose tools are missing, except in CI where they must be there."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def base_config(database_url: str) -> dict:
    return {
        "PORTAL_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Each test that issues a document would otherwise convert it to PDF in a job
        # thread that outlives it; tests/test_document_pdf.py turns it on.
        "DOCUMENT_PDF_ON_ISSUE": False,
        **FAST_HASHING,
    }


def _migrate(database_url: str, owner_url: str) -> None:
    """``flask db upgrade`` as production runs it: as the owner (DATABASE_OWNER_URL)."""
    from flask_migrate import upgrade

    app = create_app({**base_config(database_url), "DATABASE_OWNER_URL": owner_url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


def as_owner(url: str) -> str:
    """The same database as the owner of its schema (SQLite has no roles)."""
    if not url.startswith("postgresql"):
        return url
    owner = sa.engine.make_url(POSTGRES_URL)
    return sa.engine.make_url(url).set(username=owner.username, password=owner.password).render_as_string(hide_password=False)


# The README's grants ("PostgreSQL roles"): everything but changing the audit log.
APP_ROLE_GRANTS = [
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {app}",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_chain_head FROM {app}",
    "GRANT UPDATE (last_seq, last_hash) ON audit_chain_head TO {app}",
]


def _create_app_role(admin: sa.Engine) -> None:
    """The restricted role, once per server: test runs (and their workers) share it.
    ``admin`` autocommits, so the lock is the session's (a transaction's would end with
    its own statement, and two workers on a new server would both create the role)."""
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext('portal test app role'))"))
        try:
            if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": POSTGRES_APP_ROLE}) is None:
                conn.execute(sa.text(f'CREATE ROLE "{POSTGRES_APP_ROLE}" LOGIN'))
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('portal test app role'))"))


def _grant_app_role(owner_url: str) -> None:
    engine = sa.create_engine(owner_url)
    with engine.begin() as conn:
        for statement in APP_ROLE_GRANTS:
            conn.execute(sa.text(statement.format(app=f'"{POSTGRES_APP_ROLE}"')))
    engine.dispose()


def _worker() -> str:
    """A name unique to this test process: several runs (and CI) may share one server."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    return f"{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


# RQ's keys in Redis begin with this prefix, read once when rq is first imported (by the
# Redis tests of jobs, and the workers they start, which inherit it): each test process
# has its own (not inherited: xdist's workers are children of the controller, which set
# one too), so parallel runs and workers sharing one Redis never see each other's keys.
os.environ["RQ_KEY_PREFIX"] = f"rqtest-{_worker()}-{os.getpid()}"


# The modules of the suite's longest tests (browser crawls of every page, the hostile
# input crawl, LibreOffice and Redis workers killed and restarted), run first: handed out
# last, one of them would keep a worker busy for minutes after the others ran dry.
LONGEST_FIRST = ("test_ui_pages.py", "test_hostile_input.py", "test_pdf_warm.py", "test_outage_postgres.py",
                 "test_jobs_redis.py", "test_ui_inbox.py", "test_people_pages.py", "test_onboarding_pages.py")


def pytest_collection_modifyitems(config, items):
    """The longest modules first (``LONGEST_FIRST``). The PostgreSQL run runs the tests
    that touch a database: those of the ``database_template`` fixture (every app,
    session and client is built on it) and those of modules that choose their own (they
    read ``DB_KIND`` or ``POSTGRES_URL``). The others (docgen, LibreOffice, pure helpers)
    ran the same in the SQLite run, so they are deselected here, not run twice; so are
    the tests in Chromium (marked ``browser``, or using ``chromium``): what they check
    (layout, scripts, accessibility) does not depend on the database, whose side of every
    page and form the test client's crawls and route tests check on PostgreSQL. (They
    were a quarter of the PostgreSQL run's time, which CI's 30 minutes could not spare.)"""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    if DB_KIND != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        module = getattr(item, "module", None)
        fixtures = getattr(item, "fixturenames", ())
        touches = "database_template" in fixtures or any(hasattr(module, name) for name in ("DB_KIND", "POSTGRES_URL"))
        in_chromium = item.get_closest_marker("browser") is not None or "chromium" in fixtures
        (keep if touches and not in_chromium else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """The migrated schema: a template file (SQLite) or a worker database (PostgreSQL)."""
    if DB_KIND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        _migrate(f"sqlite:///{path}", f"sqlite:///{path}")
        yield path
        return
    if DB_KIND != "postgresql":
        raise pytest.UsageError(f"PORTAL_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}")
    with _postgres_database(f"portal_test_{_worker()}") as url:
        yield url


@contextmanager
def _postgres_database(name: str):
    """A new database ``name``, migrated by its owner, for the app's role; dropped after."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    _create_app_role(admin)
    owner_url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    url = sa.engine.make_url(owner_url).set(username=POSTGRES_APP_ROLE, password=None).render_as_string(hide_password=False)
    _migrate(url, owner_url)
    _grant_app_role(owner_url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    if DB_KIND == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copy(database_template, path)
        yield f"sqlite:///{path}"
        return
    yield database_template
    _empty_postgres(as_owner(database_template))


def _empty_postgres(url: str) -> None:
    """Delete every row and restart the id sequences, in one round trip. TRUNCATE of
    forty tables costs about 0.65 s a test here; DELETE with triggers (foreign keys, the
    audit log's append-only guard) switched off for this transaction costs a few ms. The
    statement is worked out once per database (its schema does not change under the tests
    that share it)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        if url not in _emptying:
            tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
            sequences = conn.execute(sa.text(
                "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_default LIKE 'nextval(%'"
            )).scalars().all()
            _emptying[url] = "; ".join([
                "SET LOCAL session_replication_role = replica",
                *(f'DELETE FROM "{table}"' for table in tables),
                *(f"SELECT setval('{sequence}', 1, false)" for sequence in sequences),
                f"INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, '{'0' * 64}')",
            ])
        conn.exec_driver_sql(_emptying[url])
    engine.dispose()


_emptying: dict[str, str] = {}  # the statement that empties each database


# Every engine that connected during the test, held until the test ends: an app a test
# builds inline (create_app(...).test_client()) may be freed before teardown, and its
# pooled PostgreSQL connections would then be garbage-collected open, later, in another
# test (psycopg warns, and warnings are errors here).
_connected_engines: set[sa.Engine] = set()
# Engines of an app that outlives a test (a module's served demo site): closed by their
# fixture once its server has stopped, never between its tests, while a request the
# browser left behind may still hold a connection (disposing of the pool then would
# orphan that connection, for the garbage collector to find open later).
kept_engines: set[sa.Engine] = set()


@sa.event.listens_for(sa.Engine, "engine_connect")
def _remember_engine(connection: sa.Connection) -> None:
    _connected_engines.add(connection.engine)


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Close the pooled connections of every app a test created (some tests build
    their own apps), so none is garbage-collected open in a later test."""
    yield
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            if engine not in kept_engines:
                engine.dispose()
    while _connected_engines:
        engine = _connected_engines.pop()
        if engine not in kept_engines:
            engine.dispose()


@contextmanager
def database_of_its_own(database_template, directory: Path, name: str):
    """A migrated database apart from each test's, for a fixture that outlives a test (a
    module's demo data, served to a browser): a copy of the template (SQLite), or a
    database of its own on the server (PostgreSQL), dropped at the end. Its URL."""
    if DB_KIND == "sqlite":
        path = directory / f"{name}.db"
        shutil.copy(database_template, path)
        yield f"sqlite:///{path}"
        return
    with _postgres_database(f"portal_test_{_worker()}_{name}") as url:
        yield url


@pytest.fixture
def unmigrated_url(tmp_path):
    """An empty database of its own, to migrate step by step."""
    if DB_KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    name = f"portal_test_{_worker()}_legacy"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app_config(database_url) -> dict:
    """Override in a test module to change the app's configuration."""
    return base_config(database_url)


def close_app(app) -> None:
    """Let the jobs ``app`` handed to its own threads (no Redis) finish, then close every
    connection of its engine: a job still running would otherwise keep one open, for the
    garbage collector to find during a later test."""
    from portal.jobs.backends import InProcess

    jobs = app.extensions.get("portal_jobs")
    if isinstance(jobs, InProcess):
        jobs.drain(timeout=60)
    with app.app_context():
        db.session.remove()
        kept_engines.discard(db.engine)
        db.engine.dispose()


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    yield app
    close_app(app)


@contextmanager
def app_session(config: dict):
    """The session of a new app made with ``config``, seeing every account."""
    setup_app = create_app(config)
    with setup_app.app_context(), unscoped():
        yield db.session
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app_config):
    """A database session outside any request, allowed to see every account, connected
    as the app is (on PostgreSQL, the restricted role).

    It lives in an app instance of its own: requests of ``client`` then push their own
    app context, so nothing cached on ``g`` (the signed-in user, the CSRF token) leaks
    from the test's code into a request or from one request into the next."""
    with app_session(app_config) as session:
        yield session


@pytest.fixture
def owner_session(app_config):
    """A session as the owner of the schema: someone with database access, who may
    bypass the audit log's triggers (``forge``). A plain session on a connection of its
    own (``session`` is the app context's); after ``forge``, ``session.rollback()`` to see
    what it did."""
    engine = sa.create_engine(as_owner(app_config["SQLALCHEMY_DATABASE_URI"]))
    with unscoped(), sa.orm.Session(engine) as owner:
        yield owner
    engine.dispose()


def forge(owner_session, statement) -> None:
    """Change the audit log the way an attacker with the owner's access would: around its
    append-only trigger (SQLite: drop it; PostgreSQL: disable it for the statement)."""
    if owner_session.get_bind().dialect.name == "sqlite":
        owner_session.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        owner_session.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        owner_session.execute(statement)
    else:
        owner_session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        owner_session.execute(statement)
        owner_session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    owner_session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- accounts ----------------------------------------------------------------------
# factories imports PASSWORD from here, so these fixtures import factories when they run.


@pytest.fixture
def alpha(session, request):
    """Account Alpha from ``factories.build_account``: a user of every role (the firm's
    assigned to Alpha only) and one row of every account-owned model, committed.

    A module whose tests all want others beside Alpha says so once, and gets them
    built right after it: ``pytestmark = pytest.mark.beside_alpha("bravo", "admin")``."""
    from tests.factories import build_account

    world = build_account(session, "Alpha")
    session.commit()
    for marker in request.node.iter_markers("beside_alpha"):
        for name in marker.args:
            request.getfixturevalue(name)
    return world


@pytest.fixture
def bravo(session):
    """Account Bravo, built as Alpha is: the other client, none of whose rows Alpha's
    users may see."""
    from tests.factories import build_account

    world = build_account(session, "Bravo")
    session.commit()
    return world


@pytest.fixture
def worlds(alpha, bravo):
    """``(alpha, bravo)``, Alpha built first: for tests that hold one account against the other."""
    return alpha, bravo


@pytest.fixture
def user(session):
    """A client approver (``USER_EMAIL``, password ``PASSWORD``) of an Account Alpha that
    holds nothing else, for the tests of signing in; the fixture's value is the email."""
    from portal.models import Role
    from tests.factories import make_account, make_user

    account = make_account(session, "Account Alpha")
    make_user(session, USER_EMAIL, Role.CLIENT_APPROVER, account)
    session.commit()
    return USER_EMAIL


@pytest.fixture
def admin(session):
    """The firm's administrator (admin@firm.example), who sees every account."""
    from tests.factories import build_admin

    user = build_admin(session)
    session.commit()
    return user


# --- signing in --------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that signs in through the login form and posts forms with CSRF."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def login(self, email: str, password: str = PASSWORD, remember: bool = False, next_url: str | None = None):
        page = self.client.get("/login")
        data = {"email": email, "password": password, "csrf_token": csrf_token(page.text)}
        if remember:
            data["remember"] = "y"
        url = "/login" + (f"?next={next_url}" if next_url else "")
        return self.client.post(url, data=data)

    def post_form(self, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        """POST ``data`` with the CSRF token of ``page`` (default: any signed-in page)."""
        html = self.client.get(page or "/account").text
        return self.client.post(url, data={"csrf_token": csrf_token(html), **(data or {})}, **kwargs)

    def logout(self):
        return self.post_form("/logout")


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def new_browser(app):
    """Another, independent browser (its own cookie jar)."""
    return lambda: Browser(app.test_client())


def api_token(client, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(client):
    """``auth(email)``: bearer headers for that user, its token asked for once per test."""
    tokens: dict[str, dict] = {}

    def headers(email: str) -> dict:
        if email not in tokens:
            tokens[email] = bearer(api_token(client, email))
        return tokens[email]

    return headers


# --- e-mail -------------------------------------------------------------------------


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url():
    """The local Redis's URL; skips (fails with PORTAL_REQUIRE_ALL=1) when it does not answer.
    Tests that share it give their keys a prefix of their own."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail("no Redis at 127.0.0.1:6379")
    return REDIS_URL


class Inbox:
    """What an SMTP server (aiosmtpd, on a free local port) received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free local port: ``(inbox, port)``."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Mailbox:
    """The outbox sent to a real SMTP server, and read back as the recipients get it."""

    def __init__(self, inbox: Inbox, session):
        self.inbox, self.session, self.read = inbox, session, 0

    def deliver(self) -> list:
        """Send what the outbox holds (as ``flask mail send`` does, in the ``session``'s
        app) and return the messages the server received since the last call."""
        from email import message_from_bytes, policy

        from portal.notifications import send_due

        self.session.rollback()  # see what the requests committed
        send_due(self.session)
        new, self.read = self.inbox.envelopes[self.read:], len(self.inbox.envelopes)
        return [message_from_bytes(envelope.original_content, policy=policy.default) for envelope in new]


@pytest.fixture
def mailbox(smtp_server, session, monkeypatch):
    """The app of ``session`` sends its mail to ``smtp_server``; ``mailbox.deliver()``."""
    from flask import current_app

    inbox, port = smtp_server
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False}.items():
        monkeypatch.setitem(current_app.config, key, value)
    return Mailbox(inbox, session)


# --- the UI in headless Chromium -----------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"


@contextmanager
def serving(app):
    """``app`` served over HTTP on a free local port, in a thread: its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _closed_before_sent(app), threaded=True)
    # Request threads the server waits for when it closes: a request still running when
    # a test ends (a tab closed mid-poll) then gives its database connection back before
    # the caller disposes of the engine, instead of leaving it to the garbage collector.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def _closed_before_sent(app):
    """``app``, each answer read whole and closed before the server sends it. werkzeug's
    server closes an answer after sending it, but not when the browser has dropped the
    connection (a tab closed while the favicon came): the static file is then closed by
    the garbage collector, with a ResourceWarning that fails whichever test is running.
    The portal streams nothing, so nothing changes for the browser."""

    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    return serve


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free local port, in a thread."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def browser_tab(chromium, base_url: str, *, width: int = 1280, init_script: Path | None = None):
    """A fresh browser tab whose console errors (CSP violations included) and failed
    subresources (a missing stylesheet or script) fail the test. A page answered with
    4xx on purpose (a failed sign-in is 401) is not an error. ``init_script`` runs in
    every page before its own scripts (as the browser's, so the CSP does not apply)."""
    context = chromium.new_context(base_url=base_url, locale="en-US", viewport={"width": width, "height": 900})
    if init_script:
        context.add_init_script(path=str(init_script))
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response):
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser tab on the live server (see ``browser_tab``)."""
    with browser_tab(chromium, live_server) as tab:
        yield tab


def sign_in_page(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form in a browser tab, and wait for the home page."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/")


def screenshot(page, name: str) -> Path:
    """Keep a picture of what the user saw (tests/screenshots/, not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
