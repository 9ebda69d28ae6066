"""The audit chain is keyed: each link names the key whose HMAC it carries

``audit_events.key_id`` is the short id of the key that signed a link (``portal/audit.py``);
the links written before this migration keep their plain SHA-256 and no key id.
``audit_chain_head.plain_until`` records where they end: every later link must be keyed,
so a link rewritten with a plain hash is found out.

SQLite: a batch alteration may copy the table, which drops its triggers, so the audit
log's append-only triggers are created again after it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# As migration 0001 created them.
SQLITE_APPEND_ONLY = {
    f"audit_events_no_{verb.lower()}": f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                                       "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
}


def _restore_sqlite_triggers():
    if op.get_bind().dialect.name != 'sqlite':
        return  # PostgreSQL alters the table in place; its trigger stays
    for name, statement in SQLITE_APPEND_ONLY.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(statement)


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    _restore_sqlite_triggers()
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plain_until', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE audit_chain_head SET plain_until = last_seq")


def downgrade():
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_column('plain_until')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('key_id')
    _restore_sqlite_triggers()
