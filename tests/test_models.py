"""The schema: migrations agree with the models; money and times are stored exactly;
the audit log is append-only and chained."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent, Base, Invoice
from tests.conftest import forge
from tests.factories import build_account


def test_migrations_build_exactly_the_models(session):
    """An autogenerate comparison between the migrated database and the models is empty."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.parametrize("amount", ["0.01", "0.05", "10005.50", "1234567890.1234", "999999999999.99", "-3200.00"])
def test_money_round_trips_exactly(session, amount):
    world = build_account(session, "Alpha")
    invoice = world["invoice"]
    invoice.total = Decimal(amount)
    session.commit()
    session.expire_all()
    stored = session.scalar(sa.select(Invoice.total).where(Invoice.id == invoice.id))
    assert isinstance(stored, Decimal)
    assert stored == Decimal(amount)


def test_money_sums_are_exact_in_sql(session):
    """0.1 + 0.2 is 0.3 in the database too (a float column would say 0.30000000000000004)."""
    world = build_account(session, "Alpha")
    invoice = world["invoice"]
    invoice.total, invoice.tax = Decimal("0.10"), Decimal("0.20")
    session.commit()
    total = session.scalar(sa.select(sa.func.sum(Invoice.total + Invoice.tax)))
    assert total == Decimal("0.30")


def test_times_are_stored_in_utc_and_come_back_aware(session):
    """Read back in UTC itself (``timezone.utc``), whatever zone the database server's
    sessions default to: the list and the API write them as they come."""
    world = build_account(session, "Alpha")
    shanghai = timezone(timedelta(hours=8))
    world["request"].first_response_due_at = datetime(2026, 12, 1, 9, 0, tzinfo=shanghai)
    session.commit()
    session.expire_all()
    due = world["request"].first_response_due_at
    assert due.tzinfo is timezone.utc
    assert due == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


def test_naive_times_are_refused(session):
    world = build_account(session, "Alpha")
    world["request"].first_response_due_at = datetime(2026, 12, 1, 9, 0)
    with pytest.raises(sa.exc.StatementError):
        session.commit()


def test_audit_log_refuses_update_and_delete_even_to_the_owner(session, owner_session):
    """The triggers: a second wall behind the app role's missing privileges."""
    event = audit.record(session, "test.event", data={"note": "line one\nline two"})
    session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        owner_session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(action="forged"))
    owner_session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        owner_session.execute(sa.delete(AuditEvent).where(AuditEvent.id == event.id))
    owner_session.rollback()
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.id == event.id)) == "test.event"


def test_audit_chain_links_events_and_verifies(session):
    for n in range(3):
        audit.record(session, "test.decision", data={"n": n}, chained=True)
    audit.record(session, "test.unchained")
    session.commit()
    report = audit.verify_chain(session)
    assert report.ok and report.checked == 3
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.chain_seq.is_not(None)).order_by(AuditEvent.chain_seq)).all()
    assert events[0].prev_hash == audit.GENESIS
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash


def test_audit_verify_reports_the_first_tampered_event(session, owner_session, runner):
    for n in range(3):
        audit.record(session, "test.decision", data={"n": n}, chained=True)
    session.commit()
    forge(owner_session, sa.update(AuditEvent).where(AuditEvent.chain_seq == 2).values(data={"n": 99}))
    report = audit.verify_chain(session)
    assert not report.ok and report.broken_at == 2
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "#2" in result.output
