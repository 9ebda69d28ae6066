"""Battery item 30 as a fault test: PostgreSQL restarted, or stopped and started again,
while approvals and page loads keep coming. Only 2xx and 503 with Retry-After are
answered, never a 500; the app recovers by itself; and no approval is lost or
half-written.

The test starts a private PostgreSQL server of its own (a data directory in a temporary
folder, a free port) with ``initdb`` and ``pg_ctl``, so it may stop it; it is skipped
with a note where those are not installed, unless ``PORTAL_REQUIRE_ALL=1``. The app is
served over HTTP by a threaded server in this process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal import audit, create_app
from portal.auth.service import issue_api_token
from portal.extensions import db
from portal.models import Approval, ApprovalStage, AuditEvent, ChangeRequest, CRStatus, Role, User
from portal.security import unscoped
from tests.conftest import PASSWORD, _migrate, base_config, csrf_token, skip_or_fail
from tests.factories import build_account
from tests.test_cr_service import add, submitted

APPROVER_NAME = "Client.Approver"  # the factories' name for client.approver@alpha.example
PAGE_USER = "account.manager@alpha.example"
CHANGE_REQUESTS = 240  # pending client approval; more than the approvers get through
APPROVERS, READERS = 3, 2  # threads
PAUSE = 0.02  # between one caller's requests: a steady load that leaves the machine some room
BACK_OFF = 0.3  # an approver's pause after a 503, so that the change requests outlast the outage


# --- a private PostgreSQL server ---------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL server in a data directory of its own. initdb refuses to run as
    root, so as root the server runs as the ``postgres`` user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.home = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        self.data = self.home / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bindir / tool), *args], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{tool} {' '.join(args)}: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.home} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.home / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.home / "log"), "-m", "fast", "-w", "restart")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}?connect_timeout=5"

    def remove(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    bindir = _postgres_bin()
    if bindir is None or not (bindir / "initdb").exists():
        skip_or_fail("PostgreSQL's initdb and pg_ctl are not installed (Debian package postgresql)")
    server = PrivatePostgres(bindir)
    try:
        server.init()
        yield server
    finally:
        server.remove()


@pytest.fixture
def database(postgres, request):
    """A new, migrated database on the private server."""
    name = f"portal_{request.node.callspec.id.replace('-', '_')}"
    admin = sa.create_engine(postgres.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _migrate(postgres.url(name), postgres.url(name))  # the private server has one role: it owns and connects
    return postgres.url(name)


# --- the app, its data and its callers -----------------------------------------------------


@dataclass
class Setup:
    base: str
    pending: list[tuple[int, str]]  # (id, version) of each change request pending client approval
    tokens: list[str]  # the client approver's, one per approving thread


@pytest.fixture
def served(database):
    """The app on the private database, served over HTTP by threads, with change
    requests pending the client's approval."""
    app = create_app(base_config(database))
    with app.app_context(), unscoped():
        world = build_account(db.session, "Alpha")
        db.session.commit()
        crs = [world["change_request"], *(submitted(db.session, world, [add()]) for _ in range(CHANGE_REQUESTS - 1))]
        pending = [(cr.id, cr.version) for cr in crs]
        assert {cr.status for cr in crs} == {CRStatus.PENDING_CLIENT_APPROVAL}
        tokens = [issue_api_token(db.session, world.user(Role.CLIENT_APPROVER))[0] for _ in range(APPROVERS)]
        db.session.execute(sa.update(User).where(User.email == PAGE_USER).values(language="vi"))
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, Setup(f"http://127.0.0.1:{server.server_port}", pending, tokens)
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    kind: str
    started: float
    status: int  # 0: no HTTP answer at all
    retry_after: str | None = None
    detail: str = ""
    change_request_id: int | None = None


