"""The Zalo OA channel through its real stack: signed webhook calls over HTTP into our
aiohttp server, and the OA API and OAuth calls over HTTP to a fake Zalo on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import sys
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.zalo import SetupError, ZaloChannel
from bot.channels.zalo.api import ZaloApi, ZaloTokens
from bot.channels.zalo.events import button_payload, incoming, parse_button, signature
from bot.channels.zalo.render import MAX_TEXT, render
from bot.config import ZaloSettings
from bot.dispatcher import Dispatcher
from bot.links import FileLinks
from bot.server import WebServer
from flows.model import Option, Reply
from flows.windows import Cost, WindowRules
from storage import downloads
from storage import zalo as store
from storage.db import Database
from storage.models import (
    Answer,
    Assessment,
    ChannelAccount,
    ChannelToken,
    Conversation,
    Download,
    InboundEvent,
    Person,
    ProcessedEvent,
)
from tests.chat import scheduler_beside
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    FIRST_REFRESH_TOKEN,
    OA_SECRET_KEY,
    FakeZalo,
    ZaloUser,
    sign,
)

PATH = "/zalo/webhook"


def settings_for(zalo: FakeZalo, **changes) -> ZaloSettings:
    values = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "oa_secret_key": OA_SECRET_KEY,
        "refresh_token": FIRST_REFRESH_TOKEN,
        "api_base_url": zalo.url,
        "oauth_base_url": zalo.url,
        "webhook_path": PATH,
        **changes,
    }
    return ZaloSettings(**values)


class RunningBot:
    """Our Zalo channel and web server, pointed at the fake Zalo."""

    def __init__(
        self, zalo: FakeZalo, dispatcher: Dispatcher, core, links: bool = False, **settings
    ) -> None:
        self.zalo, self.dispatcher, self.core = zalo, dispatcher, core
        self.settings = settings_for(zalo, **settings)
        self.links = links  # offer exports by link (CDHT_PUBLIC_URL: our server's address)

    async def start(self) -> RunningBot:
        db, clock = self.dispatcher.db, self.dispatcher.clock
        links = FileLinks(db, clock, self.core.langs[self.core.default_lang])
        self.channel = ZaloChannel(
            self.settings, self.dispatcher, self.core.langs, self.core.default_lang, clock, links
        )
        self.channel.FIRST_BACKOFF = 0.01  # retries without waiting seconds in tests
        self.zalo.bot_idle = lambda: self.channel.idle
        self.zalo.now = lambda: clock.now().timestamp()  # events stamped by the bot's clock
        self.server = WebServer(db, [("zalo", self.channel)], "127.0.0.1", 0, links)
        await self.server.start()
        if self.links:  # the port is known only now
            links.public_url = f"http://127.0.0.1:{self.server.port}"
        await self.channel.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()
        await self.channel.stop()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{PATH}"

    def user(self, user_id: str) -> ZaloUser:
        return ZaloUser(self.zalo, self.webhook, user_id)


@pytest.fixture
async def bot(zalo, sqlite_dispatcher, core):
    running = await RunningBot(zalo, sqlite_dispatcher, core).start()
    yield running
    await running.stop()


@pytest.fixture
async def user(bot):
    person = bot.user("8459326627466712345")
    yield person
    await person.close()


async def rows(db: Database, statement):
    return await db.run(lambda conn: conn.execute(statement).all())


async def to_phone(user: ZaloUser) -> None:
    """Registration up to the phone question, by typing and tapping."""
    texts = await user.act(user.event("follow"))
    assert texts[-1].endswith("Họ và tên của bạn là gì?")
    await user.send("Nguyễn Thị Hoa")
    await user.send("1984")
    await user.tap("Nữ")
    await user.tap("Nông dân")
    await user.send("ha noi")
    await user.send("hoan kiem")
    await user.send("Tổ 5")


async def register(user: ZaloUser) -> None:
    await to_phone(user)
    await user.send("0912345678")
    confirm = user.last
    assert "attachment" not in confirm  # 8 options: more than Zalo's 5 buttons
    assert "1. Đúng rồi" in confirm["text"] and "từ 1 đến 8" in confirm["text"]
    await user.send("1")


# --- the whole journey -----------------------------------------------------------------


async def _whole_assessment(zalo: FakeZalo, user: ZaloUser, db: Database) -> None:
    await register(user)
    assert "Bạn muốn làm gì tiếp?" in user.last["text"]
    texts = await user.tap("Bắt đầu tự đánh giá")
    assert texts[0].startswith("✓ 1. Bắt đầu tự đánh giá") or "✓ Bắt đầu" in texts[0]
    for n in range(1, 11):
        question = user.button_message
        assert f"Câu {n}/10 ·" in question["text"]
        if n % 3 == 0:  # the numbered fallback: typing the number works too
            assert "Bấm nút hoặc gõ 1, 2, 3, 4 hoặc 5." in question["text"]
            texts = await user.send("2")
        else:
            label = user.labels()[n % 4]
            texts = await user.tap(label.split(". ", 1)[1])
            assert texts[0].startswith("✓ ")  # the hidden tap is shown back
    assert "Xin xem lại các câu trả lời" in user.button_message["text"]
    assert "Sau khi gửi, bạn không sửa được câu trả lời nữa" in user.button_message["text"]
    texts = await user.tap("Gửi kết quả")
    assert any("Kết quả tự đánh giá năm 2026" in t for t in texts)
    texts = await user.send("/ketqua")  # where it stands, with what to do next
    assert any("Đang chờ xã, phường xét" in t or "tự đánh giá lại vào năm sau" in t for t in texts)
    (status,) = (await rows(db, select(Assessment.status)))[0]
    assert status == "submitted"
    assert len(await rows(db, select(Answer.indicator))) == 10
    ((name, phone),) = await rows(db, select(Person.full_name, Person.phone))
    assert (name, phone) == ("Nguyễn Thị Hoa", "0912345678")
    # One token refresh at start, and no API call failed.
    assert zalo.refreshes == 1
    assert all(c.status == 200 and c.error == 0 for c in zalo.calls)


async def test_whole_registration_and_assessment(bot, zalo, user):
    await _whole_assessment(zalo, user, bot.dispatcher.db)
    # 64-bit ids stay exact strings.
    ((external_id,),) = await rows(bot.dispatcher.db, select(ChannelAccount.external_id))
    assert external_id == "8459326627466712345"
    # Every event was handled and the inbox is empty again.
    await bot.channel._handled.flush()
    assert await rows(bot.dispatcher.db, select(InboundEvent.id)) == []


async def test_whole_assessment_on_both_databases(zalo, dispatcher, core):
    running = await RunningBot(zalo, dispatcher, core).start()
    person = running.user("1000000000000000001")
    try:
        await _whole_assessment(zalo, person, dispatcher.db)
    finally:
        await person.close()
        await running.stop()


async def test_options_are_buttons_with_a_numbered_list(bot, zalo, user):
    await user.act(user.event("follow"))
    await user.send("Trần Văn Bình")
    await user.send("1990")
    question = user.last
    assert question["text"].endswith("1. Nam\n2. Nữ\n3. Khác\n\nBấm nút hoặc gõ 1, 2 hoặc 3.")
    buttons = question["attachment"]["payload"]["buttons"]
    assert [b["title"] for b in buttons] == ["1. Nam", "2. Nữ", "3. Khác"]
    assert all(b["type"] == "oa.query.hide" for b in buttons)
    assert parse_button(buttons[1]["payload"])[1:] == ("female", "Nữ")
    await user.send("3")  # typed number
    texts = await user.send("1")
    # 34 provinces: too many for buttons, a numbered list only.
    assert "attachment" not in user.last
    assert "34. " in user.last["text"] and "từ 1 đến 34" in user.last["text"]
    texts = await user.send("ha noi")  # typing the name works as before
    assert "Hà Nội" in texts[0]


async def test_an_old_commune_name_offers_the_new_commune(bot, zalo, user):
    await user.act(user.event("follow"))
    for text in ("Trần Văn Đài", "1950", "1", "1", "ha tinh"):
        await user.send(text)
    texts = await user.send("thach dai")
    assert (
        "Xã Thạch Đài (cũ), thuộc Thành phố Hà Tĩnh (cũ), nay thuộc Phường Hà Huy Tập." in texts[-1]
    )
    texts = await user.send("1")  # the first button, by its number
    assert "thôn, xóm" in texts[-1]


async def test_the_short_code_on_a_poster_chooses_the_commune(bot, zalo, user):
    await user.act(user.event("follow"))
    texts = await user.send("XA 18652")  # as printed on Phường Hà Huy Tập's poster
    assert "Xã, phường của bạn: Phường Hà Huy Tập, Hà Tĩnh." in texts[-1]
    assert "Họ và tên" in texts[-1]
    for text in ("Trần Văn Đài", "1950", "1"):
        await user.send(text)
    texts = await user.send("1")  # the group: the place is known, the village is next
    assert "thôn, xóm" in texts[-1]
    texts = await user.send("xa 999999")  # a code mistyped: said plainly
    said = "\n".join(texts)
    assert "Không có xã, phường nào mang mã 999999: xin xem lại mã trên áp phích" in said
    assert "thôn, xóm" in said  # the question again


async def test_forgiving_year_and_going_back(bot, zalo, user):
    await user.act(user.event("follow"))
    await user.send("Lê Thị Bán")
    texts = await user.send("năm 1970")
    assert "Giới tính" in texts[-1]
    texts = await user.send("quay lai")
    assert "Bạn sinh năm nào?" in texts[-1]


async def test_a_trader_finds_their_group(bot, zalo, user):
    await user.act(user.event("follow"))
    for text in ("Lê Thị Bán", "1970", "2"):
        await user.send(text)
    texts = await user.send("tôi buôn bán ở chợ")
    assert "phù hợp với Nhóm 2: Công nhân, người lao động" in texts[-1]
    texts = await user.send("2")  # Group 2, by its number
    assert "tỉnh" in texts[-1].lower()


async def test_a_stale_button_gets_a_notice_and_the_current_question(bot, zalo, user):
    await user.act(user.event("follow"))
    await user.send("Lê Thị Mai")
    await user.send("1970")
    gender = user.button_message
    await user.tap("Nữ")
    texts = await user.tap("Nam", gender)  # the old question's button, tapped again
    assert "câu hỏi trước" in texts[0]
    assert not texts[0].startswith("✓")
    assert "nhóm" in texts[-1].lower()  # the current question again (the group)


async def test_stickers_and_pictures_get_a_polite_answer(bot, zalo, user):
    await user.act(user.event("follow"))
    for name, message in [
        ("user_send_sticker", {"msg_id": "s1", "attachments": [{"type": "sticker"}]}),
        ("user_send_image", {"msg_id": "i1", "attachments": [{"type": "image"}]}),
    ]:
        texts = await user.act(user.event(name, message=message))
        assert "Tôi chỉ đọc được chữ" in texts[0]
        assert texts[-1].endswith("Họ và tên của bạn là gì?")


# --- the webhook's checks ------------------------------------------------------------------


async def test_a_bad_signature_is_refused_and_nothing_is_stored(bot, zalo, user):
    event = user.text_event("xin chào")
    assert await user.post(event, key="not-our-key") == 401
    assert await user.post(event, signature="mac=") == 401
    body = json.dumps(event).encode()
    assert await user.post_raw(body, {}) == 401  # no signature at all
    good = sign(body, APP_ID, event["timestamp"])
    # The signature covers the raw bytes: the same JSON re-spaced does not pass.
    respaced = json.dumps(event, indent=1).encode()
    assert await user.post_raw(respaced, {"X-ZEvent-Signature": good}) == 401
    await asyncio.sleep(0.1)
    assert await rows(bot.dispatcher.db, select(InboundEvent.id)) == []
    assert await rows(bot.dispatcher.db, select(ProcessedEvent.id)) == []
    assert user.messages == []


async def test_another_apps_events_are_ignored(bot, zalo, user):
    event = user.text_event("xin chào")
    event["app_id"] = "999"
    assert await user.post(event) == 200  # accepted, so Zalo does not retry, but ignored
    await asyncio.sleep(0.1)
    assert user.messages == [] and await rows(bot.dispatcher.db, select(InboundEvent.id)) == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
async def test_a_malformed_body_is_a_400(bot, user, body):
    assert await user.post_raw(body, {"X-ZEvent-Signature": "mac=00"}) == 400


async def test_an_old_signed_event_is_refused_as_a_replay(bot, zalo, user, clock):
    """Issue 19: a year-old signed unfollow must not mark a person unreachable again, and
    a replayed message must not re-create someone who deleted their data."""
    await user.act(user.event("follow"))
    old = user.event("unfollow")
    old["timestamp"] = str(int((clock.now() - timedelta(days=365)).timestamp() * 1000))
    assert await user.post(old) == 401
    stale = user.text_event("Nguyễn Văn Cũ")
    stale["timestamp"] = str(int((clock.now() - timedelta(minutes=11)).timestamp() * 1000))
    assert await user.post(stale) == 401
    ahead = user.text_event("Nguyễn Văn Mới")
    ahead["timestamp"] = str(int((clock.now() + timedelta(hours=1)).timestamp() * 1000))
    assert await user.post(ahead) == 401
    no_time = user.text_event("Nguyễn Văn Không")
    no_time["timestamp"] = "soon"
    assert await user.post(no_time) == 401
    await asyncio.sleep(0.1)
    await bot.channel._handled.flush()  # the follow, handled: let go of
    assert not await bot.dispatcher.is_unreachable("zalo", user.id)
    assert await rows(bot.dispatcher.db, select(InboundEvent.id)) == []
    fresh = user.text_event("Nguyễn Văn Nay")
    fresh["timestamp"] = str(int((clock.now() - timedelta(minutes=9)).timestamp() * 1000))
    assert await user.post(fresh) == 200  # a retry after a short outage still counts


async def test_big_unsigned_and_nested_bodies_are_refused_cheaply(bot, zalo, user, caplog):
    megabyte = b'{"app_id": "' + b"x" * (1024 * 1024) + b'"}'
    assert await user.post_raw(megabyte, {}) == 401  # unsigned: the body is never read
    assert await user.post_raw(megabyte, {"X-ZEvent-Signature": "mac=00"}) == 413
    nested = b"[" * 30_000 + b"]" * 30_000  # under the size cap, over any sane depth
    assert await user.post_raw(nested, {"X-ZEvent-Signature": "mac=00"}) == 400
    deep = user.text_event("x")
    deep["extra"] = json.loads("[" * 40 + "]" * 40)
    assert await user.post(deep) == 400
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize(
    "change",
    [
        {"sender": "8459"},
        {"sender": {"id": {"nested": 1}}},
        {"message": "xin chào"},
        {"message": {"msg_id": "m1", "text": ["xin", "chào"]}},
        {"event_name": "user_submit_info", "info": "0912345678"},
        {"event_name": "follow", "follower": [1]},
    ],
)
async def test_signed_events_of_the_wrong_shape_are_a_400(bot, zalo, user, change, caplog):
    event = {**user.text_event("xin chào"), **change}
    assert await user.post(event) == 400  # not a 500 that Zalo would retry for 12 hours
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_nul_and_invisible_characters_are_taken_out_on_both_databases(zalo, dispatcher, core):
    """Issue 19: U+0000 broke PostgreSQL's JSON ("Xin lỗi" every time, Zalo 500 forever)."""
    running = await RunningBot(zalo, dispatcher, core).start()
    person = running.user("1000000000000000002")
    try:
        await person.act(person.event("follow"))
        texts = await person.send("Nguy\x00ễn\u200b Thị\u202e Hoa\x00")
        assert "Bạn sinh năm nào?" in texts[-1]
        texts = await person.send("¹⁹⁸⁴")  # superscript digits read as the year
        assert "Giới tính" in texts[-1]
        state = await dispatcher.db.run(
            lambda conn: conn.execute(select(Conversation.state)).scalar_one()
        )
        assert state["draft"]["name"] == "Nguyễn Thị Hoa"
        assert state["draft"]["birth_year"] == 1984
    finally:
        await person.close()
        await running.stop()


