"""Everyone who edited a change request, so that none of them approves it internally

* ``change_requests.editor_ids``: the users who changed a change request's content, a
  draft's too (a version records only who sent it). Filled from the audit trail's
  ``change_request.edited`` events for the change requests edited before.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('change_requests') as batch_op:
        batch_op.add_column(sa.Column('editor_ids', sa.JSON(), server_default='[]', nullable=False))
    connection = op.get_bind()
    edits = connection.execute(sa.text(
        "SELECT object_id, actor_id FROM audit_events WHERE action = 'change_request.edited' "
        "AND object_type = 'ChangeRequest' AND object_id IS NOT NULL AND actor_id IS NOT NULL "
        "ORDER BY id")).all()
    editors: dict[int, list[int]] = {}
    for change_request_id, actor_id in edits:
        if actor_id not in editors.setdefault(change_request_id, []):
            editors[change_request_id].append(actor_id)
    table = sa.table('change_requests', sa.column('id', sa.Integer()), sa.column('editor_ids', sa.JSON()))
    for change_request_id, actor_ids in editors.items():
        connection.execute(table.update().where(table.c.id == change_request_id).values(editor_ids=actor_ids))


def downgrade():
    with op.batch_alter_table('change_requests') as batch_op:
        batch_op.drop_column('editor_ids')
