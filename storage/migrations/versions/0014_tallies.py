"""Counters for the admins' numbers (tally_*), kept by triggers in the transaction of every
change, and counted once from what is there (see storage.tallies).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage import tallies

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _counts(*names):
    return [sa.Column(n, sa.Integer(), nullable=False, server_default=sa.text("0")) for n in names]


def _key(name, kind=None):
    return sa.Column(name, kind or sa.Integer(), primary_key=True)


def upgrade():
    group = sa.String(16)
    area = ("province_code", "commune_code")
    op.create_table(
        "tally_people",
        *(_key(n) for n in area),
        _key("group_code", group),
        *_counts("people", "paper"),
    )
    op.create_table(
        "tally_new",
        _key("reg_day"),
        *(_key(n) for n in area),
        _key("group_code", group),
        *_counts("people"),
    )
    op.create_table(
        "tally_assessments",
        _key("campaign_year"),
        *(_key(n) for n in area),
        _key("group_code", group),
        _key("person_group", group),
        *_counts("assessments", "in_progress", "submitted", "reached", "recognised"),
    )
    op.create_table("tally_families", *(_key(n) for n in area), *_counts("families", "adults"))
    op.create_table(
        "tally_family_years",
        _key("year"),
        *(_key(n) for n in area),
        *_counts("in_progress", "submitted", "reached", "titled"),
    )
    conn = op.get_bind()
    for statement in tallies.trigger_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    tallies.rebuild(conn)


def downgrade():
    conn = op.get_bind()
    for statement in tallies.drop_triggers_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    for table in reversed(tallies.TABLES):
        op.drop_table(table)
