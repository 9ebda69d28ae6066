"""The pipeline: opportunities, their lines, and the quotation documents

* ``opportunities`` and ``opportunity_lines``: the firm's commercial opportunities on an
  account (stage, probability, expected close, source, owner) and their priced lines.
* ``change_requests.opportunity_id``: the won opportunity a CR was drafted from.
* ``documents.opportunity_id`` and ``documents.kind``: one more kind, ``quotation``.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

OLD_KINDS = ('amendment', 'work_order', 'plan', 'review_pack', 'invoice', 'statement', 'credit_note')
NEW_KINDS = OLD_KINDS + ('quotation',)


def _kind_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade():
    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('value', portal.models.base.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stage', sa.Enum('identified', 'qualified', 'proposed', 'won', 'lost', name='opportunitystage',
                               native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('expected_close', sa.Date(), nullable=True),
    sa.Column('source', sa.Enum('client_request', 'review', 'idea', name='opportunitysource', native_enum=False,
                                create_constraint=True, length=32), nullable=False),
    sa.Column('source_request_id', sa.Integer(), nullable=True),
    sa.Column('source_plan_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_opportunities_probability_range')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_opportunities_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_request_id'], ['service_requests.id'],
                            name=op.f('fk_opportunities_source_request_id_service_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_plan_id'], ['plans.id'], name=op.f('fk_opportunities_source_plan_id_plans'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_opportunities_owner_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_opportunities_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    op.create_index(op.f('ix_opportunities_account_id'), 'opportunities', ['account_id'], unique=False)
    op.create_index(op.f('ix_opportunities_stage'), 'opportunities', ['stage'], unique=False)
    op.create_index(op.f('ix_opportunities_owner_id'), 'opportunities', ['owner_id'], unique=False)
    op.create_index(op.f('ix_opportunities_source_request_id'), 'opportunities', ['source_request_id'], unique=False)
    op.create_table('opportunity_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('unit', sa.String(length=60), nullable=False),
    sa.Column('quantity', portal.models.base.ExactDecimal(), nullable=False),
    sa.Column('unit_price', portal.models.base.Money(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_opportunity_lines_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                            name=op.f('fk_opportunity_lines_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_lines'))
    )
    op.create_index(op.f('ix_opportunity_lines_account_id'), 'opportunity_lines', ['account_id'], unique=False)
    op.create_index(op.f('ix_opportunity_lines_opportunity_id'), 'opportunity_lines', ['opportunity_id'], unique=False)
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opportunity_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_change_requests_opportunity_id_opportunities'), 'opportunities',
                                    ['opportunity_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opportunity_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_documents_opportunity_id_opportunities'), 'opportunities',
                                    ['opportunity_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_documents_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(NEW_KINDS))


def downgrade():
    op.execute(sa.text("DELETE FROM documents WHERE kind = 'quotation'"))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_documents_documentkind'), type_='check')
        batch_op.create_check_constraint('documentkind', _kind_check(OLD_KINDS))
        batch_op.drop_index(batch_op.f('ix_documents_opportunity_id'))
        batch_op.drop_constraint(batch_op.f('fk_documents_opportunity_id_opportunities'), type_='foreignkey')
        batch_op.drop_column('opportunity_id')
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_change_requests_opportunity_id_opportunities'), type_='foreignkey')
        batch_op.drop_column('opportunity_id')
    op.drop_index(op.f('ix_opportunity_lines_opportunity_id'), table_name='opportunity_lines')
    op.drop_index(op.f('ix_opportunity_lines_account_id'), table_name='opportunity_lines')
    op.drop_table('opportunity_lines')
    op.drop_index(op.f('ix_opportunities_source_request_id'), table_name='opportunities')
    op.drop_index(op.f('ix_opportunities_owner_id'), table_name='opportunities')
    op.drop_index(op.f('ix_opportunities_stage'), table_name='opportunities')
    op.drop_index(op.f('ix_opportunities_account_id'), table_name='opportunities')
    op.drop_table('opportunities')
