"""Each user's locale; titles the firm enters in several languages

* ``users.locale``: the regional form of the user's language that dates and times follow
  (``en-GB``: 5 December 2026, 14:30); empty: the language's own.
* ``action_items.title_translations`` and ``stakeholders.title_translations``: the
  title (an action item's, a stakeholder's job title) in other languages than the one
  it was written in, ``{"zh": ..., "vi": ...}``; readers of those languages see it.

Documents need no column: their titles per language come from the input they were made
from (``portal.documents.titles``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-20 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=10), nullable=True))
    with op.batch_alter_table('action_items') as batch:
        batch.add_column(sa.Column('title_translations', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('stakeholders') as batch:
        batch.add_column(sa.Column('title_translations', sa.JSON(), server_default='{}', nullable=False))


def downgrade():
    with op.batch_alter_table('stakeholders') as batch:
        batch.drop_column('title_translations')
    with op.batch_alter_table('action_items') as batch:
        batch.drop_column('title_translations')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('locale')
