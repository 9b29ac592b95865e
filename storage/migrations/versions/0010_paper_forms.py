"""Paper forms: people entered by commune staff, with when and by whom.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("entered_by", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_column("entered_by")
        batch_op.drop_column("entered_at")
