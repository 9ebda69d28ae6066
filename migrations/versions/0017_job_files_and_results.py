"""A job's file and its result

* ``job_files``: the file a job works on (an uploaded invoice import), one per job,
  deleted when the job ends and with the job.
* ``jobs.result``: what the work ended with, as JSON (an import's counts or its
  problems by row and column), for the page that follows the job.

The new column is nullable, so SQLite adds it in place: no table is copied.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('jobs', sa.Column('result', sa.JSON(), nullable=True))
    op.create_table('job_files',
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_files_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_files'))
    )


def downgrade():
    op.drop_table('job_files')
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('result')
