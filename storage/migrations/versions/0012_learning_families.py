"""Learning families (Gia đình học tập): families, their members and self-assessments;
a commune's number of households (the families' target); wrong codes counted by kind.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "families",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "head_id",
            sa.Integer(),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("commune_code", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("adults", sa.Integer(), nullable=False),
        sa.Column("adult_members", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_families_area",
        "families",
        ["province_code", "commune_code", "adults", "adult_members"],
    )
    op.create_index("ix_families_commune_code", "families", ["commune_code"])
    op.create_table(
        "family_members",
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "family_id",
            sa.Integer(),
            sa.ForeignKey("families.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adult", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_index("ix_family_members_family_id", "family_members", ["family_id"])
    op.create_table(
        "family_assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "family_id",
            sa.Integer(),
            sa.ForeignKey("families.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("titled", sa.Integer(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.UniqueConstraint("family_id", "year", name="uq_family_assessments_family_year"),
    )
    op.create_index("ix_family_assessments_year_status", "family_assessments", ["year", "status"])
    with op.batch_alter_table("commune_targets") as batch_op:
        batch_op.add_column(sa.Column("households", sa.Integer(), nullable=True))
    with op.batch_alter_table("code_attempts") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default=sa.text("'invite'"))
        )


def downgrade():
    with op.batch_alter_table("code_attempts") as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("commune_targets") as batch_op:
        batch_op.drop_column("households")
    op.drop_table("family_assessments")
    op.drop_table("family_members")
    op.drop_table("families")