async def test_receipts_and_unknown_events_are_acknowledged_and_ignored(bot, zalo, user):
    for name in ("user_received_message", "user_seen_message", "oa_send_text", "whatever"):
        assert await user.post(user.event(name, message={"msg_id": "r1"})) == 200
    await asyncio.sleep(0.1)
    assert user.messages == []


async def test_a_duplicate_msg_id_is_processed_once(bot, zalo, user):
    await user.act(user.event("follow"))
    event = user.text_event("Phạm Văn Dũng", msg_id="dup-1")
    texts = await user.act(event)
    assert texts[-1].startswith("Bạn sinh năm nào?")
    # Zalo delivers it again (its answer was late): nothing new is sent or saved.
    assert await user.post(event) == 200
    await user.post(event)
    await asyncio.sleep(0.3)
    await user.settle()
    assert user.texts_since(len(user.messages) - 1) == texts[-1:]
    assert len(await rows(bot.dispatcher.db, select(ProcessedEvent.id))) == 2
    # Concurrent copies of a new message: one handling.
    twin = user.text_event("1988", msg_id="dup-2")
    before = len(user.messages)
    statuses = await asyncio.gather(*(user.post(twin) for _ in range(5)))
    assert statuses == [200] * 5
    await user.settle(before)
    assert len(user.messages) == before + 1
    assert len(await rows(bot.dispatcher.db, select(ProcessedEvent.id))) == 3


