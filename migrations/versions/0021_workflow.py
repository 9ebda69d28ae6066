"""Plan reviews the firm keeps to itself

* ``plan_reviews.internal``: a firm reviewer's remark that the client never reads (the
  plan page, the API and the plan document leave it out for the client). Until now
  every review was shown to the client; the remarks the firm's people wrote before
  (comments and requests for changes, not approvals) become internal, as a firm
  reviewer's remark now is by default: what was written for the firm stops reaching
  the client, and the firm can say again to the client what it wants it to read.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-20 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

FIRM_ROLES = ('account_manager', 'finance', 'regional_reviewer', 'admin')


def upgrade():
    with op.batch_alter_table('plan_reviews') as batch:
        batch.add_column(sa.Column('internal', sa.Boolean(), server_default=sa.false(), nullable=False))
    reviews = sa.table('plan_reviews', sa.column('internal', sa.Boolean()), sa.column('decision', sa.String()),
                       sa.column('reviewer_id', sa.Integer()))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('role', sa.String()))
    firm = sa.select(users.c.id).where(users.c.role.in_(FIRM_ROLES))
    op.execute(reviews.update().where(reviews.c.decision != 'approve', reviews.c.reviewer_id.in_(firm))
               .values(internal=True))


def downgrade():
    with op.batch_alter_table('plan_reviews') as batch:
        batch.drop_column('internal')
