"""Deadlines and their reminders: deadlines, deadline_cursors, invites (codes handed to
focal points of units), recipients, and conversations.reminders_off.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(
            sa.Column("reminders_off", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Who said /reminders off before the column existed.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE conversations SET reminders_off = true WHERE state->>'reminders' = 'false'"
        )
    else:
        op.execute(
            "UPDATE conversations SET reminders_off = 1 "
            "WHERE json_extract(state, '$.reminders') = 0"
        )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=True, unique=True),
        sa.Column("title", JSONType, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("offsets", JSONType, nullable=False),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("cancelled_at", When, nullable=True),
    )
    op.create_table(
        "deadline_cursors",
        sa.Column(
            "deadline_id",
            sa.Integer(),
            sa.ForeignKey("deadlines.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("due", sa.String(10), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("last_key", sa.Integer(), nullable=False),
        sa.Column("last_account", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("deadline_id", "due", "days_before", "channel"),
    )
    op.create_table(
        "invites",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", When, nullable=True),
    )
    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("channel_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("unit_name", sa.String(120), nullable=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("account_id", "role", name="uq_recipients_account_role"),
    )


def downgrade():
    op.drop_table("recipients")
    op.drop_table("invites")
    op.drop_table("deadline_cursors")
    op.drop_table("deadlines")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("reminders_off")