# --- follow and unfollow -------------------------------------------------------------------


async def test_unfollow_marks_the_account_unreachable_and_stops_messages(bot, zalo, user):
    await user.act(user.event("follow"))
    await user.post(user.event("unfollow"))
    await asyncio.sleep(0.2)
    assert await bot.dispatcher.is_unreachable("zalo", user.id)
    assert await bot.channel.cost(user.id) is Cost.NONE
    bot.channel.send(user.id, [Reply("text", "Nhắc nhở")])
    await asyncio.sleep(0.2)
    assert user.messages[-1]["text"] != "Nhắc nhở"
    assert bot.channel.health["not_sent_without_quota"] == 0  # not a quota problem
    # Following again and writing: reachable again.
    await user.act(user.event("follow"))
    assert not await bot.dispatcher.is_unreachable("zalo", user.id)


# --- tokens ----------------------------------------------------------------------------


async def test_an_expired_token_mid_conversation_is_refreshed_once(bot, zalo, user):
    await user.act(user.event("follow"))
    await user.send("Đỗ Thị Lan")
    zalo.expire_access_tokens()  # Zalo now answers -216
    texts = await user.send("1992")
    assert texts[-1].startswith("Bạn là:") or "Nam" in texts[-1]
    assert zalo.refreshes == 2
    assert zalo.counts["send 200 -216"] == 1
    # The new tokens are in the database (the old refresh token is spent).
    ((access, refresh),) = await rows(
        bot.dispatcher.db, select(ChannelToken.access_token, ChannelToken.refresh_token)
    )
    # Sealed (issue 19): whoever reads the database does not get working tokens.
    assert access.startswith("fernet:") and refresh.startswith("fernet:")
    assert "access-2" not in access and "refresh-2" not in refresh
    sealer = bot.channel.tokens.sealer
    assert (sealer.open(access), sealer.open(refresh)) == ("access-2", "refresh-2")
    assert zalo.refresh_tokens == {"refresh-2"}


