"""certificate issued by a deregistered organisation's custodian

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 20:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custodian_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("custodian_uscc", sa.String(length=18), nullable=True))
        batch_op.add_column(
            sa.Column("custodian_name", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.create_check_constraint(
            "custodian_kind_known",
            "custodian_kind IS NULL OR custodian_kind IN ('successor','platform')",
        )
    # the server default only filled the rows already there; the model sets the value
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column("custodian_name", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_certificates_custodian_kind_known"), type_="check")
        batch_op.drop_column("custodian_name")
        batch_op.drop_column("custodian_uscc")
        batch_op.drop_column("custodian_kind")
