"""sign-in success time and the record attestation epoch, for databases upgraded before them

Revision 0003 and 0005 landed without `sign_in_failures.succeeded_at` and without the
`record_attestation_epoch` table; a later working copy added both to those revisions in place.
This revision brings either kind of database to the same schema: it adds what is missing and
leaves alone what is there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if "succeeded_at" not in _columns("sign_in_failures"):
        with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
            batch_op.add_column(sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True))
    if not _has_table("record_attestation_epoch"):
        op.create_table('record_attestation_epoch',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('legacy_upto', sa.Integer(), nullable=False),
        sa.Column('legacy_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_attestation_epoch'))
        )
        # The revisions written before the epoch is recorded count as legacy, once. On a database
        # that ran the app between 0005 and this revision, some of them carry attestations; they
        # are checked as legacy (the audit chain and checkpoints still cover them).
        op.execute(
            "INSERT INTO record_attestation_epoch (id, legacy_upto, legacy_count, created_at) "
            "SELECT 1, COALESCE(MAX(id), 0), COUNT(*), CURRENT_TIMESTAMP FROM record_revisions"
        )


def downgrade() -> None:
    # back to the schema 0003 and 0005 landed with
    op.drop_table('record_attestation_epoch')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_column('succeeded_at')