async def test_a_failed_refresh_is_reported_and_the_bot_recovers(bot, zalo, user, caplog):
    await user.act(user.event("follow"))
    bot.channel.tokens.RETRY_AFTER_FAILURE = 0.0
    zalo.expire_access_tokens()
    zalo.fail("refresh", status=200, code=-14014, times=1)
    zalo.fail("refresh", status=502, times=20)
    bot.channel.MAX_ATTEMPTS = 2
    with caplog.at_level(logging.ERROR):
        await user.send("Vũ Văn Nam", wait=False)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if bot.channel.idle:
                break
    assert "Zalo access token refresh failed" in caplog.text
    assert "Vũ" not in caplog.text  # no personal data in the log
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{bot.server.port}/healthz") as resp:
            assert resp.status == 503
            health = await resp.json()
    assert health["zalo"]["ok"] is False and "refresh failed" in health["zalo"]["token"]
    # Zalo works again: the next message refreshes, and health is back.
    zalo.failures.clear()
    texts = await user.send("1980")
    assert texts
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{bot.server.port}/healthz") as resp:
            assert resp.status == 200


async def test_three_processes_never_spend_the_refresh_token_twice(zalo, db, clock):
    """Three token keepers, each with its own engine as three processes would have."""
    settings = settings_for(zalo)
    zalo.refresh_delay = 0.2
    engines = [db, Database(db.url), Database(db.url)]
    apis = [ZaloApi(settings) for _ in engines]
    keepers = [ZaloTokens(e, api, clock) for e, api in zip(engines, apis, strict=True)]
    try:
        tokens = await asyncio.gather(*(k.access_token() for k in keepers))
        assert tokens == ["access-1"] * 3 and zalo.refreshes == 1
        zalo.expire_access_tokens()  # all get -216 with the same token at once
        renewed = await asyncio.gather(*(k.refresh("access-1") for k in keepers))
        assert renewed == ["access-2"] * 3 and zalo.refreshes == 2
    finally:
        for api in apis:
            await api.close()
        for e in engines[1:]:
            await e.dispose()


