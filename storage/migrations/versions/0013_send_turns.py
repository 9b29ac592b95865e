"""Turns to send: which process sends a chat's replies now, and until when (several bot
processes; see storage.outbox), and what the chat shows that the next sender must know.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "send_turns",
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("holder", sa.String(80)),
        sa.Column("until", sa.DateTime(timezone=True)),
        sa.Column("view", JSON, nullable=False),
    )
    op.create_index("ix_send_turns_holder", "send_turns", ["holder"])


def downgrade():
    op.drop_table("send_turns")
