"""volunteer merges: merged_into_id, merged_at, record_reassignments

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 12:00:00

A volunteer row found to be the same person as another (the same ID number in normal form) is
merged into it by `verifier volunteers merge`: the row stays, marked with `merged_into_id`, and
each record that moved is written to `record_reassignments`. The data itself cannot be fixed
here: the look-up key is an HMAC keyed by VERIFIER_DATA_KEY, which migrations do not hold; the
command line does it (`verifier volunteers duplicates`, `merge`, `rekey`).
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # A plain ADD COLUMN: a batch copy would drop and re-create `volunteers`, which the
        # foreign keys of records, memberships and certificates refuse once there are rows.
        op.execute(
            "ALTER TABLE volunteers ADD COLUMN merged_into_id INTEGER "
            "CONSTRAINT fk_volunteers_merged_into_id_volunteers REFERENCES volunteers (id)"
        )
    else:
        op.add_column('volunteers', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f('fk_volunteers_merged_into_id_volunteers'),
            'volunteers',
            'volunteers',
            ['merged_into_id'],
            ['id'],
        )
    op.add_column('volunteers', sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('record_reassignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('from_volunteer_id', sa.Integer(), nullable=False),
    sa.Column('to_volunteer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_volunteer_id'], ['volunteers.id'], name=op.f('fk_record_reassignments_from_volunteer_id_volunteers')),
    sa.ForeignKeyConstraint(['record_id'], ['service_records.id'], name=op.f('fk_record_reassignments_record_id_service_records')),
    sa.ForeignKeyConstraint(['to_volunteer_id'], ['volunteers.id'], name=op.f('fk_record_reassignments_to_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_reassignments'))
    )
    with op.batch_alter_table('record_reassignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_reassignments_record_id'), ['record_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('record_reassignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_reassignments_record_id'))
    op.drop_table('record_reassignments')
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(
            op.f('fk_volunteers_merged_into_id_volunteers'), 'volunteers', type_='foreignkey'
        )
        op.drop_column('volunteers', 'merged_into_id')
        op.drop_column('volunteers', 'merged_at')
        return
    # SQLite drops a column with a foreign key only by copying the table, and dropping the old
    # `volunteers` is refused by the foreign keys of the tables referring to it. SQLite turns
    # them off only between transactions (and the app's engine emits BEGIN itself), so step out
    # of the transaction on the driver's connection, copy, check, and turn them on again.
    raw = op.get_bind().connection.dbapi_connection
    raw.execute("COMMIT")
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("BEGIN")
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
    broken = raw.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the copy: {broken[:5]}")
    raw.execute("COMMIT")
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("BEGIN")
