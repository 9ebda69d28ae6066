"""Portfolio alerts

* ``portfolio_alerts``: one adverse variance (a KPI red two months running, DSO over
  the payment terms, revenue under 90 % of the ACV pro rata, CSAT under 3) per account,
  kind and month (unique), with who acknowledged it and when it closed by itself.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portfolio_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('kpi_red', 'dso_over_terms', 'revenue_under_acv', 'csat_low', name='alertkind',
                              native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('raised_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_portfolio_alerts_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'],
                            name=op.f('fk_portfolio_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_alerts')),
    sa.UniqueConstraint('account_id', 'kind', 'period', name=op.f('uq_portfolio_alerts_account_id_kind_period'))
    )
    with op.batch_alter_table('portfolio_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portfolio_alerts_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('portfolio_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portfolio_alerts_account_id'))
    op.drop_table('portfolio_alerts')
