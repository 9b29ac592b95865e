"""A partial index on replies not yet delivered, for re-sending them when a channel starts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_processed_events_undelivered",
        "processed_events",
        ["channel", "created_at"],
        sqlite_where=sa.text("delivered_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade():
    op.drop_index("ix_processed_events_undelivered", table_name="processed_events")