class Caller:
    """One client of the portal: its own cookies, no redirects followed."""

    def __init__(self, base: str, headers: dict | None = None):
        self.base = base
        self.headers = headers or {}
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def call(self, kind: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             **extra) -> Answer:
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers={**self.headers, **(headers or {})})
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(kind, started, response.status, response.headers.get("Retry-After"),
                              response.read().decode(errors="replace")[:20_000], **extra)
        except urllib.error.HTTPError as error:
            return Answer(kind, started, error.code, error.headers.get("Retry-After"),
                          error.read().decode(errors="replace")[:500], **extra)
        except OSError as error:  # the server closed the connection without an answer
            return Answer(kind, started, 0, None, repr(error), **extra)

    def sign_in(self, email: str) -> None:
        page = self.call("sign-in", "GET", "/login")
        form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.detail)})
        answer = self.call("sign-in", "POST", "/login", form.encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 302, answer


@dataclass
class Load:
    """Approvals and page loads from several threads until ``stop``."""

    setup: Setup
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _keep(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def _approver(self, index: int) -> None:
        caller = Caller(self.setup.base, {"Authorization": f"Bearer {self.setup.tokens[index]}",
                                          "Content-Type": "application/json"})
        # Each thread approves its own share, each change request once: after a 503 the
        # approval may or may not have been kept, so it is not sent again (a second try
        # would be a 409 when the first one was kept).
        for cr_id, version in self.setup.pending[index::APPROVERS]:
            if self.stop.is_set():
                return
            body = json.dumps({"version": version, "signature_name": APPROVER_NAME}).encode()
            answer = caller.call("approve", "POST", f"/api/v1/change-requests/{cr_id}/approve", body,
                                 change_request_id=cr_id)
            self._keep(answer)
            time.sleep(BACK_OFF if answer.status == 503 else PAUSE)  # as told by Retry-After, only sooner

    def _reader(self, index: int) -> None:
        if index % 2:
            caller, pages = Caller(self.setup.base, {"Authorization": f"Bearer {self.setup.tokens[0]}"}), [
                ("api", "/api/v1/change-requests?limit=5"), ("api", "/api/v1/me")]
        else:
            caller = Caller(self.setup.base)
            caller.sign_in(PAGE_USER)
            pages = [("page", "/"), ("page", "/change-requests"), ("page", "/invoices"), ("page", "/account")]
        n = 0
        while not self.stop.is_set():
            kind, path = pages[n % len(pages)]
            self._keep(caller.call(kind, "GET", path))
            n += 1
            time.sleep(PAUSE)

    def _guarded(self, target, index: int) -> None:
        try:
            target(index)
        except BaseException as error:  # reported by the test, not lost in the thread
            with self.lock:
                self.errors.append(error)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._guarded, args=(self._approver, i)) for i in range(APPROVERS)]
        threads += [threading.Thread(target=self._guarded, args=(self._reader, i)) for i in range(READERS)]
        for thread in threads:
            thread.start()
        return threads


FAULTS = {
    "restart": lambda server: server.restart(),
    "stop-then-start": lambda server: (server.stop(), time.sleep(2), server.start()),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_database_restart_under_load_answers_only_2xx_or_503_and_loses_no_approval(postgres, served, fault):
    app, setup = served
    load = Load(setup)
    threads = load.start()
    try:
        time.sleep(2)  # under load
        FAULTS[fault](postgres)
        back = time.monotonic()
        # Recovered: every kind of call answered 2xx again, and everything since then too.
        deadline = back + 30
        while time.monotonic() < deadline and not load.errors:
            with load.lock:
                recovered = {a.kind for a in load.answers if a.started > back and 200 <= a.status < 300}
            if recovered >= {"approve", "api", "page"}:
                break
            time.sleep(0.1)
        recovered_at = time.monotonic()
        time.sleep(2)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=90)
    assert not load.errors, load.errors
    answers = load.answers
    statuses = Counter(a.status for a in answers)
    print(f"\n{fault}: {len(answers)} requests, {statuses[503]} answered 503, {statuses[500]} answered 500, "
          f"statuses {dict(sorted(statuses.items()))}")

    wrong = [a for a in answers if not (200 <= a.status < 300 or a.status == 503)]
    assert not wrong, f"{len(wrong)} answers neither 2xx nor 503, e.g. {wrong[:3]}"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in answers if a.status == 503)
    assert statuses[503] > 0, "the fault was not felt: nothing answered 503"
    after = [a for a in answers if a.started > recovered_at]
    assert after and all(200 <= a.status < 300 for a in after), Counter(a.status for a in after)
    assert {a.kind for a in answers if a.started > back and 200 <= a.status < 300} >= {"approve", "api", "page"}, \
        "the app did not recover"

    approved_2xx = {a.change_request_id for a in answers if a.kind == "approve" and 200 <= a.status < 300}
    approved_503 = {a.change_request_id for a in answers if a.kind == "approve" and a.status == 503}
    with app.app_context(), unscoped():
        session = db.session
        status = dict(session.execute(sa.select(ChangeRequest.id, ChangeRequest.status)).all())
        approvals = Counter(session.scalars(sa.select(Approval.change_request_id).where(
            Approval.stage == ApprovalStage.CLIENT)))
        events = Counter(session.scalars(sa.select(AuditEvent.object_id).where(
            AuditEvent.action == "change_request.client_approved", AuditEvent.chain_seq.is_not(None))))
        chain = audit.verify_chain(session)
        session.remove()
    approved = {cr_id for cr_id, s in status.items() if s is CRStatus.APPROVED}
    assert approved_2xx <= approved, "an approval answered 2xx was lost"
    assert set(approvals) == set(events) == approved, "an approval row, its audit event and the CR's status disagree"
    assert set(approvals.values()) <= {1} and set(events.values()) <= {1}
    assert approved <= approved_2xx | approved_503, "a change request was approved that nobody approved"
    assert chain.ok, chain.reason
