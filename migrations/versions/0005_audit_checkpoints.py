"""audit checkpoints: the signed, append-only list of the audit chain's heads

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('head_entry_id', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.CheckConstraint('entry_count > 0', name=op.f('ck_audit_checkpoints_count_positive')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('entry_count', name=op.f('uq_audit_checkpoints_entry_count')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_checkpoints_prev_hash'))
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
