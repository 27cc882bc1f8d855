"""organisation signing keys: a key per organisation, endorsed by the root; signed documents

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        # NULL: a root key of the platform (every key before this revision is one)
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        # the root's signed endorsement of an organisation key (compact JWS); "" for root keys
        batch_op.add_column(
            sa.Column("endorsement", sa.Text(), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_signing_keys_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_signing_keys_organisation_id"), ["organisation_id"], unique=False
        )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.alter_column("endorsement", server_default=None)
    # at most one active key per organisation (root keys are serialised by a lock)
    op.create_index(
        "uq_signing_keys_active_organisation",
        "signing_keys",
        ["organisation_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active' AND organisation_id IS NOT NULL"),
        postgresql_where=sa.text("status = 'active' AND organisation_id IS NOT NULL"),
    )
    op.create_table(
        "signed_documents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signed_documents")),
    )
    # what each key signed, and until when (the trust list's certificates_until)
    op.create_index(
        "ix_certificates_kid_issued_at", "certificates", ["kid", "issued_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_certificates_kid_issued_at", table_name="certificates")
    op.drop_table("signed_documents")
    op.drop_index("uq_signing_keys_active_organisation", table_name="signing_keys")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_organisation_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_signing_keys_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("endorsement")
        batch_op.drop_column("organisation_id")
