"""volunteers in the loop: their accounts, the outbox, disputes, missing records, certificate requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:48:21.091872
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ROLE_KNOWN_BEFORE = (
    "role IN ('platform_admin','org_admin','org_recorder','regulator_supervisor',"
    "'regulator_inspector')"
)
ROLE_KNOWN = (
    "role IN ('platform_admin','org_admin','org_recorder','regulator_supervisor',"
    "'regulator_inspector','volunteer')"
)


def upgrade() -> None:
    op.create_table('one_time_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.CheckConstraint("purpose IN ('password_reset')", name=op.f('ck_one_time_codes_purpose_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_one_time_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes'))
    )
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_one_time_codes_user_id'), ['user_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('recipient_enc', sa.LargeBinary(), nullable=False),
    sa.Column('recipient_masked', sa.String(length=100), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body_enc', sa.LargeBinary(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('email','sms')", name=op.f('ck_outbox_messages_channel_known')),
    sa.CheckConstraint("status IN ('pending','sending','sent','failed')", name=op.f('ck_outbox_messages_status_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_messages_user_id_users')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_outbox_messages_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('message_key', name=op.f('uq_outbox_messages_message_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('volunteer_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_volunteer_invitations_created_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_volunteer_invitations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], name=op.f('fk_volunteer_invitations_used_by_id_users')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_invitations_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_invitations')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_volunteer_invitations_code_hash'))
    )
    with op.batch_alter_table('volunteer_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_invitations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_invitations_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('certificate_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending','issued','refused')", name=op.f('ck_certificate_requests_status_known')),
    sa.CheckConstraint('period_to >= period_from', name=op.f('ck_certificate_requests_period_ordered')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_certificate_requests_answered_by_id_users')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_requests_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_certificate_requests_created_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_certificate_requests_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_certificate_requests_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_requests'))
    )
    with op.batch_alter_table('certificate_requests', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_requests_org_status', ['organisation_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_requests_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('missing_record_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open','entered','refused')", name=op.f('ck_missing_record_requests_status_known')),
    sa.CheckConstraint('ended_at > started_at', name=op.f('ck_missing_record_requests_ends_after_start')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_missing_record_requests_answered_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_missing_record_requests_created_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_missing_record_requests_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['record_id'], ['service_records.id'], name=op.f('fk_missing_record_requests_record_id_service_records')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_missing_record_requests_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missing_record_requests'))
    )
    with op.batch_alter_table('missing_record_requests', schema=None) as batch_op:
        batch_op.create_index('ix_missing_record_requests_org_status', ['organisation_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_missing_record_requests_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('record_confirmations',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['service_records.id'], name=op.f('fk_record_confirmations_record_id_service_records')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_record_confirmations_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('record_id', 'revision', name=op.f('pk_record_confirmations'))
    )
    with op.batch_alter_table('record_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_confirmations_volunteer_id'), ['volunteer_id'], unique=False)

    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volunteer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('record_revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_correction_requests_volunteer_id'), ['volunteer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_correction_requests_volunteer_id_volunteers'), 'volunteers', ['volunteer_id'], ['id'])
        batch_op.create_check_constraint(
            'kind_known',
            "kind IS NULL OR kind IN ('not_attended','wrong_time','wrong_minutes','other')",
        )

    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_hold', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volunteer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=False, server_default='zh'))
        batch_op.add_column(sa.Column('privacy_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('privacy_notice_version', sa.String(length=16), nullable=False, server_default=''))
        batch_op.create_unique_constraint(batch_op.f('uq_users_volunteer_id'), ['volunteer_id'])
        batch_op.create_foreign_key(batch_op.f('fk_users_volunteer_id_volunteers'), 'volunteers', ['volunteer_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', ROLE_KNOWN)
        batch_op.create_check_constraint(
            'volunteer_role_has_volunteer',
            "(role = 'volunteer') = (volunteer_id IS NOT NULL)",
        )

    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_activities', sa.Boolean(), nullable=False, server_default=sa.false()))

    # the server defaults only filled the rows already there; the models set the values
    for table, column in (
        ('service_records', 'certificate_hold'),
        ('users', 'locale'),
        ('users', 'privacy_notice_version'),
        ('volunteers', 'public_activities'),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)



def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('public_activities')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_volunteer_role_has_volunteer'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', ROLE_KNOWN_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_users_volunteer_id_volunteers'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_users_volunteer_id'), type_='unique')
        batch_op.drop_column('privacy_notice_version')
        batch_op.drop_column('privacy_accepted_at')
        batch_op.drop_column('locale')
        batch_op.drop_column('volunteer_id')

    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_column('certificate_hold')

    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_correction_requests_kind_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_correction_requests_volunteer_id_volunteers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_correction_requests_volunteer_id'))
        batch_op.drop_column('due_on')
        batch_op.drop_column('record_revision')
        batch_op.drop_column('kind')
        batch_op.drop_column('volunteer_id')

    with op.batch_alter_table('record_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_confirmations_volunteer_id'))

    op.drop_table('record_confirmations')
    with op.batch_alter_table('missing_record_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_record_requests_volunteer_id'))
        batch_op.drop_index('ix_missing_record_requests_org_status')

    op.drop_table('missing_record_requests')
    with op.batch_alter_table('certificate_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_requests_volunteer_id'))
        batch_op.drop_index('ix_certificate_requests_org_status')

    op.drop_table('certificate_requests')
    with op.batch_alter_table('volunteer_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_invitations_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_invitations_organisation_id'))

    op.drop_table('volunteer_invitations')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_user_id'))
        batch_op.drop_index('ix_outbox_messages_status_next')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_one_time_codes_user_id'))

    op.drop_table('one_time_codes')
