"""Stakeholders and the interaction log; the escalation matrix gets sides and titles per language

* ``stakeholders``: the client's people as the firm knows them (role in decisions,
  language, contact details, notes, the firm user who owns the relationship).
* ``interactions`` and ``interaction_attendees``: meetings, calls and e-mails with the
  client, who took part; ``action_items.interaction_id`` links the follow-up actions
  raised from one.
* ``escalation_contacts.side``: the firm's or the client's side of a level (every
  contact so far is the firm's); ``title`` becomes a text per language, the old title
  its English one (``{"en": ...}``; an empty title ``{}``).

SQLite alters the two tables by copying them (batch mode); neither has triggers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _created_and_updated():
    return [sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
            sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False)]


def upgrade():
    op.create_table('stakeholders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('decision_role', sa.Enum('decision_maker', 'approver', 'influencer', 'user', name='decisionrole', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    *_created_and_updated(),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_stakeholders_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stakeholders_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_stakeholders_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholders'))
    )
    op.create_index(op.f('ix_stakeholders_account_id'), 'stakeholders', ['account_id'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('meeting', 'call', 'email', name='interactionkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    *_created_and_updated(),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interactions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interactions_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    op.create_index(op.f('ix_interactions_account_id'), 'interactions', ['account_id'], unique=False)

    op.create_table('interaction_attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('stakeholder_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interaction_attendees_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_interaction_attendees_interaction_id_interactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_interaction_attendees_stakeholder_id_stakeholders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interaction_attendees_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_attendees'))
    )
    for column in ('account_id', 'interaction_id', 'stakeholder_id'):
        op.create_index(op.f(f'ix_interaction_attendees_{column}'), 'interaction_attendees', [column], unique=False)

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interaction_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_action_items_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_action_items_interaction_id_interactions'), 'interactions', ['interaction_id'], ['id'], ondelete='SET NULL')

    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:  # the text becomes JSON before the column does; PostgreSQL converts in the ALTER
        op.execute("UPDATE escalation_contacts SET title = CASE WHEN trim(title) = '' THEN '{}' "
                   "ELSE json_object('en', title) END")
    with op.batch_alter_table('escalation_contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('side', sa.Enum('firm', 'client', name='side', native_enum=False, create_constraint=True, length=32), server_default='firm', nullable=False))
        batch_op.alter_column('title', existing_type=sa.VARCHAR(length=200), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using="CASE WHEN trim(title) = '' THEN '{}'::json ELSE json_build_object('en', title) END")


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("UPDATE escalation_contacts SET title = coalesce(json_extract(title, '$.en'), '')")
    with op.batch_alter_table('escalation_contacts', schema=None) as batch_op:
        batch_op.alter_column('title', existing_type=sa.JSON(), type_=sa.VARCHAR(length=200), existing_nullable=False,
                              postgresql_using="left(coalesce(title->>'en', ''), 200)")
        batch_op.drop_constraint(batch_op.f('ck_escalation_contacts_side'), type_='check')
        batch_op.drop_column('side')

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_items_interaction_id_interactions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_action_items_interaction_id'))
        batch_op.drop_column('interaction_id')

    op.drop_table('interaction_attendees')
    op.drop_table('interactions')
    op.drop_table('stakeholders')
