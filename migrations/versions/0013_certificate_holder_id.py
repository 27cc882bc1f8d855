"""certificate holder's copy: ID number masked in the middle, frozen at issuance

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty for certificates issued before: their holder's copy prints the stricter id_masked
    # (the number is sealed with the data key, which a migration does not hold).
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("holder_id_masked", sa.String(length=24), server_default="", nullable=False)
        )
    # the default only fills the rows that exist; the application always writes the column
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column("holder_id_masked", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_column("holder_id_masked")
