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
    paper = sa.text("entered_at IS NOT NULL")
    op.create_index(
        "ix_people_paper",
        "people",
        ["province_code", "commune_code", "group_code"],
        sqlite_where=paper,
        postgresql_where=paper,
    )
    op.create_index(
        "ix_people_paper_phone", "people", ["phone"], sqlite_where=paper, postgresql_where=paper
    )


def downgrade():
    op.drop_index("ix_people_paper_phone", "people")
    op.drop_index("ix_people_paper", "people")
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_column("entered_by")
        batch_op.drop_column("entered_at")
