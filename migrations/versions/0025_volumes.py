"""Volumes and prices against the contract

* ``scope_line_volumes``: each scope line's actual volume per month (unique per line
  and month), imported from the operations systems.
* ``invoice_lines.scope_line_id`` and ``expected_unit_price``: the scope line an
  imported invoice line bills, and the contract's unit price in force for its period.
* ``invoices.held_at``: held for finance's review (a line's price differs from the
  contract's); a partial index on the held ones, which the client's invoice totals
  leave out. Adding a column does not rebuild ``invoices`` on SQLite, so its triggers
  (``invoice_totals``, the list version) stay as they are.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-21 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scope_line_volumes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_line_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('quantity', portal.models.base.ExactDecimal(), nullable=False),
    sa.Column('imported_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_scope_line_volumes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scope_line_id'], ['scope_lines.id'], name=op.f('fk_scope_line_volumes_scope_line_id_scope_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scope_line_volumes')),
    sa.UniqueConstraint('scope_line_id', 'period', name=op.f('uq_scope_line_volumes_scope_line_id_period'))
    )
    with op.batch_alter_table('scope_line_volumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scope_line_volumes_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_line_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expected_unit_price', portal.models.base.ExactDecimal(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_scope_line_id_scope_lines'), 'scope_lines',
                                    ['scope_line_id'], ['id'], ondelete='SET NULL')

    # Not in batch mode: on SQLite a plain ADD COLUMN keeps the table and its triggers.
    op.add_column('invoices', sa.Column('held_at', portal.models.base.UTCDateTime(), nullable=True))
    op.create_index('ix_invoices_held', 'invoices', ['account_id', 'currency', 'status'], unique=False,
                    sqlite_where=sa.text('held_at IS NOT NULL'), postgresql_where=sa.text('held_at IS NOT NULL'))


def downgrade():
    op.drop_index('ix_invoices_held', table_name='invoices')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE invoices DROP COLUMN held_at')  # keeps the triggers, unlike a rebuild
    else:
        op.drop_column('invoices', 'held_at')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_scope_line_id_scope_lines'), type_='foreignkey')
        batch_op.drop_column('expected_unit_price')
        batch_op.drop_column('scope_line_id')
    with op.batch_alter_table('scope_line_volumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scope_line_volumes_account_id'))
    op.drop_table('scope_line_volumes')
