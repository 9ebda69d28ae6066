"""One open billing enquiry per invoice, enforced by the database

Disputing an invoice raises a billing enquiry on it. Concurrent disputes once raised
several; now the dispute claims the invoice with a conditional update, and this partial
unique index is the second wall: at most one open (open, in progress, waiting on the
client) request per invoice. Duplicates left by the old race are closed first, the
oldest kept.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OPEN = "status IN ('open', 'in_progress', 'waiting_client') AND invoice_id IS NOT NULL"


def upgrade():
    op.execute(
        "UPDATE service_requests SET status = 'closed', closed_at = CURRENT_TIMESTAMP "
        f"WHERE {OPEN} AND id NOT IN (SELECT min(id) FROM service_requests WHERE {OPEN} GROUP BY invoice_id)"
    )
    op.create_index('uq_service_requests_open_invoice', 'service_requests', ['invoice_id'], unique=True,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    op.drop_index('uq_service_requests_open_invoice', table_name='service_requests')
