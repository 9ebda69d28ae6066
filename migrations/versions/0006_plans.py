"""Business plans: when each text of a plan was written (stale translations), and the
browser that signed a plan off

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_written_at', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table('plan_signoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('plan_signoffs', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('text_written_at')
