"""Invoices and statements of account as documents

* ``documents.kind``: two more kinds, ``invoice`` and ``statement``.
* ``documents.invoice_id``: the invoice an invoice document shows (made when first
  asked for, and again when the invoice's content has changed since).

On SQLite the kind's CHECK constraint is changed by copying the table (batch mode);
``documents`` has no triggers to recreate.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD_KINDS = ('amendment', 'work_order', 'plan', 'review_pack')
NEW_KINDS = OLD_KINDS + ('invoice', 'statement')


def _kind_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(NEW_KINDS))
        batch_op.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_documents_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_documents_invoice_id_invoices'), 'invoices', ['invoice_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    op.execute(sa.text("DELETE FROM documents WHERE kind IN ('invoice', 'statement')"))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_invoice_id_invoices'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_documents_invoice_id'))
        batch_op.drop_column('invoice_id')
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(OLD_KINDS))
