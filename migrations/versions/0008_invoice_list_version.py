"""A version of each account's invoices, bumped by triggers on every write to them

The invoice list keeps its rendered body in memory under a key that holds this version
(``portal/fragments.py``): any write to an account's invoices, by the app, an import, a
COPY or a hand-written statement, makes a new key, so nothing stale is ever shown.
PostgreSQL: statement triggers over transition tables, locking the touched accounts in
id order (as ``invoice_totals_count`` does its rows). SQLite: row triggers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 07:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

POSTGRESQL = [
    """
    CREATE FUNCTION invoice_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        touched integer[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT account_id) INTO touched FROM new_rows;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(DISTINCT account_id) INTO touched
            FROM (SELECT account_id FROM old_rows UNION ALL SELECT account_id FROM new_rows) AS rows;
        ELSE
            SELECT array_agg(DISTINCT account_id) INTO touched FROM old_rows;
        END IF;
        IF touched IS NOT NULL THEN
            PERFORM 1 FROM accounts WHERE id = ANY (touched) ORDER BY id FOR NO KEY UPDATE;
            UPDATE accounts SET invoices_version = invoices_version + 1 WHERE id = ANY (touched);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER invoice_list_version_insert AFTER INSERT ON invoices REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION invoice_list_version()",
    "CREATE TRIGGER invoice_list_version_update AFTER UPDATE ON invoices REFERENCING OLD TABLE AS old_rows"
    " NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION invoice_list_version()",
    "CREATE TRIGGER invoice_list_version_delete AFTER DELETE ON invoices REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION invoice_list_version()",
]

_BUMP = "UPDATE accounts SET invoices_version = invoices_version + 1 WHERE id IN ({});"
# Unlike invoice_totals_update, every column counts: the list shows the PO, the dates...
SQLITE = [
    f"CREATE TRIGGER invoice_list_version_insert AFTER INSERT ON invoices BEGIN {_BUMP.format('NEW.account_id')} END",
    "CREATE TRIGGER invoice_list_version_update AFTER UPDATE ON invoices"
    f" BEGIN {_BUMP.format('OLD.account_id, NEW.account_id')} END",
    f"CREATE TRIGGER invoice_list_version_delete AFTER DELETE ON invoices BEGIN {_BUMP.format('OLD.account_id')} END",
]


def upgrade():
    op.add_column('accounts', sa.Column('invoices_version', sa.BigInteger(), server_default='0', nullable=False))
    bind = op.get_bind()
    for statement in POSTGRESQL if bind.dialect.name == 'postgresql' else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER invoice_list_version_{name} ON invoices")
        op.execute("DROP FUNCTION invoice_list_version()")
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER invoice_list_version_{name}")
    op.drop_column('accounts', 'invoices_version')
