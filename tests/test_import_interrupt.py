"""Ctrl-C during ``flask --app wsgi import invoices FILE`` (or ``import kpis``): one line
saying that nothing was kept, no traceback, exit 130, and nothing of the file written.

The command runs in a subprocess of its own and gets a real SIGINT. The file is a named
pipe: the test knows the command is importing when the command opens it to read."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.imports import run_file_import
from portal.models import Invoice, KpiMeasurement
from tests.factories import build_account
from tests.test_invoice_import import COLUMNS, invoice_row

ROOT = Path(__file__).resolve().parent.parent
INVOICES = 60_000  # enough for the import to take seconds after the file is read


# Log records written before the app sets its format (alembic's start-up notes).
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def said(stderr: str) -> list[str]:
    """What the command says, without the log's records: those written before the app
    set its format, and the app's own, one JSON object a line (the command runs with
    ``LOG_FORMAT=json``) even when a message runs over several lines, as psycopg's
    warning about the statement the interrupt cancelled does."""
    return [line for line in stderr.splitlines() if line.strip() and not LOG_RECORD.match(line)
            and not _json_record(line)]


def _json_record(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@pytest.fixture
def alpha(session):
    world = build_account(session, "Alpha")
    session.commit()
    return world


def invoices_csv() -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    for n in range(INVOICES):
        writer.writerow(invoice_row(f"BIG-{n:06d}", line_description="Payroll", line_quantity="3",
                                    line_unit_price="12.50"))
    return out.getvalue().encode()


def start_import(database_url: str, command: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PORTAL_ENV": "development", "LOG_FORMAT": "json"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "import", command, str(path)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def writing(database_url: str) -> Callable[[], bool]:
    """Whether the command has begun writing: its PostgreSQL transaction has an id (it
    wrote a row), or SQLite's write-ahead log grew by the pages it spilled."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        log = Path(f"{url.database}-wal")
        start = log.stat().st_size if log.exists() else 0
        return lambda: log.exists() and log.stat().st_size > start + 1_000_000
    engine = sa.create_engine(database_url)

    def wrote() -> bool:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")))

    return wrote


def interrupt(process: subprocess.Popen, path: Path, content: bytes | None, ready: Callable[[], bool]):
    """Once the command opened the file (and, with ``content``, read it all) and is
    ``ready``, press Ctrl-C; without ``content`` it is still waiting for the file's end.
    Returns the exit status, stdout and stderr."""
    try:
        with path.open("wb") as pipe:  # returns once the command opens the file
            if content is not None:
                pipe.write(content)
                pipe.close()
            deadline = time.monotonic() + 120
            while not ready() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert process.poll() is None, f"the import ended before it was interrupted: {process.communicate()}"
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=60)
            return process.returncode, stdout, stderr
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize(("command", "large"), [
    pytest.param("invoices", True, id="invoices-while-writing"),
    pytest.param("kpis", False, id="kpis-while-reading"),
])
def test_ctrl_c_during_an_import_keeps_nothing_and_says_so_in_one_line(alpha, session, database_url, tmp_path,
                                                                     command, large):
    path = tmp_path / f"{command}.csv"
    os.mkfifo(path)
    process = start_import(database_url, command, path)
    if large:
        status, stdout, stderr = interrupt(process, path, invoices_csv(), writing(database_url))
    else:
        status, stdout, stderr = interrupt(process, path, None, lambda: time.sleep(0.3) or True)
    assert status == 130, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert said(stderr) == [f"Interrupted: nothing of {path} was kept."], stderr
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.number.like("BIG-%"))) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(KpiMeasurement)) == 1  # the factories' one


def test_ctrl_c_hidden_by_a_failed_savepoint_rollback_still_keeps_nothing_and_says_so(session, tmp_path, capsys):
    """Under load the interrupt can land inside psycopg's pipeline: the savepoint's
    rollback on the way out then fails, and its error is the one that arrives."""
    path = tmp_path / "invoices.csv"
    path.write_bytes(b"number\n")

    def load(_content: bytes):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise sa.exc.OperationalError("ROLLBACK TO SAVEPOINT sa_savepoint_1", {}, Exception("pipeline mode"))

    with pytest.raises(SystemExit) as stopped:
        run_file_import(session, str(path), load)
    assert stopped.value.code == 130
    assert capsys.readouterr().err.splitlines() == [f"Interrupted: nothing of {path} was kept."]


def test_a_database_error_without_a_ctrl_c_is_not_called_an_interruption(session, tmp_path):
    path = tmp_path / "invoices.csv"
    path.write_bytes(b"number\n")

    def load(_content: bytes):
        raise sa.exc.OperationalError("INSERT INTO invoices", {}, Exception("server closed the connection"))

    with pytest.raises(sa.exc.OperationalError):
        run_file_import(session, str(path), load)


@pytest.fixture
def log_stream():
    """What the root logger's handlers write, as the command's stderr would show it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_the_cursor_a_ctrl_c_cut_short_is_not_reported_with_a_traceback(session, tmp_path, capsys, log_stream):
    """SQLAlchemy closes the cursor of the statement the interrupt cut short on a connection
    it has just invalidated; the close fails, and the pool logs that with a traceback."""
    path = tmp_path / "invoices.csv"
    path.write_bytes(b"number\n")
    pool_log = logging.getLogger("sqlalchemy.pool.impl.QueuePool")

    def load(_content: bytes):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            try:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            except sqlite3.ProgrammingError:
                pool_log.error("Error closing cursor", exc_info=True)
            raise

    with pytest.raises(SystemExit) as stopped:
        run_file_import(session, str(path), load)
    assert stopped.value.code == 130
    assert capsys.readouterr().err.splitlines() == [f"Interrupted: nothing of {path} was kept."]
    assert log_stream.getvalue() == ""


def test_a_failing_cursor_close_without_a_ctrl_c_is_still_logged(session, tmp_path, log_stream):
    path = tmp_path / "invoices.csv"
    path.write_bytes(b"number\n")

    def load(_content: bytes):
        try:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        except sqlite3.ProgrammingError:
            logging.getLogger("sqlalchemy.pool.impl.QueuePool").error("Error closing cursor", exc_info=True)
        raise sa.exc.OperationalError("INSERT INTO invoices", {}, Exception("disk I/O error"))

    with pytest.raises(sa.exc.OperationalError):
        run_file_import(session, str(path), load)
    assert "Error closing cursor" in log_stream.getvalue()
    assert "Traceback" in log_stream.getvalue()
