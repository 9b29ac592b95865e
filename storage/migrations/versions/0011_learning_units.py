"""Learning units (Đơn vị học tập): units, their self-assessments and answers; focal
points point at their unit and have a name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("area_key", sa.String(24), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("area_key", "name_key", name="uq_units_area_name"),
    )
    op.create_index("ix_units_province_code", "units", ["province_code"])
    op.create_index("ix_units_commune_code", "units", ["commune_code"])
    op.create_table(
        "unit_assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(80), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("band", sa.String(16), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("recognised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recognised_by", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(300), nullable=True),
        sa.Column("decision_pending", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("unit_id", "year", name="uq_unit_assessments_unit_year"),
    )
    op.create_index("ix_unit_assessments_year_status", "unit_assessments", ["year", "status"])
    op.create_table(
        "unit_answers",
        sa.Column(
            "assessment_id",
            sa.Integer(),
            sa.ForeignKey("unit_assessments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("indicator", sa.String(16), primary_key=True),
        sa.Column("option_index", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_name", sa.String(80), nullable=True),
    )
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("person_name", sa.String(80), nullable=True))
        batch_op.create_foreign_key(
            "fk_recipients_unit_id", "units", ["unit_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_recipients_unit_id", ["unit_id"])
    _units_of_focal_points()


def _units_of_focal_points():
    """Focal points registered before units had rows get theirs (as storage.units does:
    one unit per area and folded name), so every unit is counted from the start."""
    from flows.text import fold  # the same folding as storage.units.name_key

    conn = op.get_bind()
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    rows = conn.execute(
        sa.text(
            "SELECT id, province_code, commune_code, unit_name FROM recipients "
            "WHERE role = 'focal_point' AND unit_name IS NOT NULL"
        )
    ).all()
    for rid, province, commune, name in rows:
        key = {
            "area_key": f"{province or 0}:{commune or 0}",
            "name_key": " ".join(fold(name).split())[:120],
        }
        find = sa.text("SELECT id FROM units WHERE area_key = :area_key AND name_key = :name_key")
        unit_id = conn.execute(find, key).scalar()
        if unit_id is None:
            conn.execute(
                sa.text(
                    "INSERT INTO units (province_code, commune_code, area_key, name, name_key, "
                    "created_at) VALUES (:p, :c, :area_key, :name, :name_key, :now)"
                ),
                {**key, "p": province, "c": commune, "name": name, "now": now},
            )
            unit_id = conn.execute(find, key).scalar()
        conn.execute(
            sa.text("UPDATE recipients SET unit_id = :u WHERE id = :r"), {"u": unit_id, "r": rid}
        )


def downgrade():
    with op.batch_alter_table("recipients") as batch_op:
        batch_op.drop_index("ix_recipients_unit_id")
        batch_op.drop_constraint("fk_recipients_unit_id", type_="foreignkey")
        batch_op.drop_column("person_name")
        batch_op.drop_column("unit_id")
    op.drop_table("unit_answers")
    op.drop_index("ix_unit_assessments_year_status", "unit_assessments")
    op.drop_table("unit_assessments")
    op.drop_index("ix_units_commune_code", "units")
    op.drop_index("ix_units_province_code", "units")
    op.drop_table("units")
