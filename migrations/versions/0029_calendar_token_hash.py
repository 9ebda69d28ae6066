"""The calendar feed's secret kept as its SHA-256, as sessions and API tokens are

* ``users.calendar_token_hash`` replaces ``users.calendar_token``: a database dump no
  longer opens anyone's feed. Feeds that were on keep their address (each stored secret
  is hashed here); a downgrade cannot recover the secrets and turns every feed off.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 00:50:00.000000

"""
import hashlib

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

USERS = sa.table('users', sa.column('id', sa.Integer), sa.column('calendar_token', sa.String),
                 sa.column('calendar_token_hash', sa.String))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_calendar_token_hash'), ['calendar_token_hash'])
    connection = op.get_bind()
    feeds = connection.execute(sa.select(USERS.c.id, USERS.c.calendar_token)
                               .where(USERS.c.calendar_token.is_not(None))).all()
    for user_id, token in feeds:
        connection.execute(USERS.update().where(USERS.c.id == user_id)
                           .values(calendar_token_hash=hashlib.sha256(token.encode()).hexdigest()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_calendar_token'), type_='unique')
        batch_op.drop_column('calendar_token')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_calendar_token'), ['calendar_token'])
        batch_op.drop_constraint(batch_op.f('uq_users_calendar_token_hash'), type_='unique')
        batch_op.drop_column('calendar_token_hash')