async def test_a_new_configured_refresh_token_replaces_the_stored_one(
    zalo, sqlite_dispatcher, core
):
    first = await RunningBot(zalo, sqlite_dispatcher, core).start()
    await first.stop()
    zalo.refresh_tokens.add("re-authorised")
    zalo.expire_access_tokens()
    again = await RunningBot(zalo, sqlite_dispatcher, core, refresh_token="re-authorised").start()
    try:
        assert again.channel.tokens._cached.refresh_token == "refresh-2"
        assert "re-authorised" not in zalo.refresh_tokens  # spent, replaced by refresh-2
    finally:
        await again.stop()


async def test_a_refused_refresh_token_at_start_is_a_setup_error(zalo, sqlite_dispatcher, core):
    running = RunningBot(zalo, sqlite_dispatcher, core, refresh_token="wrong")
    with pytest.raises(SetupError, match="Invalid refresh token"):
        await running.start()
    await running.stop()


# --- sending failures, windows and quota ---------------------------------------------


async def test_5xx_then_success(bot, zalo, user):
    await user.act(user.event("follow"))
    zalo.fail("send", status=502, times=2)
    texts = await user.send("Hoàng Văn Tư")
    assert texts == [user.last["text"]] and texts[-1].startswith("Bạn sinh năm nào?")
    assert zalo.counts["send 502 0"] == 2


async def test_a_message_zalo_refuses_is_logged_and_skipped(bot, zalo, user, caplog):
    await user.act(user.event("follow"))
    zalo.fail("send", code=-201, times=1)
    with caplog.at_level(logging.ERROR):
        await user.send("Ngô Thị Bé", wait=False)
        await asyncio.sleep(0.3)
    assert "Zalo refused a message (error -201" in caplog.text
    texts = await user.send("1999")  # the conversation goes on
    assert texts


async def test_the_window_and_the_monthly_quota(zalo, sqlite_dispatcher, core, clock):
    running = await RunningBot(zalo, sqlite_dispatcher, core, monthly_quota=2).start()
    person = running.user("42")
    channel = running.channel
    try:
        assert await channel.cost("42") is Cost.QUOTA  # never wrote: proactive
        await person.act(person.event("follow"))
        assert await channel.cost("42") is Cost.FREE
        # 8 messages in the window are free; the 9th is proactive.
        for n in range(8 - len(person.messages)):
            channel.send("42", [Reply("text", f"tin {n}")])
        await person.settle()
        assert len(person.messages) == 8
        assert await channel.cost("42") is Cost.QUOTA
        # 48 hours later: proactive, from the monthly quota of 2, then nothing.
        clock.current += timedelta(hours=49)
        channel.send("42", [Reply("text", "nhắc 1")])
        channel.send("42", [Reply("options", "nhắc 2", (Option("a", "A"),))])
        await person.settle()
        assert [m["text"][:6] for m in person.messages[-2:]] == ["nhắc 1", "nhắc 2"]
        assert await channel.cost("42") is Cost.NONE
        before = len(person.messages)
        channel.send("42", [Reply("text", "nhắc 3")])
        await asyncio.sleep(0.2)
        assert len(person.messages) == before  # never over the quota
        assert channel.health["not_sent_without_quota"] == 1
        # A message from the person opens the window again.
        await person.send("/start")
        assert await channel.cost("42") is Cost.FREE
        # Next month the quota starts again.
        clock.current += timedelta(days=31)
        assert await channel.cost("42") is Cost.QUOTA
    finally:
        await person.close()
        await running.stop()


async def test_the_quota_holds_with_concurrent_senders(zalo, dispatcher, clock):
    """On both databases: 20 bookings at once against a quota of 5 give exactly 5."""
    db = dispatcher.db
    rules = WindowRules(monthly_quota=5)
    now = clock.now()
    costs = await asyncio.gather(
        *(
            db.run(lambda conn, n=n: store.reserve(conn, "zalo", f"u{n}", rules, now)[0])
            for n in range(20)
        )
    )
    assert costs.count(Cost.QUOTA) == 5 and costs.count(Cost.NONE) == 15


# --- restarts ----------------------------------------------------------------------------


async def test_accepted_events_are_handled_after_a_crash(
    zalo, sqlite_dispatcher, core, clock, monkeypatch
):
    """The process died after answering 200 and before handling: the inbox still has the
    events, and the next start handles every one (read page by page)."""
    monkeypatch.setattr(ZaloChannel, "PAGE", 2)
    people = [ZaloUser(zalo, "", str(77 + n)) for n in range(5)]
    db = sqlite_dispatcher.db
    deliveries = [
        store.Delivered(incoming(e).key, e, p.id) for p in people for e in [p.event("follow")]
    ]
    stored = await db.run(lambda conn: store.accept(conn, "zalo", deliveries, clock.now()))
    assert None not in stored
    running = await RunningBot(zalo, sqlite_dispatcher, core).start()
    try:
        for person in people:
            await person.settle(0)
            assert len(person.messages) == 1
            assert person.last["text"].endswith("Họ và tên của bạn là gì?")
        await running.channel._handled.flush()
        assert await rows(db, select(InboundEvent.id)) == []
    finally:
        await running.stop()


