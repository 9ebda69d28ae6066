"""Regional review before issue, revisions, firm-wide document numbers, the prevailing language

* ``documents``: ``status`` (``in_review`` drafts the client never sees, ``issued``),
  ``revision`` (issuing a change request's amendment again is a revision of its number),
  ``review_languages``, ``drafted_by_id``, ``updated_at``, ``issued_at``.
* Numbers are unique in the firm: a unique index on (number, revision). Documents
  issued before, under numbers per contract, keep their numbers: they are signed, and a
  number printed on a signed document cannot change. Where two contracts' documents hold
  the same number, every one but the first issued is marked ``number_shared`` and left
  out of the firm-wide index (they stay unique per contract, with their revision). The
  firm-wide counters start after the highest number issued under the old scheme, so no
  new document ever takes a number an old one holds.
* ``document_reviews``: the regional reviewers' comments and approvals, each bound to
  the SHA-256 of the draft it was given on; one approval per version and language.
* ``accounts.review_languages``, ``accounts.prevailing_language``,
  ``contracts.prevailing_language``.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-12 09:00:00.000000

"""
import re
from collections import defaultdict

from alembic import op
import sqlalchemy as sa
import portal.models.base

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# The firm-wide counter of each numbered series (``portal.documents.service``): the
# prefix and the year or period, then the running number.
SERIES = (
    re.compile(r"^(AMD|WO)-(\d{4})-(\d+)$"),
    re.compile(r"^(JBP|QBP|MBP)-(.+)-(\d+)$"),
    re.compile(r"^(MSR)-(\d{4}-\d{2})-(\d+)$"),
)


def _series(number):
    for pattern in SERIES:
        match = pattern.match(number)
        if match:
            prefix, period, value = match.groups()
            return f"doc:{prefix}:{period}", int(value)
    return None


def upgrade():
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('review_languages', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('prevailing_language', sa.String(length=5), nullable=True))
    with op.batch_alter_table('contracts') as batch:
        batch.add_column(sa.Column('prevailing_language', sa.String(length=5), nullable=True))
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch.add_column(sa.Column('status', sa.Enum('in_review', 'issued', name='documentstatus', native_enum=False,
                                                     create_constraint=True, length=32),
                                   server_default='issued', nullable=False))
        batch.add_column(sa.Column('review_languages', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('number_shared', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('drafted_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('issued_at', portal.models.base.UTCDateTime(), nullable=True))
        batch.create_foreign_key(batch.f('fk_documents_drafted_by_id_users'), 'users', ['drafted_by_id'], ['id'],
                                 ondelete='SET NULL')
        batch.drop_constraint(batch.f('uq_documents_contract_id_number'), type_='unique')
        batch.create_unique_constraint(batch.f('uq_documents_contract_id_number_revision'),
                                       ['contract_id', 'number', 'revision'])
        batch.create_index(batch.f('ix_documents_status'), ['status'], unique=False)

    documents = sa.table('documents', sa.column('id', sa.Integer), sa.column('number', sa.String),
                         sa.column('number_shared', sa.Boolean), sa.column('created_at', portal.models.base.UTCDateTime()),
                         sa.column('updated_at', portal.models.base.UTCDateTime()),
                         sa.column('issued_at', portal.models.base.UTCDateTime()))
    connection = op.get_bind()
    # Every document so far was issued when it was made.
    connection.execute(sa.update(documents).values(updated_at=documents.c.created_at, issued_at=documents.c.created_at))
    rows = connection.execute(sa.select(documents.c.id, documents.c.number).order_by(documents.c.id)).all()
    holders, shared, highest = set(), [], defaultdict(int)
    for document_id, number in rows:
        if number in holders:
            shared.append(document_id)
        holders.add(number)
        series = _series(number)
        if series is not None:
            highest[series[0]] = max(highest[series[0]], series[1])
    for start in range(0, len(shared), 500):
        connection.execute(sa.update(documents).where(documents.c.id.in_(shared[start:start + 500]))
                           .values(number_shared=True))
    sequences = sa.table('number_sequences', sa.column('key', sa.String), sa.column('last_value', sa.Integer))
    for key, value in sorted(highest.items()):
        current = connection.execute(sa.select(sequences.c.last_value).where(sequences.c.key == key)).scalar()
        if current is None:
            connection.execute(sa.insert(sequences).values(key=key, last_value=value))
        elif current < value:
            connection.execute(sa.update(sequences).where(sequences.c.key == key).values(last_value=value))

    with op.batch_alter_table('documents') as batch:
        batch.alter_column('updated_at', existing_type=portal.models.base.UTCDateTime(), nullable=False)
    op.create_index('uq_documents_number_revision', 'documents', ['number', 'revision'], unique=True,
                    sqlite_where=sa.text('NOT number_shared'), postgresql_where=sa.text('NOT number_shared'))

    op.create_table('document_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('verdict', sa.Enum('approved', 'commented', name='reviewverdict', native_enum=False,
                                 create_constraint=True, length=32), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('signature_name', sa.String(length=200), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_document_reviews_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_reviews_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_document_reviews_reviewer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_reviews'))
    )
    op.create_index(op.f('ix_document_reviews_account_id'), 'document_reviews', ['account_id'], unique=False)
    op.create_index(op.f('ix_document_reviews_document_id'), 'document_reviews', ['document_id'], unique=False)
    op.create_index('uq_document_reviews_approval', 'document_reviews', ['document_id', 'version_hash', 'language'],
                    unique=True, sqlite_where=sa.text("verdict = 'approved'"),
                    postgresql_where=sa.text("verdict = 'approved'"))


def downgrade():
    """Back to numbers per contract: refused while a number has a second revision or a
    draft waits for review, which the old schema cannot hold."""
    connection = op.get_bind()
    waiting = connection.execute(sa.text("SELECT count(*) FROM documents WHERE revision > 1 OR status <> 'issued'"))
    if waiting.scalar():
        raise RuntimeError("documents with revisions or drafts in review exist: the old schema cannot hold them")
    op.drop_table('document_reviews')
    op.drop_index('uq_documents_number_revision', table_name='documents')
    with op.batch_alter_table('documents') as batch:
        batch.drop_index(batch.f('ix_documents_status'))
        batch.drop_constraint(batch.f('uq_documents_contract_id_number_revision'), type_='unique')
        batch.create_unique_constraint(batch.f('uq_documents_contract_id_number'), ['contract_id', 'number'])
        batch.drop_constraint(batch.f('fk_documents_drafted_by_id_users'), type_='foreignkey')
        for column in ('issued_at', 'updated_at', 'drafted_by_id', 'number_shared', 'review_languages', 'status',
                       'revision'):
            batch.drop_column(column)
    with op.batch_alter_table('contracts') as batch:
        batch.drop_column('prevailing_language')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('prevailing_language')
        batch.drop_column('review_languages')
