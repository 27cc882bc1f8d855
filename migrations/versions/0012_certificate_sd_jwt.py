"""certificate SD-JWT

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:50:00.000000

Each certificate is also issued as an SD-JWT (RFC 9901, docs/part-sdjwt.md). Certificates issued
before have none: theirs is signed on first request with the then current key and stored
(`verifier.certificates.selective.sd_jwt_of`), since a migration cannot reach the signing key.
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sd_jwt", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_column("sd_jwt")