async def test_answers_not_sent_before_a_stop_go_out_at_the_next_start(
    zalo, sqlite_dispatcher, core
):
    running = await RunningBot(zalo, sqlite_dispatcher, core).start()
    person = running.user("78")
    await person.act(person.event("follow"))
    zalo.fail("send", status=503, times=100)
    running.channel.MAX_ATTEMPTS = 1
    await person.send("Bùi Thị Thu", wait=False)
    await asyncio.sleep(0.3)
    await running.stop()
    zalo.failures.clear()
    again = await RunningBot(zalo, sqlite_dispatcher, core).start()
    try:
        await person.settle(1)
        assert person.last["text"].startswith("Bạn sinh năm nào?")
    finally:
        await person.close()
        await again.stop()


# --- pure helpers ------------------------------------------------------------------------


def test_signature_matches_zalos_formula():
    body = b'{"app_id":"1","timestamp":"2"}'
    import hashlib

    expected = "mac=" + hashlib.sha256(b"1" + body + b"2" + b"key").hexdigest()
    assert signature("1", body, "2", "key") == expected


def test_button_payload_round_trip():
    assert parse_button(button_payload(7, "a2", "Thường xuyên")) == (7, "a2", "Thường xuyên")
    assert parse_button("xin chào") is None
    assert parse_button("#cdht|x|a1|A") == (None, "a1", "A")


def test_long_texts_are_split_and_buttons_stay_on_the_last_part(core):
    lang = core.langs["vi"]
    long = Reply(
        "options", ("Một câu dài. " * 400).strip(), (Option("a", "A"), Option("b", "B")), 3
    )
    messages = render([Reply("text", "Cảm ơn!"), long], lang)
    assert len(messages) >= 3
    assert all(0 < len(m["text"]) <= MAX_TEXT for m in messages)
    assert "attachment" not in messages[0] and "attachment" in messages[-1]
    assert messages[0]["text"].startswith("Cảm ơn!")


# --- `cdht run` with Zalo settings -----------------------------------------------------


