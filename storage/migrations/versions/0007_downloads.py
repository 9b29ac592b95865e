"""Downloads: files offered by a link for a while (exports on Zalo).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
    )
    op.create_index("ix_downloads_expires_at", "downloads", ["expires_at"])


def downgrade():
    op.drop_index("ix_downloads_expires_at", "downloads")
    op.drop_table("downloads")
