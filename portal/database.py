"""Engine settings per database, and turning a lost database into a 503."""

from __future__ import annotations

from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask, g, request
from sqlalchemy import event

from portal.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    _configure_sqlite(engine)

    @app.before_request
    def _declare_write_intent():
        g._write_intent_token = _write_intent.set(request.method not in SAFE_METHODS)

    @app.teardown_request
    def _end_write_intent(_error=None):
        token = g.pop("_write_intent_token", None)
        if token is not None:
            _write_intent.reset(token)


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

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def is_outage(error: BaseException) -> bool:
    """Errors that mean the database is unreachable or busy, not that the input is bad."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError))