async def _run_bot_process(zalo: FakeZalo, tmp_path, **extra: str):
    env = {
        **os.environ,
        "ZALO_APP_ID": APP_ID,
        "ZALO_APP_SECRET": APP_SECRET,
        "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "ZALO_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        "ZALO_OAUTH_BASE_URL": zalo.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "CDHT_HOST": "127.0.0.1",
        "PORT": "0",
        "CDHT_CAMPAIGN_YEAR": "2026",
        **extra,
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_cdht_run_serves_the_oa(zalo, tmp_path):
    proc = await _run_bot_process(zalo, tmp_path)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "Bot đang chạy trên Zalo (webhook)" in line, line
        port = int(re.search(r":(\d+)/healthz", line).group(1))
        person = ZaloUser(zalo, f"http://127.0.0.1:{port}{PATH}", "5550001")
        texts = await person.act(person.event("follow"))
        assert texts[-1].endswith("Họ và tên của bạn là gì?")
        texts = await person.send("Nguyễn Thị Hoa")
        assert texts[-1].startswith("Bạn sinh năm nào?")
        await person.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "Nguyễn" not in log and "Họ và tên" not in log
    assert "access-1" not in log and "refresh-" not in log and APP_SECRET not in log


async def test_cdht_run_with_a_refused_refresh_token_says_so(zalo, tmp_path):
    proc = await _run_bot_process(zalo, tmp_path, ZALO_REFRESH_TOKEN="expired-long-ago")
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "ZALO_REFRESH_TOKEN" in err.decode()


async def test_a_burst_is_stored_in_one_go_with_repeats_dropped(db, clock):
    """On both databases: keys repeated in a burst, or already waiting, give None."""
    now = clock.now()
    burst = [
        store.Delivered("m1", {"n": 1}, "u1"),
        store.Delivered("m2", {"n": 2}, "u1"),
        store.Delivered("m1", {"n": 1}, "u1"),
        store.Delivered("f1", {"n": 3}, None),
    ]
    ids = await db.run(lambda conn: store.accept(conn, "zalo", burst, now))
    assert ids[0] is not None and ids[1] is not None and ids[3] is not None
    assert ids[2] is None and len(set(ids) - {None}) == 3
    again = await db.run(
        lambda conn: store.accept(conn, "zalo", [store.Delivered("m2", {}, "u1")], now)
    )
    assert again == [None]
    waiting = await db.run(lambda conn: store.waiting(conn, "zalo"))
    assert [w.payload["n"] for w in waiting] == [1, 2, 3]
    window = await db.run(lambda conn: store.window(conn, "zalo", "u1", WindowRules(), now))
    assert window.last_inbound_at == now and window.cost is Cost.FREE


async def test_handled_but_unsent_and_still_in_the_inbox_is_sent_once(
    zalo, sqlite_dispatcher, core, clock
):
    """The process died after committing an event and before sending its answer or
    clearing the inbox: at the next start the answer goes out once, not twice."""
    person = ZaloUser(zalo, "", "79")
    event = person.event("follow")
    key = incoming(event).key
    db = sqlite_dispatcher.db
    await db.run(
        lambda conn: store.accept(conn, "zalo", [store.Delivered(key, event, "79")], clock.now())
    )
    from flows.model import Event

    await sqlite_dispatcher.handle("zalo", "79", Event.from_text("/start", event_id=key))
    zalo.fail("send", delay=0.3)  # the re-sent answer is still on its way meanwhile
    running = await RunningBot(zalo, sqlite_dispatcher, core).start()
    try:
        await person.settle(0)
        await asyncio.sleep(0.3)
        assert len(person.messages) == 1, person.messages
        assert person.last["text"].endswith("Họ và tên của bạn là gì?")
    finally:
        await running.stop()


async def test_numeric_64_bit_ids_keep_every_digit(bot, zalo):
    """Zalo's ids are 64-bit; sent as JSON numbers they must not pass through a float."""
    stamp = str(int(bot.dispatcher.clock.now().timestamp() * 1000))
    raw = (
        b'{"app_id": "' + APP_ID.encode() + b'", "event_name": "follow", '
        b'"timestamp": ' + stamp.encode() + b', "follower": {"id": 9007199254740993123}}'
    )
    headers = {"X-ZEvent-Signature": sign(raw, APP_ID, stamp)}
    person = bot.user("9007199254740993123")
    try:
        assert await person.post_raw(raw, headers) == 200
        await person.settle(0)
        assert person.last["text"].endswith("Họ và tên của bạn là gì?")
        ((external_id,),) = await rows(bot.dispatcher.db, select(ChannelAccount.external_id))
        assert external_id == "9007199254740993123"
    finally:
        await person.close()


async def test_the_token_is_refreshed_before_it_expires(bot, zalo, user, clock):
    await user.act(user.event("follow"))
    assert zalo.refreshes == 1
    clock.current += timedelta(seconds=zalo.lifetime) - timedelta(minutes=20)
    await user.send("Đặng Văn Sơn")
    assert zalo.refreshes == 2  # ahead of expiry: Zalo never had to refuse the old one
    assert zalo.counts["send 200 -216"] == 0


async def test_zalo_unreachable_at_start_is_not_fatal(zalo, sqlite_dispatcher, core):
    """A network failure is not a wrong credential: the bot serves the webhook (events are
    stored) and reports the problem in /healthz until Zalo answers."""
    running = RunningBot(zalo, sqlite_dispatcher, core, oauth_base_url="http://127.0.0.1:9")
    await running.start()
    try:
        assert running.channel.health["ok"] is False
        assert "refresh failed" in running.channel.health["token"]
        person = running.user("91")
        assert await person.post(person.event("follow")) == 200
        await person.close()
    finally:
        await running.stop()


async def test_an_answer_waits_out_a_passing_refresh_failure(bot, zalo, user):
    await user.act(user.event("follow"))
    bot.channel.tokens.RETRY_AFTER_FAILURE = 0.0
    zalo.expire_access_tokens()
    zalo.fail("refresh", status=502, times=2)
    texts = await user.send("Trịnh Văn An")  # the same answer, once the token is back
    assert texts[-1].startswith("Bạn sinh năm nào?")
    assert zalo.counts["refresh 502 0"] == 2 and bot.channel.health["ok"] is True


async def test_a_reminder_on_zalo_is_free_inside_the_window(bot, zalo, user, clock):

    await user.act(user.event("follow"))
    await user.send("Mai Văn Hùng")  # then silence, on the year-of-birth question
    clock.current += timedelta(hours=24)
    before = len(user.messages)
    assert await scheduler_beside(bot.dispatcher, {"zalo": bot.channel}).tick() == 1
    await user.settle(before)
    nudge = user.last
    assert "chưa đăng ký xong" in nudge["text"]
    assert user.labels(nudge) == ["1. Làm tiếp từ chỗ đã dừng", "2. Không nhắc nữa"]
    assert bot.channel.health["not_sent_without_quota"] == 0
    # Free: inside the 48-hour window (nothing spent from the monthly quota).
    window = await bot.dispatcher.db.run(
        lambda conn: store.window(conn, "zalo", user.id, WindowRules(), clock.now())
    )
    assert window.quota_used == 0
    texts = await user.tap("Làm tiếp")
    assert texts[-1].endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")


async def _make_admin(bot: RunningBot, user: ZaloUser, code: str) -> None:
    from flows.places import Area
    from storage import invites

    now = bot.dispatcher.clock.now()
    await bot.dispatcher.db.run(
        lambda conn: invites.new_invite(
            conn, code, "admin", Area(1), now, now + timedelta(hours=72)
        )
    )
    texts = await user.send(f"/quantri {code}")
    assert any("Bạn đã là quản trị viên của Thành phố Hà Nội" in t for t in texts)


async def test_a_zalo_admin_gets_the_chart_as_an_image_and_the_export_by_link(
    zalo, sqlite_dispatcher, core, clock
):
    import openpyxl

    running = await RunningBot(zalo, sqlite_dispatcher, core, links=True).start()
    admin = running.user("7771")
    http = aiohttp.ClientSession()
    try:
        await _make_admin(running, admin, "ZLADMIN1")
        before = len(admin.messages)
        texts = await admin.send("/thongke")
        assert any("Đã đăng ký: 0" in t for t in texts)
        [chart] = admin.images_since(before)  # uploaded, then shown as an image
        assert chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 2000
        assert zalo.counts["upload 200 0"] == 1
        # The export: a link to our web server, since the OA cannot send a spreadsheet.
        texts = await admin.send("/baocao")
        [link] = re.findall(r"http://127\.0\.0\.1:\d+/files/\S+", texts[-1])
        assert "📎 cdht-province-1-2026-11-23.xlsx: tải về trong 24 giờ" in texts[-1]
        async with http.get(link) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"] == (
                'attachment; filename="cdht-province-1-2026-11-23.xlsx"'
            )
            book = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True)
            assert book.sheetnames == ["Theo xã, phường", "Chỉ số"]
        texts = await admin.send("/baocao csv")
        [csv_link] = re.findall(r"http://\S+", texts[-1])
        async with http.get(csv_link) as response:
            assert response.headers["Content-Type"].startswith("text/csv")
            assert (await response.read()).startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
        # The commune's named list names people: a link for an hour, with a warning.
        texts = await admin.send("/baocao danhsach Hoàn Kiếm")
        assert "không chuyển cho người khác" in texts[-2]
        [named_link] = re.findall(r"http://\S+", texts[-1])
        assert "tải về trong vòng 60 phút" in texts[-1] and "thông tin cá nhân" in texts[-1]
        async with http.get(named_link) as response:
            book = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True)
            assert book.sheetnames == ["Danh sách trích ngang"]
        clock.current += timedelta(hours=1, minutes=1)
        async with http.get(named_link) as response:
            assert response.status == 404
        # A made-up link, and a link a day later: a plain explanation, no file.
        async with http.get(link[:-4] + "xxxx") as response:
            assert response.status == 404
            assert "Liên kết này đã hết hạn hoặc không có" in await response.text()
        clock.current += timedelta(hours=24, minutes=1)
        async with http.get(link) as response:
            assert response.status == 404
        # The morning digest comes as text and its chart, once.
        clock.current = clock.current.replace(hour=0, minute=30)  # 07:30 in Vietnam
        before = len(admin.messages)
        scheduler = scheduler_beside(running.dispatcher, {"zalo": running.channel})
        assert await scheduler.tick() == 1
        await admin.settle(before)
        assert any("📊 Công dân học tập, ngày 24/11/2026" in t for t in admin.texts_since(before))
        assert len(admin.images_since(before)) == 1
        assert await scheduler.tick() == 0
    finally:
        await http.close()
        await admin.close()
        await running.stop()


