"""Secrets, erasure and outages: invite codes kept as hashes (with a hint), wrong code
attempts, files offered by link belong to an account, the outbox pruned by age and its
unsent rows retried while the bot runs, and a table each process writes to when asked
whether it is healthy.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def _hint(code: str) -> str:
    return f"{code[:2]}…"


def _hash(code: str) -> str:  # as storage.invites.code_hash
    return hashlib.scrypt(
        code.encode(), salt=b"cdht-bot invite codes", n=2**14, r=8, p=1, dklen=32
    ).hex()


def upgrade():
    # Invite codes: the plain code goes, its sha256 stays (codes already handed out keep
    # working: the typed code is hashed the same way).
    op.create_table(
        "invites_hashed",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", When, nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
    )
    conn = op.get_bind()
    old = sa.table(
        "invites",
        *(
            sa.column(name)
            for name in (
                "code",
                "role",
                "province_code",
                "commune_code",
                "created_at",
                "expires_at",
                "uses",
                "revoked_at",
                "created_by",
            )
        ),
    )
    rows = [dict(row._mapping) for row in conn.execute(sa.select(old))]
    for row in rows:
        code = row.pop("code")
        row["code_hash"] = _hash(code)
        row["hint"] = _hint(code)
    if rows:
        new = sa.table("invites_hashed", *(sa.column(name) for name in rows[0]))
        conn.execute(sa.insert(new), rows)
    op.drop_table("invites")
    op.rename_table("invites_hashed", "invites")

    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("at", When, nullable=False),
    )
    op.create_index("ix_code_attempts_who", "code_attempts", ["who"])
    op.create_index("ix_code_attempts_at", "code_attempts", ["at"])

    with op.batch_alter_table("downloads") as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_downloads_account_id",
            "channel_accounts",
            ["account_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_downloads_account_id", ["account_id"])

    op.create_index("ix_processed_events_created_at", "processed_events", ["created_at"])
    with op.batch_alter_table("processed_events") as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("retry_at", When, nullable=True))
    # Replies already sent are let go (they quote names, carry charts and exports); from
    # now on that happens as each is marked sent.
    op.execute("UPDATE processed_events SET replies = '[]' WHERE delivered_at IS NOT NULL")

    op.create_table(
        "forgotten_events",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("at", When, nullable=False),
    )
    op.create_index("ix_forgotten_events_at", "forgotten_events", ["at"])

    op.create_table(
        "health_checks",
        sa.Column("process", sa.String(64), primary_key=True),
        sa.Column("checked_at", When, nullable=False),
    )


def downgrade():
    op.drop_table("health_checks")
    op.drop_index("ix_forgotten_events_at", table_name="forgotten_events")
    op.drop_table("forgotten_events")
    with op.batch_alter_table("processed_events") as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
    op.drop_index("ix_processed_events_created_at", table_name="processed_events")
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_index("ix_downloads_account_id")
        batch_op.drop_constraint("fk_downloads_account_id", type_="foreignkey")
        batch_op.drop_column("account_id")
    op.drop_index("ix_code_attempts_at", table_name="code_attempts")
    op.drop_index("ix_code_attempts_who", table_name="code_attempts")
    op.drop_table("code_attempts")
    # The plain codes cannot come back: codes handed out before stop working.
    op.drop_table("invites")
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
        sa.Column("created_by", sa.Integer(), nullable=True),
    )
