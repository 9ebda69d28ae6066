"""The audit chain is tamper-evident against someone with database access: links are
HMACs under a key the database never holds, the key can be rotated, chains hashed
before keying still verify, the chain head is checked, and on PostgreSQL the app's
own role cannot change the audit log at all."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal import audit
from portal.config import ConfigError, load_config
from portal.models import AuditChainHead, AuditEvent
from tests.conftest import DB_KIND, ROOT, app_session, base_config, forge

TESTING_KEY = load_config({"PORTAL_ENV": "testing"})["AUDIT_HMAC_KEY"]
OLD_KEY, NEW_KEY = "old-audit-key-" + "1" * 32, "new-audit-key-" + "2" * 32


def chain(session, n: int, action: str = "test.decision") -> list[AuditEvent]:
    events = [audit.record(session, action, data={"n": i}, chained=True) for i in range(n)]
    session.commit()
    return events


def link(session, seq: int) -> AuditEvent:
    return session.scalar(sa.select(AuditEvent).where(AuditEvent.chain_seq == seq))


def rehashed(event: AuditEvent, key: bytes | None, **changes) -> dict:
    """The columns of ``event`` with ``changes``, and the hash an attacker would give
    them: a plain SHA-256 (``key`` None, no key id) or an HMAC under a key of theirs."""
    columns = {c.key: getattr(event, c.key) for c in sa.inspect(AuditEvent).column_attrs}
    columns.update(changes, key_id=event.key_id if key else None)
    forged = AuditEvent(**columns)
    keys = audit.Keyring("x", {event.key_id: key}) if key else None
    columns["hash"] = audit.event_hash(forged, keys)
    return columns


def test_chained_events_carry_an_hmac_under_the_signing_key(session):
    first, second = chain(session, 2)
    assert first.key_id == second.key_id == audit.key_id(TESTING_KEY)
    assert TESTING_KEY not in first.key_id
    for event in (first, second):
        assert event.hash == hmac.new(TESTING_KEY.encode(), audit._canonical(event), hashlib.sha256).hexdigest()
        assert event.hash != hashlib.sha256(audit._canonical(event)).hexdigest()
    report = audit.verify_chain(session)
    assert report.ok and report.key_ids == {first.key_id: 2} and report.plain == 0


@pytest.mark.parametrize("attacker_key", [None, b"a guessed key"], ids=["plain-sha256", "hmac-without-the-key"])
def test_an_edited_link_with_a_recomputed_hash_is_found(session, owner_session, runner, attacker_key):
    """The attacker edits the last link, gives it a hash of their own and moves the
    chain head along: without the key, it still shows."""
    chain(session, 3)
    last = link(session, 3)
    columns = rehashed(last, attacker_key, data={"n": 99})
    forge(owner_session, sa.update(AuditEvent).where(AuditEvent.id == last.id)
          .values(data=columns["data"], key_id=columns["key_id"], hash=columns["hash"]))
    owner_session.execute(sa.update(AuditChainHead).values(last_hash=columns["hash"]))
    owner_session.commit()

    session.rollback()
    report = audit.verify_chain(session)
    assert not report.ok and report.broken_at == 3
    expected = "content does not match its hash" if attacker_key else "the event has a plain hash where the chain is keyed"
    assert str(report.reason) == expected
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"Audit chain broken at event #3: {expected}" in result.output


def test_rewriting_the_last_link_without_the_chain_head_is_found(session, owner_session, runner):
    """Even with the key: the head that every writer updates keeps the last hash."""
    chain(session, 3)
    last = link(session, 3)
    columns = rehashed(last, TESTING_KEY.encode(), data={"n": 99})
    forge(owner_session, sa.update(AuditEvent).where(AuditEvent.id == last.id)
          .values(data=columns["data"], hash=columns["hash"]))

    session.rollback()
    report = audit.verify_chain(session)
    assert (report.broken_at, str(report.reason)) == (3, "the chain head's hash does not match this event")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "Audit chain broken at event #3" in result.output


@pytest.mark.parametrize(("head", "broken_at"), [
    ({"last_seq": 0, "last_hash": audit.GENESIS}, 1),  # the whole chain hidden behind a reset head
    ({"last_seq": 2}, 3),                               # the last link disowned
    ({"last_seq": 4}, 4),                               # a link the head counts is missing
])
def test_a_chain_head_that_disagrees_with_the_links_is_found(session, head, broken_at):
    chain(session, 3)
    session.execute(sa.update(AuditChainHead).values(**head))  # the app's role may do this
    session.commit()
    report = audit.verify_chain(session)
    assert not report.ok and report.broken_at == broken_at


def keyed_session(app_config, key: str, *fallbacks: str):
    return app_session({**app_config, "AUDIT_HMAC_KEY": key, "AUDIT_HMAC_KEY_FALLBACKS": list(fallbacks)})


def test_after_a_rotation_the_new_key_signs_and_the_old_one_still_verifies(app_config):
    for key, fallbacks in ((OLD_KEY, ()), (NEW_KEY, (OLD_KEY,))):
        with keyed_session(app_config, key, *fallbacks) as session:
            chain(session, 2)
    with keyed_session(app_config, NEW_KEY, OLD_KEY) as session:
        report = audit.verify_chain(session)
        assert report.ok and report.key_ids == {audit.key_id(OLD_KEY): 2, audit.key_id(NEW_KEY): 2}
    with keyed_session(app_config, NEW_KEY) as session:  # the old key dropped too soon
        report = audit.verify_chain(session)
        assert report.broken_at == 1
        assert str(report.reason) == f"signed with key {audit.key_id(OLD_KEY)}, which is not configured"


# A link as the portal hashed it before the chain was keyed (plain SHA-256), by that code.
LEGACY_LINK = {
    "chain_seq": 1, "prev_hash": audit.GENESIS, "created_at": datetime(2026, 11, 30, 9, 15, 0, 123456, tzinfo=timezone.utc),
    "account_id": None, "actor_id": None, "actor_email": "approver@acme.example",
    "action": "change_request.client_approved", "object_type": "ChangeRequest", "object_id": 7, "ip": "203.0.113.9",
    "data": {"version": "v1", "signature_name": "Jane Doe"},
    "hash": "e7b621b218af58501441b230c9cef064824da8006d763ad17f7a9598d4e81e0d",
}


def test_a_chain_hashed_before_keying_still_verifies_after_the_migration_and_stays_anchored(unmigrated_url):
    with app_session(base_config(unmigrated_url)) as session:
        upgrade(directory=str(ROOT / "migrations"), revision="0010")  # the last before keying
        second = {**LEGACY_LINK, "chain_seq": 2, "prev_hash": LEGACY_LINK["hash"], "data": {"n": 2}}
        second["hash"] = audit.event_hash(AuditEvent(**second, key_id=None), None)
        for row in (LEGACY_LINK, second):
            session.execute(sa.insert(AuditEvent.__table__).values(**row))
        session.execute(sa.update(AuditChainHead.__table__).values(last_seq=2, last_hash=second["hash"]))
        session.commit()

        upgrade(directory=str(ROOT / "migrations"))
        chain(session, 2)
        report = audit.verify_chain(session)
        assert report.ok and report.checked == 4
        assert report.plain == 2 and report.key_ids == {audit.key_id(TESTING_KEY): 2}
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # the migration kept the triggers
            session.execute(sa.delete(AuditEvent).where(AuditEvent.chain_seq == 1))
        session.rollback()

        # The plain part is anchored: the first keyed link's HMAC covers its last hash.
        columns = rehashed(link(session, 2), None, data={"n": 99})
        forge(session, sa.update(AuditEvent).where(AuditEvent.chain_seq == 2)
              .values(data=columns["data"], hash=columns["hash"]))
        session.expire_all()
        report = audit.verify_chain(session)
        assert (report.broken_at, str(report.reason)) == (3, "previous hash does not match")


def test_the_migration_and_its_downgrade_keep_the_audit_log_append_only(unmigrated_url):
    """SQLite alters a table in batch by copying it, which drops its triggers."""
    with app_session(base_config(unmigrated_url)) as session:
        for revision in ("0011", "0010", "0011"):
            if revision == "0010":
                downgrade(directory=str(ROOT / "migrations"), revision=revision)
            else:
                upgrade(directory=str(ROOT / "migrations"), revision=revision)
            session.execute(sa.insert(AuditEvent.__table__).values(**{**LEGACY_LINK, "chain_seq": None}))
            session.commit()
            for statement in (sa.update(AuditEvent.__table__).values(action="forged"), sa.delete(AuditEvent.__table__)):
                with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                    session.execute(statement)
                session.rollback()


PERMISSION_DENIED = "42501"


@pytest.mark.skipif(DB_KIND != "postgresql", reason="roles are PostgreSQL's")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'forged'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "SET session_replication_role = replica",
    "UPDATE audit_chain_head SET plain_until = 1000",
])
def test_the_apps_database_role_cannot_change_the_audit_log(session, statement):
    chain(session, 1)
    assert session.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")) is False
    with pytest.raises(sa.exc.DBAPIError) as refused:
        session.execute(sa.text(statement))
    assert refused.value.orig.sqlstate == PERMISSION_DENIED
    session.rollback()
    assert audit.verify_chain(session).ok


@pytest.mark.parametrize("config", [
    {"PORTAL_ENV": "production", "SECRET_KEY": "s" * 32},
    {"PORTAL_ENV": "production", "SECRET_KEY": "s" * 32, "AUDIT_HMAC_KEY": "short"},
    {"PORTAL_ENV": "production", "SECRET_KEY": "s" * 32, "AUDIT_HMAC_KEY": "k" * 32, "AUDIT_HMAC_KEY_FALLBACKS": "short"},
], ids=["unset", "short", "short-fallback"])
def test_production_refuses_to_start_without_a_long_audit_key(config):
    with pytest.raises(ConfigError, match="AUDIT_HMAC_KEY"):
        load_config(config)


def test_the_audit_keys_and_the_owners_database_url_come_from_the_environment():
    config = load_config({"PORTAL_ENV": "production", "SECRET_KEY": "s" * 32, "AUDIT_HMAC_KEY": NEW_KEY,
                          "AUDIT_HMAC_KEY_FALLBACKS": f"{OLD_KEY}, {'o' * 32}",
                          "DATABASE_URL": "postgresql://app@db/portal", "DATABASE_OWNER_URL": "postgres://owner@db/portal"})
    assert (config["AUDIT_HMAC_KEY"], config["AUDIT_HMAC_KEY_FALLBACKS"]) == (NEW_KEY, [OLD_KEY, "o" * 32])
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/portal"
    assert config["DATABASE_OWNER_URL"] == "postgresql+psycopg://owner@db/portal"
    assert load_config({"PORTAL_ENV": "testing"})["DATABASE_OWNER_URL"] is None
