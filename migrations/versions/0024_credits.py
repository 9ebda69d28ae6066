"""Service credits: SLA breaches become credits, approved credits credit notes

* ``service_credits``: one SLA KPI's credit for one month (unique per KPI and month),
  its calculation line by line, computed and final amount, status (proposed, approved,
  waived), who decided when and why, and the credit note and document it issued.
* ``kpis.credit_scope_line_ids``: the scope lines an SLA's credit is a percentage of
  (empty: all the contract's active lines).
* ``contracts.credit_cap_month_percent`` and ``credit_cap_year_percent``: the caps on a
  contract's credits, of the month's charge and of the ACV per contract year (NULL:
  uncapped).
* ``credit_notes.invoice_id`` nullable: a standalone credit note.
* ``documents.kind``: one more kind, ``credit_note``.

On SQLite the kind's CHECK constraint and the nullability are changed by copying the
tables (batch mode); neither ``documents`` nor ``credit_notes`` has triggers.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-21 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

OLD_KINDS = ('amendment', 'work_order', 'plan', 'review_pack', 'invoice', 'statement')
NEW_KINDS = OLD_KINDS + ('credit_note',)


def _kind_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(NEW_KINDS))
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.alter_column('invoice_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('kpis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_scope_line_ids', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_cap_month_percent', portal.models.base.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column('credit_cap_year_percent', portal.models.base.ExactDecimal(), nullable=True))
    op.create_table('service_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('kpi_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'approved', 'waived', name='servicecreditstatus', native_enum=False,
                                create_constraint=True, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('calculation', sa.JSON(), nullable=False),
    sa.Column('computed_amount', portal.models.base.ExactDecimal(), nullable=False),
    sa.Column('amount', portal.models.base.ExactDecimal(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_service_credits_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_service_credits_contract_id_contracts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpis.id'], name=op.f('fk_service_credits_kpi_id_kpis'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_service_credits_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credit_note_id'], ['credit_notes.id'],
                            name=op.f('fk_service_credits_credit_note_id_credit_notes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_service_credits_document_id_documents'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_credits')),
    sa.UniqueConstraint('kpi_id', 'period', name=op.f('uq_service_credits_kpi_id_period'))
    )
    op.create_index(op.f('ix_service_credits_account_id'), 'service_credits', ['account_id'], unique=False)
    op.create_index(op.f('ix_service_credits_contract_id'), 'service_credits', ['contract_id'], unique=False)
    op.create_index('ix_service_credits_account_period', 'service_credits', ['account_id', 'period'], unique=False)


def downgrade():
    op.drop_index('ix_service_credits_account_period', table_name='service_credits')
    op.drop_index(op.f('ix_service_credits_contract_id'), table_name='service_credits')
    op.drop_index(op.f('ix_service_credits_account_id'), table_name='service_credits')
    op.drop_table('service_credits')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('credit_cap_year_percent')
        batch_op.drop_column('credit_cap_month_percent')
    with op.batch_alter_table('kpis', schema=None) as batch_op:
        batch_op.drop_column('credit_scope_line_ids')
    op.execute(sa.text("DELETE FROM credit_notes WHERE invoice_id IS NULL"))
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.alter_column('invoice_id', existing_type=sa.Integer(), nullable=False)
    op.execute(sa.text("DELETE FROM documents WHERE kind = 'credit_note'"))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(OLD_KINDS))
