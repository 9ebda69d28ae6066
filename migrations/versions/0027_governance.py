"""Governance calendar

* ``governance_meetings``: an account's recurring meetings (kind, cadence and day rule,
  local time and time zone, duration, place or video link).
* ``meeting_attendees``: who attends (a user, a stakeholder or a name).
* ``meeting_minutes``: the minutes of one occurrence (unique per meeting and start),
  shown to the client once shared.
* ``action_items.minutes_id``: the minutes an action item was agreed in.
* ``users.calendar_token``: the secret of the user's calendar (ICS) feed.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-22 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def _account_id(table):
    return (sa.Column('account_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f(f'fk_{table}_account_id_accounts'),
                                    ondelete='CASCADE'))


def upgrade():
    op.create_table('governance_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('service_review', 'business_review', 'account_review', name='meetingkind',
                              native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('cadence', sa.Enum('monthly', 'quarterly', 'yearly', name='cadence', native_enum=False,
                                 create_constraint=True, length=32), nullable=False),
    sa.Column('first_month', sa.Integer(), nullable=False),
    sa.Column('day_of_month', sa.Integer(), nullable=True),
    sa.Column('week', sa.Integer(), nullable=True),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('video_url', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    *_account_id('governance_meetings'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_governance_meetings_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_governance_meetings'))
    )
    op.create_index(op.f('ix_governance_meetings_account_id'), 'governance_meetings', ['account_id'], unique=False)

    op.create_table('meeting_attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('stakeholder_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    *_account_id('meeting_attendees'),
    sa.ForeignKeyConstraint(['meeting_id'], ['governance_meetings.id'], name=op.f('fk_meeting_attendees_meeting_id_governance_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_attendees_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_meeting_attendees_stakeholder_id_stakeholders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendees'))
    )
    op.create_index(op.f('ix_meeting_attendees_account_id'), 'meeting_attendees', ['account_id'], unique=False)
    op.create_index(op.f('ix_meeting_attendees_meeting_id'), 'meeting_attendees', ['meeting_id'], unique=False)
    op.create_index(op.f('ix_meeting_attendees_user_id'), 'meeting_attendees', ['user_id'], unique=False)

    op.create_table('meeting_minutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('written_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    *_account_id('meeting_minutes'),
    sa.ForeignKeyConstraint(['meeting_id'], ['governance_meetings.id'], name=op.f('fk_meeting_minutes_meeting_id_governance_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['written_by_id'], ['users.id'], name=op.f('fk_meeting_minutes_written_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_minutes')),
    sa.UniqueConstraint('meeting_id', 'starts_at', name=op.f('uq_meeting_minutes_meeting_id_starts_at'))
    )
    op.create_index(op.f('ix_meeting_minutes_account_id'), 'meeting_minutes', ['account_id'], unique=False)

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_action_items_minutes_id'), ['minutes_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_action_items_minutes_id_meeting_minutes'), 'meeting_minutes',
                                    ['minutes_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_calendar_token'), ['calendar_token'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_calendar_token'), type_='unique')
        batch_op.drop_column('calendar_token')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_items_minutes_id_meeting_minutes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_action_items_minutes_id'))
        batch_op.drop_column('minutes_id')
    op.drop_table('meeting_minutes')
    op.drop_table('meeting_attendees')
    op.drop_table('governance_meetings')
