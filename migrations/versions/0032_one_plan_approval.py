"""One approval per reviewer and version of a plan, kept by the database

* ``uq_plan_reviews_one_approval``: a partial unique index on ``plan_reviews``
  (plan, version, reviewer) for approvals, so a second approval of the same version by
  the same reviewer is refused however it is sent (as a change request's decisions
  are). A duplicate recorded before (two requests at once) is removed first, the first
  one kept.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

APPROVAL = "decision = 'approve'"


def upgrade():
    op.execute(
        f"DELETE FROM plan_reviews WHERE {APPROVAL} AND reviewer_id IS NOT NULL AND id NOT IN ("
        f"SELECT min(id) FROM plan_reviews WHERE {APPROVAL} GROUP BY plan_id, version_hash, reviewer_id)"
    )
    op.create_index('uq_plan_reviews_one_approval', 'plan_reviews', ['plan_id', 'version_hash', 'reviewer_id'],
                    unique=True, postgresql_where=sa.text(APPROVAL), sqlite_where=sa.text(APPROVAL))


def downgrade():
    op.drop_index('uq_plan_reviews_one_approval', table_name='plan_reviews')
