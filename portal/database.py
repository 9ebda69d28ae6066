"""Engine settings per database, and turning a lost database into a 503."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.extensions import db

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)
# A pooled connection unused for longer than this is tested before it is lent out.
PING_AFTER_IDLE_S = 2.0


def reads_only(view: Callable) -> Callable:
    """Mark a view that only reads. On PostgreSQL its GET requests run in autocommit:
    each statement is its own transaction, as READ COMMITTED already gives every
    statement its own snapshot, and the BEGIN and ROLLBACK round trips are spared.
    (The once-a-minute ``last_seen_at`` touch of the session commits by itself.)"""
    view.reads_only = True
    return view


def may_write(view: Callable) -> Callable:
    """Mark a view whose GET requests may write (one that asks for a job when what it
    serves is not made yet). On SQLite they take the write lock at BEGIN, as requests
    with other methods do: a read turned into a write after another connection's commit
    would otherwise fail at once. Nothing changes on PostgreSQL."""
    view.may_write = True
    return view


@contextmanager
def writing() -> Iterator[None]:
    """Work outside a request that may write (a job): on SQLite each of its
    transactions takes the write lock at BEGIN, as a request that may write does, so
    that it never fails for having read before another connection's commit. Nothing
    changes on PostgreSQL."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_end_session)  # runs before Flask-SQLAlchemy's own, registered earlier
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        _speak_utc(engine)
        _ping_idle_connections(engine)

        @app.before_request
        def _autocommit_reads():
            view = app.view_functions.get(request.endpoint)
            if request.method in SAFE_METHODS and getattr(view, "reads_only", False):
                db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                g._autocommitted = True

        return
    _configure_sqlite(engine)

    @app.before_request
    def _declare_write_intent():
        view = app.view_functions.get(request.endpoint)
        writes = request.method not in SAFE_METHODS or getattr(view, "may_write", False)
        g._write_intent_token = _write_intent.set(writes)

    @app.teardown_request
    def _end_write_intent(_error=None):
        token = g.pop("_write_intent_token", None)
        if token is not None:
            _write_intent.reset(token)


def _end_session(_error: BaseException | None = None) -> None:
    """End the request's session. Closing it rolls back on its connection; when the
    database dropped that connection during the request (a restart) and nothing has
    rolled back yet (the request ended in a 404, say), the rollback raises after the
    answer was made, and the server answers 500 instead. The failed rollback has
    discarded the connection, so closing again succeeds."""
    try:
        db.session.remove()
    except Exception as error:
        if not is_outage(error):
            raise
        log.warning("the database dropped a connection before the request ended: %s", type(error).__name__)
        db.session.remove()


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for requests that write.

    pysqlite starts transactions lazily, and in WAL mode a transaction that has read
    and then writes fails at once with SQLITE_BUSY when another connection committed
    in between (the busy timeout does not apply to that case). So a POST (or any
    unsafe method) takes the write lock at BEGIN: concurrent writers queue, and each
    reads what the previous one committed, which is what the conditional updates of
    approvals and counters need. Reads begin deferred and never block anyone.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


class folded(FunctionElement):
    """A text in lower case, in any script, for matching without regard to case
    (``folded(column).contains(text.lower())``): ``lower()`` on PostgreSQL, which follows
    Unicode; on SQLite, whose ``lower()`` knows only ASCII ("LƯƠNG" would stay as it is),
    Python's ``str.lower``, registered on each connection."""

    type = sa.String()
    name = "folded"
    inherit_cache = True


SQLITE_LOWER = "portal_lower"


def _lower(value):
    return value.lower() if isinstance(value, str) else value


@compiles(folded)
def _folded(element, compiler, **kw) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def _speak_utc(engine: sa.Engine) -> None:
    """Each PostgreSQL connection's session in UTC, whatever the server's default: psycopg
    then reads a timestamptz as a datetime in ``timezone.utc``, which ``UTCDateTime``
    returns as it is (no conversion of each value of a list). Set when the connection is
    made (a ``SET``, which a pooler in session mode keeps, where a startup option could be
    refused)."""

    @event.listens_for(engine, "connect")
    def _utc_session(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
        finally:
            dbapi_connection.autocommit = autocommit


def _ping_idle_connections(engine: sa.Engine) -> None:
    """``pool_pre_ping``, but only for connections that sat idle: after a database
    restart the first request on each old connection would fail, while a connection
    returned a moment ago by a busy worker is as good as a ping says. (A restart
    under load then costs a few 503s, with Retry-After, and the pool starts over.)"""

    @event.listens_for(engine, "checkin")
    def _note_return(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
            return  # new, or busy a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)  # what pool_pre_ping sends
        except Exception as error:  # any failure means: not this connection
            raise sa.exc.DisconnectionError() from error
        if not alive:
            raise sa.exc.DisconnectionError()


def is_outage(error: BaseException) -> bool:
    """Errors that mean the database is unreachable or busy, not that the input is bad."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError))