async def test_without_a_public_address_or_when_zalo_refuses_the_image_a_note_says_so(
    bot, zalo, clock
):
    admin = bot.user("7772")
    try:
        await _make_admin(bot, admin, "ZLADMIN2")
        texts = await admin.send("/baocao")
        assert texts[-1] == (
            "Tệp cdht-province-1-2026-11-23.xlsx chưa gửi được qua Zalo: bạn lấy tệp trên "
            "Telegram hoặc bằng lệnh cdht trên máy chủ."
        )
        zalo.fail("upload", code=-210)
        before = len(admin.messages)
        texts = await admin.send("/thongke")
        assert any("Đã đăng ký: 0" in t for t in texts)
        assert "Tệp cdht-province-1-2026-11-23.png chưa gửi được qua Zalo" in texts[-1]
        assert admin.images_since(before) == []
        zalo.fail("upload", status=502, times=1)  # passing: retried, then shown
        before = len(admin.messages)
        await admin.send("/thongke")
        assert len(admin.images_since(before)) == 1
    finally:
        await admin.close()


def test_files_become_attachments_after_their_text(core):
    lang = core.langs["vi"]
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    out = render(
        [Reply("text", "Số liệu"), Reply("file", "", file_name="a.png", file_data=png)], lang
    )
    assert out[0] == {"text": "Số liệu"}
    assert out[1].name == "a.png" and out[1].image
    big = render([Reply("file", "", file_name="b.png", file_data=png * 20000)], lang)
    assert not big[0].image  # over the OA's 1 MB: offered like any other file
    sheet = render([Reply("file", "", file_name="c.xlsx", file_data=b"PK")], lang)
    assert not sheet[0].image


async def test_a_file_offered_by_link_is_kept_a_day_on_both_databases(db, clock):
    now, day = clock.now(), timedelta(hours=24)
    blob = bytes(range(256)) * 40  # binary, with every byte value
    await db.run(lambda conn: downloads.offer_download(conn, "h1", "a.xlsx", blob, now, now + day))
    assert await db.run(lambda conn: downloads.download(conn, "h1", now)) == ("a.xlsx", blob)
    assert await db.run(lambda conn: downloads.download(conn, "h2", now)) is None
    later = now + day
    assert await db.run(lambda conn: downloads.download(conn, "h1", later)) is None
    # The next file offered lets the expired ones go.
    await db.run(
        lambda conn: downloads.offer_download(conn, "h2", "b.csv", b"x", later, later + day)
    )
    names = await rows(db, select(Download.file_name))
    assert names == [("b.csv",)]
