"""signed status lists: each list is signed once per change and served as stored

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:05:37.194818
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signed_status_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_number", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_status_lists")),
        sa.UniqueConstraint(
            "list_number", "purpose", name=op.f("uq_signed_status_lists_list_number_purpose")
        ),
    )


def downgrade() -> None:
    op.drop_table("signed_status_lists")
