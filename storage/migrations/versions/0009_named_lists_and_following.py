"""Files that name people (a commune's named list), dropped when one of them is deleted;
admins who follow the deadlines set inside their scope.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.add_column(
            sa.Column("personal", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.add_column(
            sa.Column("follows_inside", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.drop_column("follows_inside")
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_column("personal")
