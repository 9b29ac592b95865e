"""Deletion means deletion (Decree 13/2023, issue 19): after /delete nothing identifying
the person remains in any table, in other people's stored replies, or in the bytes of the
SQLite files; sent replies keep no personal data or files either."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from flows.places import Area
from storage import downloads, outbox
from storage.models import Base, ProcessedEvent
from tests.chat import DispatchChat
from tests.test_admin import HA_NOI, HOAN_KIEM, make_admin

NAME, PHONE, VILLAGE, CHAT_ID = "Hà Thị Xoá Sạch", "0987654321", "Thôn Đồng Bí Mật", "u-98765431"


async def _citizen(dispatcher) -> DispatchChat:
    chat = DispatchChat(dispatcher, user=CHAT_ID)
    for text in ("/start", NAME, "1984", "2", "1", "ha noi", "hoan kiem", VILLAGE, PHONE, "1"):
        await chat.type(text)
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi kết quả")
    return chat


def _forms(text: str) -> list[bytes]:
    """How a text may sit in a row or a file: as UTF-8, or escaped inside JSON."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


async def _everything(db) -> bytes:
    def dump(conn) -> bytes:
        rows = []
        for table in Base.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in conn.execute(select(table))]
        return "\n".join(rows).encode()

    return await db.run(dump)


async def test_nothing_identifying_remains_after_delete(db, dispatcher, clock):
    citizen = await _citizen(dispatcher)
    admin = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await admin.type("/recognise")  # the admin's stored reply lists the citizen by name
    assert NAME in admin.text and VILLAGE in admin.text
    await admin.type("/export names")  # a named list, not sent yet (its xlsx is zipped)
    named = admin.delivery.outbox_id
    [listed] = [r for r in admin.replies if r.kind == "file"]
    # The same list offered by link (as on Zalo), and a report of counts by link.
    now = clock.now()
    owner = ("test", "ward")
    await db.run(
        lambda conn: downloads.offer_download(
            conn, "named", listed.file_name, listed.file_data, now, now + timedelta(hours=1),
            owner, personal=True,
        )
    )  # fmt: skip
    await db.run(
        lambda conn: downloads.offer_download(
            conn, "counts", "r.xlsx", b"counts", now, now + timedelta(hours=24), owner
        )
    )
    before = await _everything(db)
    assert any(form in before for form in _forms(NAME))  # the scan does find them

    await citizen.type("/xoa")
    await citizen.tap("Đồng ý, xóa hết")
    assert "đã được xóa" in citizen.text
    assert citizen.delivery.outbox_id is None  # nothing of this step is stored either

    # The named list is neither sent nor offered any more; the counts still are.
    stored = await db.run(
        lambda conn: conn.execute(
            select(ProcessedEvent.replies).where(ProcessedEvent.id == named)
        ).scalar_one()
    )
    assert stored == []
    assert await db.run(lambda conn: downloads.download(conn, "named", now)) is None
    assert await db.run(lambda conn: downloads.download(conn, "counts", now)) is not None

    left = await _everything(db)
    for secret in (NAME, PHONE, VILLAGE, CHAT_ID):
        for form in _forms(secret):
            assert form not in left, f"{secret!r} is still in the database"
    if db.is_sqlite:  # and not in the files' bytes (free pages, the write-ahead log)
        assert await asyncio.wait_for(next(iter(db._forgetting)), 30)  # the checkpoint
        path = Path(db.engine.url.database)
        files = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        for secret in (NAME, PHONE, VILLAGE, CHAT_ID):
            for form in _forms(secret):
                assert form not in files, f"{secret!r} is still in the SQLite files"

    # The admin goes on; writing again later starts afresh.
    await admin.type("/recognise")
    assert "No one in Phường Hoàn Kiếm is waiting" in admin.text
    await citizen.type("/start")
    assert "Họ và tên" in citizen.text


async def test_sent_replies_keep_no_text_or_files_and_old_ones_go(db, dispatcher, clock):
    chat = DispatchChat(dispatcher, user="u1")
    await chat.type("/start")
    await chat.type("Ngô Văn Gửi")
    sent = chat.delivery.outbox_id
    await dispatcher.mark_delivered([sent])
    await chat.type("1990")  # not marked sent: its replies are kept, to be sent again

    async def stored():
        rows = await db.run(
            lambda conn: conn.execute(
                select(ProcessedEvent.id, ProcessedEvent.replies).order_by(ProcessedEvent.id)
            ).all()
        )
        return dict(rows)

    replies = await stored()
    assert replies[sent] == []  # sent: the event id stays, the text is gone
    assert replies[chat.delivery.outbox_id] != []
    # Never sent within the hour (the person blocked the bot, say): let go as well, and
    # a week later the event ids themselves are forgotten.
    later = clock.now() + outbox.UNSENT_KEPT + timedelta(minutes=1)
    assert await db.run(lambda conn: outbox.prune(conn, later)) >= 1
    assert all(r == [] for r in (await stored()).values())
    much_later = clock.now() + outbox.EVENT_IDS_KEPT + timedelta(minutes=1)
    await db.run(lambda conn: outbox.prune(conn, much_later))
    assert await stored() == {}


async def test_the_delete_tap_delivered_again_does_not_bring_the_account_back(db, dispatcher):
    from flows.model import Event
    from storage.models import ChannelAccount

    chat = DispatchChat(dispatcher, user="u-again")
    await chat.type("/start")
    await chat.type("/xoa")
    tap = chat.option_event("Đồng ý")
    tap = Event(tap.kind, option=tap.option, prompt=tap.prompt, event_id="update-777")
    await chat.send(tap)
    assert "đã được xóa" in chat.text
    await chat.send(tap)  # Telegram or Zalo delivering the same update again
    assert chat.replies == ()  # recognised as seen: nothing said, nothing kept
    accounts = await db.run(lambda conn: conn.execute(select(ChannelAccount.id)).all())
    assert accounts == []
