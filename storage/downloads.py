"""Files offered by link for a while (an admin's export on Zalo, whose OA sends no
spreadsheets): kept with only the hash of the link's token, served by the web server.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from storage.models import ChannelAccount, Download


def offer_download(
    conn: Connection,
    token_hash: str,
    name: str,
    content: bytes,
    now: datetime,
    until: datetime,
    owner: tuple[str, str] | None = None,
    personal: bool = False,
) -> None:
    """Keep a file for its link until `until`, for `owner` (channel, external id): the
    link ends with their account or their admin role, and a `personal` one (it names
    people) also when one of them is deleted. Expired ones are let go meanwhile."""
    conn.execute(delete(Download).where(Download.expires_at <= now))
    account_id = None
    if owner is not None:
        account_id = conn.execute(
            select(ChannelAccount.id).where(
                ChannelAccount.channel == owner[0], ChannelAccount.external_id == owner[1]
            )
        ).scalar_one_or_none()
    conn.execute(
        insert(Download).values(
            token_hash=token_hash,
            account_id=account_id,
            file_name=name,
            content=content,
            personal=personal,
            created_at=now,
            expires_at=until,
        )
    )


def download(conn: Connection, token_hash: str, now: datetime) -> tuple[str, bytes] | None:
    """The file behind a link's token (its name and bytes), if the link still works."""
    row = conn.execute(
        select(Download.file_name, Download.content).where(
            Download.token_hash == token_hash, Download.expires_at > now
        )
    ).first()
    return None if row is None else (row.file_name, bytes(row.content))


def forget_personal(conn: Connection, account_ids: Sequence[int]) -> None:
    """End the links to files naming people that were offered to these accounts (the
    admins covering someone who is deleted: the file may name them)."""
    if account_ids:
        conn.execute(
            delete(Download).where(
                Download.account_id.in_(account_ids), Download.personal.is_(True)
            )
        )


def forget_account(conn: Connection, account_id: int) -> None:
    """End the links of an account (an admin revoked)."""
    conn.execute(delete(Download).where(Download.account_id == account_id))
