"""Failed sign-ins counted in the database while the throttle's Redis is unreachable

Sign-in throttling counts failures in Redis; when Redis cannot be reached it counts them
here instead, with the same limits, so that sign-in fails closed (``portal/auth/throttle.py``).
One row per failure and key; rows older than the longest window are deleted as new ones
are written.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failed_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key_failed_at', ['key', 'failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_failed_at'), ['failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_failed_at'))
        batch_op.drop_index('ix_login_failures_key_failed_at')
    op.drop_table('login_failures')
