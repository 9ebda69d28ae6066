"""Plain helpers that several test modules call: signing in a browser, reading what the
app committed, the API's error shape, dates, translations, CSV imports.

Fixtures live in ``conftest.py`` and data builders in ``factories.py``; these are the
functions a test calls itself, kept here once rather than copied into each module.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.change_requests import service as change_requests
from portal.models import AuditEvent, ChangeRequest, Decision, Notification, Role
from tests.conftest import Browser

SESSION_COOKIE, REMEMBER_COOKIE = "portal_session", "portal_remember"


# --- browsers and the API ----------------------------------------------------------


def signed_in(new_browser, email: str, **login):
    """A browser of its own, signed in as ``email`` through the form (``login``:
    ``remember``, ``password``, ``next_url`` as ``Browser.login`` takes them)."""
    browser = new_browser()
    assert browser.login(email, **login).status_code == 302
    return browser


def finish_jobs(app, timeout: float = 60) -> None:
    """Wait for the jobs ``app`` handed to its own threads (no Redis) to be done."""
    from portal.jobs.backends import backend

    assert backend(app).drain(timeout), f"jobs still running after {timeout} s"


def wait_until(condition, timeout: float = 30) -> None:
    """Poll ``condition`` from the test until it holds: Playwright's wait_for_function
    evaluates a string, which the CSP forbids. (A condition that reads only what
    Playwright already knows, a page's frames, must call Playwright to let it catch up.)"""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def copy_cookie(source: Browser, target: Browser, name: str) -> None:
    cookie = source.client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    target.client.set_cookie(name, cookie.value)


def only_cookie(app, source: Browser, name: str) -> Browser:
    """A fresh browser holding nothing but a copy of ``source``'s cookie ``name``."""
    copy = Browser(app.test_client())
    copy_cookie(source, copy, name)
    return copy


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Check that ``response`` is the API's error: ``status``, JSON, a non-empty ``code``
    and ``message`` (and ``code`` the one given); return the error for further checks."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


def post(client, url, headers, body=None, **extra_headers):
    """POST ``body`` (default ``{}``) as JSON to the API with ``headers`` and any more given."""
    return client.post(url, json=body if body is not None else {}, headers={**headers, **extra_headers})


# --- what the database holds -------------------------------------------------------


def latest(session):
    """``session`` in a new transaction, to read what the requests or a command committed
    (on SQLite in WAL mode a transaction keeps reading the snapshot it began with)."""
    session.rollback()
    return session


def count(session, model) -> int:
    """How many rows of ``model`` the database holds."""
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def notifications(session, kind: str) -> list[Notification]:
    """The outbox's notifications of ``kind``, oldest first."""
    return list(session.scalars(sa.select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def audit_events(session, action: str) -> list[AuditEvent]:
    """The audit trail's events of ``action``, oldest first."""
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- people and days of an account -------------------------------------------------


def manager_of(world):
    """The account manager of ``world`` (factories.build_account), who drafts and submits."""
    return world.user(Role.ACCOUNT_MANAGER)


def approver_of(world):
    """The client approver of ``world``, who raises requests and decides."""
    return world.user(Role.CLIENT_APPROVER)


def approved_cr(session, world, cr: ChangeRequest | None = None) -> ChangeRequest:
    """``cr`` (by default the factories' CR waiting for the client) approved by ``world``'s
    client approver, who types the name the portal knows them by; committed. What the
    session holds uncommitted is dropped first."""
    latest(session)  # SQLite: a write on a snapshot older than the requests' last commit is refused
    cr = cr or world["change_request"]
    change_requests.decide(session, cr, world.account, approver_of(world), version=cr.version,
                           decision=Decision.APPROVED, signature_name=approver_of(world).name)
    session.commit()
    return cr


def today_of(world) -> date:
    """The date in ``world``'s account's time zone, as the portal counts days."""
    return world.account.today()


def utc(*fields: int) -> datetime:
    """``datetime(*fields)`` in UTC: the instants the services are given."""
    return datetime(*fields, tzinfo=UTC)


# --- what a page says --------------------------------------------------------------


def translations(language: str):
    """The portal's messages in ``language``, as the app loads them (the .po compiled in
    memory when no up-to-date .mo exists)."""
    from docgen.i18n import translations as catalog

    return catalog(language)


def translated(language: str, message: str) -> str:
    """``message`` in ``language``; a message left untranslated fails the test, which
    would otherwise find the English text and prove nothing."""
    text = translations(language).gettext(message)
    assert text != message, f"{message!r} is not translated into {language}"
    return text


def flashes(html: str) -> str:
    """The page's flashed messages, or "" where it has none."""
    match = re.search(r'class="flashes".*?</(?:ul|div|section)>', html, re.S)
    return match.group(0) if match else ""


# --- e-mails --------------------------------------------------------------------------

MAILED_LINK = re.compile(r"https?://\S+?/(?:invitation|password/reset)/[A-Za-z0-9_-]+")


def mailed_link(message) -> str:
    """The path of the one link to choose a password that an e-mail holds (a message of
    ``mailbox.deliver()``, or any ``EmailMessage``): what its recipient opens."""
    [url] = MAILED_LINK.findall(message.get_content())
    return urlsplit(url).path


# --- importing files ---------------------------------------------------------------


def write_csv(tmp_path: Path, rows: list[dict], *, columns: list[str], name: str) -> str:
    """Write ``rows`` under ``columns`` to ``tmp_path / name`` as Excel saves a CSV (UTF-8
    with a BOM); return the path for the import command."""
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def import_file(runner, path: str, *, kind: str):
    """Run the command ``import KIND PATH`` (``kind``: invoices or kpis); return its result."""
    return runner.invoke(args=["import", kind, path])


def insert_as_of(session, model, **values):
    """Insert a row of ``model`` into a database migrated to an earlier revision: only the
    columns its table has there, each given in ``values`` or else the model's default (a
    column the model gained since is left out). The new row's primary key."""
    have = {column["name"] for column in sa.inspect(session.connection()).get_columns(model.__tablename__)}
    row = {}
    for column in model.__table__.columns:
        if column.name not in have:
            continue
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.default is not None and column.default.is_scalar:
            row[column.name] = column.default.arg
        elif column.default is not None and column.default.is_callable:
            row[column.name] = column.default.arg(None)
    # A table of those columns only: the model's own would add the newer columns' defaults.
    columns = [sa.column(column.name, column.type) for column in model.__table__.columns if column.name in have]
    table = sa.table(model.__tablename__, *columns)
    return session.execute(sa.insert(table).values(**row).returning(table.c.id)).scalar_one()


def stale_token(session, user) -> dict:
    """The headers of an API token of ``user`` minted by a sign-in 16 minutes ago: it
    reads, but decides only with the password (``FRESH_SIGN_IN`` is 15)."""
    from datetime import timedelta

    from portal.auth.service import issue_api_token
    from portal.models import ApiToken
    from portal.models.base import utcnow
    from tests.conftest import bearer

    token, _expires = issue_api_token(session, user)
    session.flush()
    session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id)
                    .values(created_at=utcnow() - timedelta(minutes=16)))
    session.commit()
    return bearer(token)
