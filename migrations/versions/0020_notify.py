"""In-app notifications and each user's choice of e-mail

* ``in_app_notifications``: what each user is told in the portal (the bell, the list,
  ``GET /api/v1/notifications``), one row per user and event, beside the e-mail outbox
  (``notifications``), which keeps the e-mails: unread ones are counted from a partial
  index of only those.
* ``notification_settings``: the kinds a user does not want by e-mail, and the daily
  digest instead of one e-mail each.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-20 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('in_app_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('read_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('awaiting_digest', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_in_app_notifications_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_in_app_notifications_recipient_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_in_app_notifications'))
    )
    op.create_index(op.f('ix_in_app_notifications_account_id'), 'in_app_notifications', ['account_id'], unique=False)
    op.create_index('ix_in_app_notifications_unread', 'in_app_notifications', ['recipient_id', 'account_id'],
                    unique=False, sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('ix_in_app_notifications_recipient_created', 'in_app_notifications',
                    ['recipient_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_in_app_notifications_digest', 'in_app_notifications', ['recipient_id'], unique=False,
                    sqlite_where=sa.text('awaiting_digest'), postgresql_where=sa.text('awaiting_digest'))
    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email_off', sa.JSON(), server_default='[]', nullable=False),
    sa.Column('daily_digest', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('digest_sent_on', sa.Date(), nullable=True),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )


def downgrade():
    op.drop_table('notification_settings')
    op.drop_index('ix_in_app_notifications_digest', table_name='in_app_notifications')
    op.drop_index('ix_in_app_notifications_recipient_created', table_name='in_app_notifications')
    op.drop_index('ix_in_app_notifications_unread', table_name='in_app_notifications')
    op.drop_index(op.f('ix_in_app_notifications_account_id'), table_name='in_app_notifications')
    op.drop_table('in_app_notifications')
