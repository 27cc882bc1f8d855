"""organisation status since and successor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:02:35.154818
"""

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# an organisation that is not active: since its last status change on the audit log
BACKFILL_STATUS_SINCE = """
UPDATE organisations SET status_since = (
    SELECT MAX(a.created_at) FROM audit_entries a
    WHERE a.action = 'organisation.status' AND a.organisation_id = organisations.id
)
WHERE status <> 'active'
"""


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_organisations_successor_id_organisations"),
            "organisations",
            ["successor_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(BACKFILL_STATUS_SINCE)


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organisations_successor_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("successor_id")
        batch_op.drop_column("status_since")
