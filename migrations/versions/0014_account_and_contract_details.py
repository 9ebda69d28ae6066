"""Account and contract details for onboarding without the demo

* ``accounts``: the legal name per language (``legal_names``), the tax or
  registration number, the legal representative's name and title per language, and
  the account's currency (the demo's accounts bill in USD).
* ``contracts``: the governing law per language, and the smallest renewal reminder
  sent so far (``renewal_notice_days``: 90, 60 or 30).

Only columns with server defaults are added, so SQLite adds them in place: no table
is copied, and the invoice triggers of migration 0007 are not touched.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('accounts', sa.Column('legal_names', sa.JSON(), server_default='{}', nullable=False))
    op.add_column('accounts', sa.Column('tax_id', sa.String(length=60), server_default='', nullable=False))
    op.add_column('accounts', sa.Column('representative_name', sa.JSON(), server_default='{}', nullable=False))
    op.add_column('accounts', sa.Column('representative_title', sa.JSON(), server_default='{}', nullable=False))
    op.add_column('accounts', sa.Column('currency', sa.String(length=3), server_default='USD', nullable=False))
    op.add_column('contracts', sa.Column('governing_law', sa.JSON(), server_default='{}', nullable=False))
    op.add_column('contracts', sa.Column('renewal_notice_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('contracts') as batch:
        batch.drop_column('renewal_notice_days')
        batch.drop_column('governing_law')
    with op.batch_alter_table('accounts') as batch:
        for column in ('currency', 'representative_title', 'representative_name', 'tax_id', 'legal_names'):
            batch.drop_column(column)
