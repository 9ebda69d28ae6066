"""How fast the invoice list and API answer on a million invoices, against a bare
Flask route under the same server.

    .venv/bin/python benchmarks/invoices_bench.py [--database-url URL] [--scale N] [--duration S]

The database (default: a PostgreSQL database ``portal_bench`` on the local server) is
created, migrated and, only while empty, seeded with ``seed-demo --scale N``. The portal
is served by gunicorn with the repo's ``gunicorn.conf.py`` (sync workers, one per core)
in production mode on 127.0.0.1, and so is ``benchmarks/bare_app.py``, a Flask route
returning a constant string. Signed in as ``bench@client.example`` (an account of
20,000 invoices), wrk loads the first page of ``/invoices``, its 100th keyset page
(reached through the pages' "next" links) and ``/api/v1/invoices`` (bearer token) with 16
connections, then each with one connection, in 3 rounds interleaved with the bare route;
the figures are the medians of the rounds. Each worker keeps the list's rendered body until
the invoices change (``portal/fragments.py``), so repeated loads of one page read it from
memory; "not cached" is the first page from a second server with
``INVOICE_LIST_CACHE_SIZE=0``, which renders it on every request, as after a write. Last
come ``EXPLAIN (ANALYZE, BUFFERS)`` of the page's queries.

Targets (issue #19), reported and not asserted: ``/api/v1/invoices`` at >= 0.15 of the
bare route's requests/s and the list not cached at >= 0.12; the 100th page at >= 0.9 of
the first; one-connection p99 <= 12 ms. The cached list's ratio is shown, not a target.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portal.billing.routes import PAGE_SIZE  # noqa: E402
from portal.billing.scale import BENCH_EMAIL  # noqa: E402
from portal.billing.service import LIST_COLUMNS  # noqa: E402
from portal.config import load_config  # noqa: E402
from portal.demo import DEFAULT_PASSWORD  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
ROUNDS = 3
LOADED = ("-t2", "-c16")
ONE_CONNECTION = ("-t1", "-c1")
API_RATIO, NOT_CACHED_RATIO, HUNDREDTH_RATIO, ONE_CONNECTION_P99_MS = 0.15, 0.12, 0.9, 12.0


class Run(NamedTuple):
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    failures: int  # non-2xx/3xx responses and socket errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--scale", type=int, default=1_000_000, help="invoices to seed into an empty database")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    # The app's own normalisation (postgresql:// -> psycopg 3), so both see one URL.
    database_url = load_config({"DATABASE_URL": options.database_url}, PORTAL_ENV="testing")["SQLALCHEMY_DATABASE_URI"]
    engine = prepare_database(database_url, options.scale)

    env = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(32),
           "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
           "DATABASE_URL": database_url, "TRUSTED_HOSTS": "127.0.0.1"}
    with serve("wsgi:app", env) as portal, serve("benchmarks.bare_app:app", env) as bare, \
            serve("wsgi:app", {**env, "INVOICE_LIST_CACHE_SIZE": "0"}) as uncached:
        cookie = {"Cookie": sign_in(portal)}
        bearer = {"Authorization": "Bearer " + api_token(portal)}
        targets = {
            "bare route": (bare, "/", {}),
            "/invoices": (portal, "/invoices", cookie),
            "/invoices, page 100": (portal, hundredth_page(portal, cookie), cookie),
            "/api/v1/invoices": (portal, "/api/v1/invoices", bearer),
            "/invoices, not cached": (uncached, "/invoices", cookie),
        }
        for target in targets.values():
            wrk(*target, LOADED, 2)  # warm-up: workers, templates, the database's cache
            check(*target)
        print(f"page 100 is {targets['/invoices, page 100'][1]}; load average before the runs "
              f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
        loaded = {name: [] for name in targets}
        single = {name: [] for name in targets}
        for round_ in range(ROUNDS):
            print(f"round {round_ + 1}/{ROUNDS} ...", file=sys.stderr)
            for name, target in targets.items():
                for connections, runs in ((LOADED, loaded), (ONE_CONNECTION, single)):
                    runs[name].append(wrk(*target, connections, options.duration))
                    check(*target)
    report({name: median(runs) for name, runs in loaded.items()}, {name: median(runs) for name, runs in single.items()},
           options.duration)
    if engine.dialect.name == "postgresql":
        explain(engine)


# --- the database ------------------------------------------------------------------


def prepare_database(url: str, scale: int) -> sa.Engine:
    """Create (PostgreSQL), migrate, and seed the database while it is empty; a
    database with data but without the bench user is refused rather than touched."""
    url_parts = sa.make_url(url)
    if url_parts.get_backend_name() == "postgresql":
        server = sa.create_engine(url_parts.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            if connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": url_parts.database}) is None:
                connection.execute(sa.text(f'CREATE DATABASE "{url_parts.database}"'))
        server.dispose()
    flask_command(url, "db", "upgrade")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        accounts = connection.scalar(sa.text("SELECT count(*) FROM accounts"))
        bench = connection.scalar(sa.text("SELECT count(*) FROM users WHERE email = :email"), {"email": BENCH_EMAIL})
    if not accounts:
        started = time.monotonic()
        flask_command(url, "seed-demo", "--scale", str(scale), quiet=False)  # shows its progress
        print(f"seed-demo --scale {scale:,}: {time.monotonic() - started:.0f} s")
    elif not bench:
        sys.exit(f"{url_parts.render_as_string()} holds data but no {BENCH_EMAIL}: "
                 "point --database-url at an empty database.")
    else:
        print("database already seeded (seed-demo --scale runs only on an empty one)")
    return engine


def flask_command(database_url: str, *args: str, quiet: bool = True) -> None:
    """Run ``flask --app wsgi ARGS`` on the database; its output only if it fails."""
    done = subprocess.run([BIN / "flask", "--app", "wsgi", *args], cwd=REPO, capture_output=quiet, text=True,
                          env={**os.environ, "DATABASE_URL": database_url})
    if done.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout or ''}{done.stderr or ''}")


def explain(engine: sa.Engine) -> None:
    """The plans of the page's queries: the keyset page must be one index range scan
    on ``ix_invoices_account_issue``, the 100th as cheap as the first."""
    columns = ", ".join(column.key for column in LIST_COLUMNS)
    page = (f"SELECT {columns} FROM invoices WHERE account_id = :a {{after}} ORDER BY issue_date DESC, id DESC "
            f"LIMIT {PAGE_SIZE + 1}")
    with engine.connect() as connection:
        account = connection.scalar(sa.text("SELECT account_id FROM users WHERE email = :e"), {"e": BENCH_EMAIL})
        # The last row of page 99 is where page 100 starts.
        day, ident = connection.execute(sa.text(
            "SELECT issue_date, id FROM invoices WHERE account_id = :a ORDER BY issue_date DESC, id DESC "
            "OFFSET :skip LIMIT 1"), {"a": account, "skip": 99 * PAGE_SIZE - 1}).one()
        queries = {
            "list, first page": page.format(after=""),
            "list, page 100": page.format(after="AND (issue_date, id) < (:d, :i)"),
            "totals above the list (every page), from the sums the database keeps": (
                "SELECT currency, sum(invoices), sum(total) FROM invoice_totals WHERE account_id = :a "
                "GROUP BY currency HAVING sum(invoices) > 0 ORDER BY currency"),
        }
        for title, query in queries.items():
            plan = connection.scalars(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {query}"),
                                      {"a": account, "d": day, "i": ident}).all()
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) {title}:\n  " + "\n  ".join(plan))
            if title.startswith("list"):
                uses = any("ix_invoices_account_issue" in line and "Index" in line for line in plan)
                print(f"  -> index scan on ix_invoices_account_issue: {'yes' if uses else 'NO'}")


# --- the servers -------------------------------------------------------------------


@contextmanager
def serve(app: str, env: dict[str, str]) -> Iterator[int]:
    """Run ``app`` under gunicorn with the repo's config on a free port; yield the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen([BIN / "gunicorn", "-c", "gunicorn.conf.py", app], cwd=REPO, stdout=log, stderr=log,
                              env={**env, "PORTAL_BIND": f"127.0.0.1:{port}"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request(port, "GET", "/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"gunicorn {app} did not start; its log:\n{Path(log.name).read_text()}")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        os.unlink(log.name)


def request(port: int, method: str, path: str, body: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def session_cookie(headers: http.client.HTTPMessage, default: str | None = None) -> str:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("portal_session="):
            return value.split(";", 1)[0]
    if default is None:
        sys.exit("no portal_session cookie in the answer")
    return default


def tag_attribute(page: str, tag: str, attribute: str) -> str | None:
    """``attribute`` of the first element matching the ``tag`` pattern, unescaped."""
    element = re.search(tag, page)
    value = element and re.search(rf'\b{attribute}="([^"]*)"', element.group(0))
    return html.unescape(value.group(1)) if value else None


def sign_in(port: int) -> str:
    """The session cookie of the bench user, from the sign-in form. Production cookies
    are Secure, which clients send over HTTPS only: here it is carried by hand."""
    _, headers, page = request(port, "GET", "/login")
    form = {"csrf_token": tag_attribute(page, r'<input[^>]*name="csrf_token"[^>]*>', "value"),
            "email": BENCH_EMAIL, "password": DEFAULT_PASSWORD}
    status, headers, _ = request(port, "POST", "/login", urlencode(form), {
        "Cookie": session_cookie(headers), "Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        sys.exit(f"signing in as {BENCH_EMAIL} answered {status}")
    cookie = session_cookie(headers)
    # The page the sign-in leads to gives the session its CSRF token: a browser keeps
    # the cookie it gets there, and so does wrk (else every request would store one).
    landing = urlsplit(headers["Location"])
    _, headers, _ = request(port, "GET", landing.path + (f"?{landing.query}" if landing.query else ""),
                            headers={"Cookie": cookie})
    return session_cookie(headers, default=cookie)


def api_token(port: int) -> str:
    status, _, body = request(port, "POST", "/api/v1/auth/token",
                              json.dumps({"email": BENCH_EMAIL, "password": DEFAULT_PASSWORD}),
                              {"Content-Type": "application/json"})
    if status != 201:
        sys.exit(f"POST /api/v1/auth/token answered {status}")
    return json.loads(body)["token"]


def hundredth_page(port: int, cookie: dict[str, str]) -> str:
    """The path of the list's 100th page, following "next" as a reader would."""
    path = "/invoices"
    for page_number in range(1, 100):
        _, _, page = request(port, "GET", path, headers=cookie)
        path = tag_attribute(page, r'<a\s[^>]*rel="next"[^>]*>', "href")
        if path is None:
            sys.exit(f"/invoices has no next link on page {page_number}")
    return path


def check(port: int, path: str, headers: dict[str, str]) -> None:
    """Still 200 (signed in: wrk would count redirects to the sign-in page as answers).
    Sync workers go on serving what a wrk run left queued; this request waits behind
    them, so the next run does not start on another's backlog."""
    status, _, _ = request(port, "GET", path, headers=headers)
    if status != 200:
        sys.exit(f"GET {path} answered {status}, not 200")


# --- wrk ---------------------------------------------------------------------------


def wrk(port: int, path: str, headers: dict[str, str], connections: tuple[str, str], duration: int) -> Run:
    command = ["wrk", *connections, f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    failures = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: (.*)", out)
    failures += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return Run(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), latency(out, "50%"), latency(out, "99%"),
               failures)


def latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s*{percentile}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def median(runs: list[Run]) -> Run:
    """Each figure's median over the rounds; failures add up."""
    return Run(statistics.median(run.requests_per_s for run in runs), statistics.median(run.p50_ms for run in runs),
               statistics.median(run.p99_ms for run in runs), sum(run.failures for run in runs))


def report(loaded: dict[str, Run], single: dict[str, Run], duration: int) -> None:
    bare = loaded["bare route"].requests_per_s
    print(f"\n{os.cpu_count()} sync gunicorn workers; wrk {' '.join(LOADED)} -d{duration}s and "
          f"{' '.join(ONE_CONNECTION)} -d{duration}s; median of {ROUNDS} rounds; "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews the figures)\n")
    print(f"{'':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'1-conn p99 ms':>15}{'failures':>10}")
    for name, run in loaded.items():
        print(f"{name:<22}{run.requests_per_s:>9.0f}{run.p50_ms:>9.1f}{run.p99_ms:>9.1f}"
              f"{run.requests_per_s / bare:>8.3f}{single[name].p99_ms:>15.1f}{run.failures + single[name].failures:>10}")
    first, hundredth = loaded["/invoices"].requests_per_s, loaded["/invoices, page 100"].requests_per_s
    api, not_cached = loaded["/api/v1/invoices"].requests_per_s, loaded["/invoices, not cached"].requests_per_s
    worst_p99 = max(single[name].p99_ms for name in loaded if name != "bare route")
    print("\ntargets:")
    for text, value, met in (
        (f"/api/v1/invoices >= {API_RATIO} of the bare route", api / bare, api / bare >= API_RATIO),
        (f"/invoices, not cached >= {NOT_CACHED_RATIO} of the bare route", not_cached / bare,
         not_cached / bare >= NOT_CACHED_RATIO),
        (f"page 100 >= {HUNDREDTH_RATIO} of the first page", hundredth / first, hundredth / first >= HUNDREDTH_RATIO),
        (f"one-connection p99 <= {ONE_CONNECTION_P99_MS:g} ms (worst page)", worst_p99,
         worst_p99 <= ONE_CONNECTION_P99_MS),
    ):
        print(f"  {text}: {value:.3f} {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
