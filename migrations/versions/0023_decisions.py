"""Decisions by line and by the client's own authority

* ``users.approval_limit``: a client approver's delegated authority in the account's
  currency (NULL: no limit); ``users.higher_authority``: the approver the account names
  as its higher authority, who may approve any amount.
* ``approvals.line_decisions``: a client approver's decision line by line (approve,
  reject with a reason, counter with other figures).
* ``approvals``: one decision per (CR, version, stage, approver), no longer per (CR,
  version, stage): above an approver's limit a second approver approves the same version.
* ``change_requests.status`` may be ``countered``; ``approvals.decision`` too.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-21 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

CR_STATUSES = ('draft', 'pending_internal_approval', 'pending_client_approval', 'approved', 'rejected', 'withdrawn',
               'implemented')
DECISIONS = ('approved', 'rejected')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _drop_check(batch, name):
    """The enum's CHECK constraint, before its column takes the new list of values:
    PostgreSQL's ``alter_column`` drops and remakes it itself; SQLite's batch copy does not."""
    if op.get_bind().dialect.name == 'sqlite':
        batch.drop_constraint(batch.f(name), type_='check')


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('approval_limit', portal.models.base.ExactDecimal(precision=20, scale=4),
                                   nullable=True))
        batch.add_column(sa.Column('higher_authority', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('change_requests') as batch:
        _drop_check(batch, 'ck_change_requests_crstatus')
        batch.alter_column('status', existing_type=_enum(CR_STATUSES, 'crstatus'),
                           type_=_enum((*CR_STATUSES, 'countered'), 'crstatus'), existing_nullable=False)
    with op.batch_alter_table('approvals') as batch:
        batch.add_column(sa.Column('line_decisions', sa.JSON(), server_default='[]', nullable=False))
        _drop_check(batch, 'ck_approvals_decision')
        batch.alter_column('decision', existing_type=_enum(DECISIONS, 'decision'),
                           type_=_enum((*DECISIONS, 'countered'), 'decision'), existing_nullable=False)
        batch.drop_constraint(batch.f('uq_approvals_change_request_id_version_hash_stage'), type_='unique')
        batch.create_unique_constraint(batch.f('uq_approvals_change_request_id_version_hash_stage_user_id'),
                                       ['change_request_id', 'version_hash', 'stage', 'user_id'])


def downgrade():
    with op.batch_alter_table('approvals') as batch:
        batch.drop_constraint(batch.f('uq_approvals_change_request_id_version_hash_stage_user_id'), type_='unique')
        batch.create_unique_constraint(batch.f('uq_approvals_change_request_id_version_hash_stage'),
                                       ['change_request_id', 'version_hash', 'stage'])
        _drop_check(batch, 'ck_approvals_decision')
        batch.alter_column('decision', existing_type=_enum((*DECISIONS, 'countered'), 'decision'),
                           type_=_enum(DECISIONS, 'decision'), existing_nullable=False)
        batch.drop_column('line_decisions')
    with op.batch_alter_table('change_requests') as batch:
        _drop_check(batch, 'ck_change_requests_crstatus')
        batch.alter_column('status', existing_type=_enum((*CR_STATUSES, 'countered'), 'crstatus'),
                           type_=_enum(CR_STATUSES, 'crstatus'), existing_nullable=False)
    with op.batch_alter_table('users') as batch:
        batch.drop_column('higher_authority')
        batch.drop_column('approval_limit')
