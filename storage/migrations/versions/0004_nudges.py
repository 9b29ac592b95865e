"""When to nudge a person who stopped half-way: conversations.nudge_at and nudge_round,
with a partial index for the scheduler.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("nudge_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("nudge_round", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.create_index(
        "ix_conversations_nudge_at",
        "conversations",
        ["nudge_at"],
        sqlite_where=sa.text("nudge_at IS NOT NULL"),
        postgresql_where=sa.text("nudge_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_conversations_nudge_at", table_name="conversations")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("nudge_round")
        batch_op.drop_column("nudge_at")
