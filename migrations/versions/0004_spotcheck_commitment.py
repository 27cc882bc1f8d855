"""spot-check campaigns: a committed server secret and the ceremony input

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00

The campaign seed becomes SHA-256 of a server secret (committed to at freezing) and the ceremony
input. Existing campaigns get no commitment (all new columns NULL): they keep their seed and
replay as manifest format 1. A campaign frozen before this revision and seeded after it gets
its secret when its seed is fixed (verifier/spotchecks/services.py, fix_seed).
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('spotcheck_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('server_secret_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('server_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ceremony_input', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('spotcheck_campaigns', schema=None) as batch_op:
        batch_op.drop_column('ceremony_input')
        batch_op.drop_column('server_secret')
        batch_op.drop_column('server_secret_enc')
        batch_op.drop_column('commitment')
