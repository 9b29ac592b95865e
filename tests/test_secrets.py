"""Secrets and codes (issue 19): codes kept as hashes and guessed at a hopeless rate, the
Zalo OA's tokens sealed in the database, export links that end with their admin."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.codes import new_code
from flows.codes import ATTEMPTS_OVERALL, ATTEMPTS_PER_ACCOUNT
from flows.model import InviteView
from flows.places import Area
from storage import admin as admin_store
from storage import downloads, invites
from storage.models import ChannelToken, Invite, Recipient
from tests.chat import DispatchChat, FlowChat
from tests.fake_zalo import FIRST_REFRESH_TOKEN
from tests.test_admin import HA_NOI, make_admin
from tests.test_zalo import RunningBot as ZaloBot


async def test_codes_are_kept_as_hashes_and_still_work(db, dispatcher, clock):
    code = new_code()
    assert len(code) == 12
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(conn, code, "admin", Area(HA_NOI), now, now + timedelta(1))
    )
    stored = await db.run(lambda conn: [tuple(r) for r in conn.execute(select(Invite))])
    assert code not in repr(stored)  # the table does not give away a working code
    chat = DispatchChat(dispatcher, user="new-admin")
    await chat.type("/language en")
    dashed = "-".join(code[i : i + 4] for i in range(0, 12, 4)).lower()
    await chat.type(f"/admin {dashed}")  # as printed, in any case
    assert "You are now an admin for Thành phố Hà Nội" in chat.text


async def test_wrong_codes_are_limited_and_logged_without_the_code(db, dispatcher, clock, caplog):
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "GOODCODE2345", "admin", Area(HA_NOI), now, now + timedelta(1)
        )
    )
    guesser = DispatchChat(dispatcher, user="guesser")
    await guesser.type("/language en")
    for n in range(ATTEMPTS_PER_ACCOUNT):
        await guesser.type(f"/admin WRONG{n}CODE234")
        assert "is not valid, was already used or has expired" in guesser.text
    await guesser.type("/admin GOODCODE2345")  # even the right one, for the rest of the hour
    assert "Too many wrong codes" in guesser.text
    assert "You are now an admin" not in guesser.text
    assert not any("WRONG" in r.getMessage() for r in caplog.records)
    assert sum("wrong admin code" in r.getMessage() for r in caplog.records) == ATTEMPTS_PER_ACCOUNT
    other = DispatchChat(dispatcher, user="the-real-admin")  # others are not locked out
    await other.type("/language en")
    await other.type("/admin GOODCODE2345")
    assert "You are now an admin" in other.text
    # An hour later the guesser may try again.
    later = clock.now() + timedelta(hours=1, minutes=1)
    clock.current = later
    await guesser.type("/admin WRONG9CODE234")
    assert "Too many" not in guesser.text


def test_an_overall_flood_of_wrong_codes_stops_all_attempts(world):
    code = InviteView("GOODCODE2345", "admin", Area(HA_NOI), world.now + timedelta(hours=1))
    chat = FlowChat(world, invites=[code])
    chat.overall_wrong_codes = ATTEMPTS_OVERALL
    chat.type("/language en")
    chat.type("/admin GOODCODE2345")
    assert "Too many wrong codes" in chat.text and chat.admin is None


async def test_export_links_end_when_their_admin_is_revoked(db, dispatcher, clock):
    await make_admin(db, dispatcher, clock, "exporter", Area(HA_NOI))
    now = clock.now()
    await db.run(
        lambda conn: downloads.offer_download(
            conn, "hash1", "a.xlsx", b"PK", now, now + timedelta(hours=24), ("test", "exporter")
        )
    )
    assert await db.run(lambda conn: downloads.download(conn, "hash1", now)) is not None
    (recipient_id,) = await db.run(lambda conn: conn.execute(select(Recipient.id)).one())
    assert await db.run(lambda conn: admin_store.revoke_admin(conn, recipient_id))
    assert await db.run(lambda conn: downloads.download(conn, "hash1", now)) is None


async def test_tokens_stored_plain_are_sealed_at_the_next_start(zalo, sqlite_dispatcher, core):
    """A database from before sealing: its plain tokens work, and are sealed at once."""
    db = sqlite_dispatcher.db
    seed = hashlib.sha256(FIRST_REFRESH_TOKEN.encode()).hexdigest()
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    await db.run(
        lambda conn: conn.execute(
            insert(ChannelToken).values(
                channel="zalo",
                access_token="",
                refresh_token=FIRST_REFRESH_TOKEN,
                expires_at=epoch,
                seed=seed,
                updated_at=epoch,
            )
        )
    )
    running = await ZaloBot(zalo, sqlite_dispatcher, core).start()
    person = running.user("4440001")
    try:
        texts = await person.act(person.event("follow"))
        assert texts[-1].endswith("Họ và tên của bạn là gì?")
        ((access, refresh),) = await db.run(
            lambda conn: conn.execute(
                select(ChannelToken.access_token, ChannelToken.refresh_token)
            ).all()
        )
        assert access.startswith("fernet:") and refresh.startswith("fernet:")
        assert "refresh-" not in refresh and "access-" not in access
    finally:
        await person.close()
        await running.stop()


async def test_deleting_ones_data_does_not_reset_wrong_codes(db, dispatcher, clock):
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "GOODCODE2345", "admin", Area(HA_NOI), now, now + timedelta(1)
        )
    )
    guesser = DispatchChat(dispatcher, user="guesser")
    for n in range(ATTEMPTS_PER_ACCOUNT):
        await guesser.type(f"/admin WRONG{n}CODE234")
    await guesser.type("/xoa")
    await guesser.tap("Đồng ý")
    await guesser.type("/admin GOODCODE2345")  # a fresh account, the same chat
    assert "quá nhiều lần nhập mã sai" in guesser.text
