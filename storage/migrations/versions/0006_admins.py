"""Admins: recognition of titles on assessments, who invited whom, a monthly digest choice,
and each commune's population and targets.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("assessments") as batch_op:
        batch_op.add_column(sa.Column("recognised_at", When, nullable=True))
        batch_op.add_column(sa.Column("recognised_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("returned_at", When, nullable=True))
        batch_op.add_column(sa.Column("return_reason", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("decision_pending", sa.Boolean(), nullable=True))
    # The scheduler's question "whose decision is not told yet?": only those rows.
    op.create_index(
        "ix_assessments_decision_pending",
        "assessments",
        ["id"],
        sqlite_where=sa.text("decision_pending IS NOT NULL"),
        postgresql_where=sa.text("decision_pending IS NOT NULL"),
    )
    with op.batch_alter_table("invites") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.add_column(sa.Column("invited_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("monthly", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "commune_targets",
        sa.Column("commune_code", sa.Integer(), primary_key=True),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("adults", sa.Integer(), nullable=True),
        sa.Column("officials", sa.Integer(), nullable=True),
        sa.Column("adults_pct", sa.Integer(), nullable=True),
        sa.Column("officials_pct", sa.Integer(), nullable=True),
        sa.Column("updated_at", When, nullable=False),
    )


def downgrade():
    op.drop_table("commune_targets")
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.drop_column("monthly")
        batch_op.drop_column("invited_by")
    with op.batch_alter_table("invites") as batch_op:
        batch_op.drop_column("created_by")
    op.drop_index("ix_assessments_decision_pending", table_name="assessments")
    with op.batch_alter_table("assessments") as batch_op:
        batch_op.drop_column("decision_pending")
        batch_op.drop_column("return_reason")
        batch_op.drop_column("returned_at")
        batch_op.drop_column("recognised_by")
        batch_op.drop_column("recognised_at")
