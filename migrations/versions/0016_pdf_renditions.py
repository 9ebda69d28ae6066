"""PDF renditions of documents

* ``pdf_renditions``: the PDF/A of a .docx, keyed by the .docx's SHA-256: made once per
  distinct file by the ``document_pdf`` job, whoever asks for it, and served from then
  on (``GET /documents/{id}/file?format=pdf``). Not account-owned: it is reached only
  through a document the caller may see.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pdf_renditions',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_pdf_renditions'))
    )


def downgrade():
    op.drop_table('pdf_renditions')
