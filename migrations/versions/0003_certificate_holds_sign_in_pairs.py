"""certificate holds by supervision cases; sign-in failures per account and address

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('regulator_hold', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # certificates that an unclosed supervision case holds today are held from now on
    op.execute(
        "UPDATE certificates SET regulator_hold = TRUE WHERE status = 'suspended' AND id IN ("
        "SELECT cc.certificate_id FROM case_certificates cc "
        "JOIN supervision_cases sc ON sc.id = cc.case_id "
        "WHERE sc.status IN ('open', 'responded', 'overdue', 'escalated'))"
    )
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('address_key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_sign_in_failures_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
        sa.UniqueConstraint('user_id', 'address_key', name='uq_sign_in_failures_pair'),
    )


def downgrade() -> None:
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('regulator_hold')
