"""The Telegram channel end to end: the real python-telegram-bot stack talks HTTP to a fake
Bot API server on 127.0.0.1 (tests/fake_telegram.py), in polling and in webhook mode, with
a real database behind the dispatcher."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import signal
import sys
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.pacing import Throttle, TokenBucket
from bot.channels.telegram.render import (
    MAX_CALLBACK_DATA,
    MAX_TEXT,
    callback_data,
    parse_callback_data,
)
from bot.channels.text import split_text
from bot.config import TelegramSettings
from bot.dispatcher import Dispatcher
from bot.server import WebServer
from storage.db import Database
from storage.models import Answer, Assessment, ChannelAccount, Person
from tests.chat import scheduler_beside
from tests.fake_telegram import BOT_USER, FakeTelegram, FakeUser

SECRET = "test-secret_123"


class RunningBot:
    """Our bot (PTB application + web server) pointed at the fake Bot API."""

    read_timeout = 60.0  # the bot's own: a slow send is waited for, not sent again

    def __init__(self, tg: FakeTelegram, dispatcher: Dispatcher, core, webhook: bool) -> None:
        self.tg, self.dispatcher, self.core, self.webhook = tg, dispatcher, core, webhook

    async def start(self) -> RunningBot:
        settings = TelegramSettings(
            token=self.tg.token,
            api_base_url=self.tg.url,
            webhook_url="http://127.0.0.1:1/telegram/hook" if self.webhook else "",
            webhook_secret=SECRET if self.webhook else "",
            max_per_second=0,
            max_per_chat_per_second=0,
        )
        self.channel = TelegramChannel(
            settings,
            self.dispatcher,
            self.core.langs,
            self.core.default_lang,
            read_timeout=self.read_timeout,
        )
        self.channel.FIRST_BACKOFF = 0.01  # retries without waiting seconds in tests
        self.tg.bot_idle = lambda: self.channel.idle  # replies are complete when it is idle
        self.server = WebServer(self.dispatcher.db, [("telegram", self.channel)], "127.0.0.1", 0)
        port = await self.server.start()
        if self.webhook:
            self.channel.settings = dataclasses.replace(
                settings, webhook_url=f"http://127.0.0.1:{port}/telegram/hook"
            )
        await self.channel.start()
        return self

    async def stop(self) -> None:
        await self.channel.stop()
        await self.server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(params=["polling", "webhook"])
async def bot(request, tg, sqlite_dispatcher, core):
    running = await RunningBot(tg, sqlite_dispatcher, core, request.param == "webhook").start()
    yield running
    await running.stop()


@pytest.fixture
async def polling_bot(tg, sqlite_dispatcher, core):
    running = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    yield running
    await running.stop()


@pytest.fixture
async def webhook_bot(tg, sqlite_dispatcher, core):
    running = await RunningBot(tg, sqlite_dispatcher, core, webhook=True).start()
    yield running
    await running.stop()


async def to_phone(user: FakeUser, name: str = "Nguyễn Thị Hoa", group: str = "Nông dân") -> None:
    """Registration up to the phone question."""
    await user.send("/start")
    await user.send(name)
    await user.send("1984")
    await user.tap("Nữ")
    await user.tap(group)
    await user.send("ha noi")
    await user.send("hoan kiem")
    await user.send("Tổ 5")


async def register(user: FakeUser) -> None:
    await to_phone(user)
    await user.share_contact()
    await user.tap("Đúng rồi")


async def rows(db: Database, statement):
    return await db.run(lambda conn: conn.execute(statement).all())


# --- the whole journey -----------------------------------------------------------------


async def _whole_assessment(tg: FakeTelegram, bot: RunningBot, db: Database) -> None:
    user = FakeUser(tg, 501)
    await register(user)
    assert "Bạn muốn làm gì tiếp?" in user.last["text"]
    await user.tap("Bắt đầu tự đánh giá")
    for n in range(1, 11):
        question = user.keyboard_message
        assert f"Câu {n}/10 ·" in question["text"]
        label = user.labels()[n % 4]  # a mix of answers
        await user.tap(label)
        # The answered question now shows the whole answer and has no buttons left.
        answered = user.chat.messages[question["message_id"]]
        assert "reply_markup" not in answered
        number = label.split(" ")[0]  # long answers: "2. Vài lần…", listed in the message
        listed = [line for line in question["text"].splitlines() if line.startswith(number)]
        full = listed[0].removeprefix(number + " ") if listed else label
        assert answered["text"].endswith("✓ " + full)
    assert "Xin xem lại các câu trả lời" in user.keyboard_message["text"]
    assert "Sau khi gửi, bạn không sửa được câu trả lời nữa" in user.keyboard_message["text"]
    texts = await user.tap("Gửi kết quả")
    assert any("Kết quả tự đánh giá năm 2026" in t for t in texts)
    texts = await user.send("/ketqua")  # where it stands, with what to do next
    assert any("Đang chờ xã, phường xét" in t or "tự đánh giá lại vào năm sau" in t for t in texts)
    # Only the menu still has buttons: every earlier question was answered or retired.
    assert [m for m in user.bot_messages if "reply_markup" in m] == [user.keyboard_message]
    (status,) = (await rows(db, select(Assessment.status)))[0]
    assert status == "submitted"
    assert len(await rows(db, select(Answer.indicator))) == 10
    # Every API call succeeded and every button fits Telegram's 64 bytes.
    assert all(c.status == 200 for c in tg.calls)
    for call in tg.calls_to("sendMessage"):
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            assert all(len(b["callback_data"].encode()) <= MAX_CALLBACK_DATA for b in row)


async def test_whole_assessment(bot, tg):
    await _whole_assessment(tg, bot, bot.dispatcher.db)
    answers = tg.calls_to("answerCallbackQuery")
    assert len(answers) == 15  # every tap was answered once (spinner gone)
    if bot.webhook:
        assert tg.webhook_deliveries and all(d.status == 200 for d in tg.webhook_deliveries)
        # ...in the HTTP answer to the webhook call: one Bot API request fewer per tap.
        assert all(c.params.get("in_webhook_response") for c in answers)
    else:
        assert tg.calls_to("getUpdates")
        assert not any(c.params.get("in_webhook_response") for c in answers)


async def test_whole_assessment_on_both_databases(tg, dispatcher, core):
    """The same journey on SQLite and PostgreSQL (the `dispatcher` fixture runs both)."""
    running = await RunningBot(tg, dispatcher, core, webhook=True).start()
    try:
        await _whole_assessment(tg, running, dispatcher.db)
    finally:
        await running.stop()


async def test_a_restart_loses_nothing(tg, sqlite_dispatcher, core):
    user = FakeUser(tg, 502)
    first = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    await user.send("/start")
    await user.send("Trần Văn Bình")
    await first.stop()
    second = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    try:
        texts = await user.send("1990")
        assert "Giới tính" in texts[-1]
    finally:
        await second.stop()


async def test_commands_menu_in_vietnamese_and_english(bot, tg):
    default, english = tg.commands[None], tg.commands["en"]
    assert [c["command"] for c in default] == [
        "start",
        "help",
        "language",
        "result",
        "restart",
        "delete",
        "reminders",
        "family",
        "unit",
    ]
    assert default[0]["description"] == "bắt đầu, hoặc làm tiếp từ chỗ đã dừng"
    assert english[0]["description"] == "start, or continue where you stopped"


async def test_deep_link_fills_in_the_commune(bot, tg):
    from bot.posters import telegram_link

    user = FakeUser(tg, 503)
    # What Telegram sends when the poster's QR code (tests/test_posters.py) is scanned.
    payload = telegram_link("cdht_test_bot", 70).split("?start=")[1]
    await user.send(f"/start {payload}")
    await user.send("Lê Thị Cúc")
    await user.send("1970")
    await user.tap("Nữ")
    texts = await user.tap("Nông dân")
    # Province and commune came from the link: the next question is the village.
    assert "thôn, xóm" in texts[-1]


async def test_an_old_commune_name_offers_the_new_commune(bot, tg):
    user = FakeUser(tg, 570)
    for text in ("/start", "Trần Văn Đài", "1950"):
        await user.send(text)
    await user.tap("Nam")
    await user.tap("Nông dân")
    await user.send("ha giang")  # merged into Tuyên Quang in 2025
    texts = await user.send("xyz")
    assert "Từ ngày 1/7/2025 nhiều xã, phường đã sáp nhập" in texts[-1]
    await user.tap("Chọn tỉnh, thành phố khác")
    await user.send("ha tinh")
    texts = await user.send("thach dai")
    assert (
        "Xã Thạch Đài (cũ), thuộc Thành phố Hà Tĩnh (cũ), nay thuộc Phường Hà Huy Tập." in texts[-1]
    )
    texts = await user.tap("Phường Hà Huy Tập")
    assert "thôn, xóm" in texts[-1]


async def test_a_retired_person_finds_their_group(bot, tg):
    user = FakeUser(tg, 571)
    for text in ("/start", "Lê Văn Tư", "1958"):
        await user.send(text)
    await user.tap("Nam")
    texts = await user.tap("Tôi không biết chọn nhóm nào")
    assert "• Nhóm 1: nông dân" in texts[-1]
    texts = await user.send("tôi về hưu rồi")
    assert "phù hợp với Nhóm 1: Nông dân, người dân ở xã, phường" in texts[-1]
    texts = await user.tap("Nhóm 1")
    assert "tỉnh" in texts[-1].lower()


async def test_unknown_deep_link_gives_a_normal_start(bot, tg):
    user = FakeUser(tg, 504)
    texts = await user.send("/start not-a-commune")
    assert "Họ và tên của bạn là gì?" in texts[-1]


# --- buttons ---------------------------------------------------------------------------


async def test_a_stale_button_gets_a_notice_and_the_current_question(bot, tg):
    user = FakeUser(tg, 505)
    await register(user)
    await user.tap("Bắt đầu tự đánh giá")
    first = dict(user.keyboard_message)  # what an out-of-date phone would still show
    await user.tap(user.labels()[0])
    current = user.keyboard_message
    assert current["text"].startswith("Câu 2/10")
    texts = await user.tap(user.labels(first)[1], message=first)
    assert "câu hỏi trước" in user.toast()
    assert texts[-1].startswith("Câu 2/10")  # asked again
    # The old tap changed nothing: question 1 keeps its first answer.
    answers = await rows(bot.dispatcher.db, select(Answer.indicator, Answer.option_index))
    assert answers == [("1.1", 0)]
    # Only the newest copy of the question keeps its buttons.
    assert "reply_markup" not in user.chat.messages[current["message_id"]]


async def test_a_double_tap_counts_once_and_says_nothing(bot, tg):
    user = FakeUser(tg, 519)
    await register(user)
    await user.tap("Bắt đầu tự đánh giá")
    question = dict(user.keyboard_message)  # the phone still shows the buttons...
    label = user.labels()[0]
    await user.tap(label)
    count = len(user.bot_messages)
    data = next(b["callback_data"] for b in user.buttons(question) if b["text"] == label)
    await user.tap_data(data, question, wait=False)  # ...so the finger lands twice
    await user.settle()
    assert len(user.bot_messages) == count
    assert user.toast() is None and user.last_query_id in tg.answered  # spinner stopped
    assert "Câu 2/10 ·" in user.keyboard_message["text"]
    answers = await rows(bot.dispatcher.db, select(Answer.indicator, Answer.option_index))
    assert answers == [("1.1", 0)]


@pytest.mark.parametrize("data", ["garbage", "99999|a0", "|a1", "x" * MAX_CALLBACK_DATA])
async def test_forged_callback_data_changes_nothing(bot, tg, data):
    user = FakeUser(tg, 506)
    await user.send("/start")
    await user.send("Phạm Văn Dũng")
    await user.send("1980")
    texts = await user.tap_data(data)
    assert user.toast()
    assert texts[-1].endswith("Giới tính của bạn:")
    assert not await rows(bot.dispatcher.db, select(Person.id))


async def test_a_typed_answer_retires_the_buttons_it_answers(bot, tg):
    user = FakeUser(tg, 507)
    await user.send("/start")
    await user.send("Phạm Văn Dũng")
    await user.send("1980")
    gender = user.keyboard_message
    await user.send("nam")
    assert "reply_markup" not in user.chat.messages[gender["message_id"]]
    assert user.labels()[0].startswith("1. Nhóm 1: Nông dân")


async def test_long_answers_are_listed_numbered_and_typed_numbers_work(bot, tg):
    user = FakeUser(tg, 572)
    await register(user)
    await user.tap("Bắt đầu tự đánh giá")
    question = user.keyboard_message
    # The answers are read in full in the message, the buttons carry numbers.
    assert "\n1. Hằng ngày hoặc hầu hết các ngày\n2. Vài lần mỗi tuần\n" in question["text"]
    assert "Bấm nút hoặc gõ 1, 2, 3, 4 hoặc 5." in question["text"]
    labels = user.labels()
    assert labels[0] == "1. Hằng ngày hoặc hầu hết các…" and labels[1] == "2. Vài lần mỗi tuần"
    assert all(len(label) <= 32 for label in labels)
    await user.tap("2.")
    # The answered question shows the whole answer.
    assert user.chat.messages[question["message_id"]]["text"].endswith("✓ Vài lần mỗi tuần")
    texts = await user.send("3")  # typed, as /help says
    assert "Câu 3/10" in texts[-1]


async def test_forgiving_year_and_going_back(bot, tg):
    user = FakeUser(tg, 573)
    await user.send("/start")
    await user.send("Phạm Văn Dũng")
    texts = await user.send("sinh 65")
    assert "Bạn sinh năm 1965, đúng không?" in texts[-1]
    await user.tap("Đúng")
    texts = await user.send("quay lại")
    assert "Bạn sinh năm nào?" in texts[-1]
    texts = await user.send("năm 1966")
    assert "Giới tính" in texts[-1]


async def test_short_labels_sit_two_to_a_row(bot, tg):
    user = FakeUser(tg, 508)
    await user.send("/start")
    await user.send("Phạm Văn Dũng")
    await user.send("1980")
    await user.tap("Nam")
    await user.tap("Nông dân")
    rows_ = user.keyboard_message["reply_markup"]["inline_keyboard"]
    assert len(rows_[0]) == 2 and rows_[0][0]["text"] == "Thành phố Hà Nội"


# --- phone -----------------------------------------------------------------------------


async def test_phone_is_shared_with_a_button_and_the_keyboard_goes_away(bot, tg):
    user = FakeUser(tg, 509)
    await to_phone(user, "Hoàng Thị Én", "Công nhân")
    keyboard = user.chat_keyboard
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    assert keyboard["keyboard"][0][0]["text"] == "📱 Chia sẻ số điện thoại"
    assert keyboard["keyboard"][1][0]["text"] == "Bỏ qua"
    texts = await user.share_contact("+84 912 345 678")
    assert user.chat_keyboard is None
    assert "• Số điện thoại: 0912345678" in "\n".join(texts)
    assert "Thông tin đã đúng chưa?" in user.keyboard_message["text"]


async def test_someone_elses_contact_is_refused(bot, tg):
    user = FakeUser(tg, 510)
    await to_phone(user, "Hoàng Thị Én", "Công nhân")
    texts = await user.share_contact("+84987654321", own=False)
    assert any("số điện thoại của chính bạn" in t for t in texts)
    assert user.chat_keyboard is not None  # asked again, with the button
    texts = await user.share_contact("+84912345678")
    assert "0912345678" in "\n".join(texts)


async def test_skip_on_the_phone_keyboard(bot, tg):
    user = FakeUser(tg, 511)
    await to_phone(user, "Hoàng Thị Én", "Công nhân")
    texts = await user.send("Bỏ qua")
    assert "• Số điện thoại: —" in "\n".join(texts)


# --- odd input -------------------------------------------------------------------------


async def test_a_huge_message_gets_a_short_answer(bot, tg):
    user = FakeUser(tg, 512)
    await user.send("/start")
    texts = await user.send("a" * 4096)
    assert any("quá dài" in t for t in texts)
    assert texts[-1].endswith("Họ và tên của bạn là gì?")


async def test_unknown_commands_and_stickers(bot, tg):
    user = FakeUser(tg, 513)
    await user.send("/start")
    texts = await user.send("/frobnicate now")
    assert any("/frobnicate" in t for t in texts)
    sticker = {"file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1}
    sticker.update(height=1, is_animated=False, is_video=False)
    texts = await user.send_content(sticker=sticker)
    assert any("chỉ đọc được chữ" in t for t in texts)
    assert texts[-1].endswith("Họ và tên của bạn là gì?")


async def test_duplicate_update_is_processed_once(bot, tg):
    user = FakeUser(tg, 514)
    await user.send("/start")
    message = tg.user_message(user.id, user.user, text="Vũ Văn Giang")
    update = {"update_id": 777001, "message": message}
    before = len(user.bot_messages)
    await tg.push(dict(update))
    await user.settle(before=before)
    count = len(user.bot_messages)
    await tg.push(dict(update))  # Telegram retries: same update_id
    await user.settle()
    assert len(user.bot_messages) == count
    assert len(tg.calls_to("sendMessage", user.id)) == count


async def test_group_chats_are_pointed_to_a_private_chat(bot, tg):
    group = tg.chat(-100123, "supergroup", "Thôn 5")
    member = {"id": 515, "is_bot": False, "first_name": "Hùng", "language_code": "en"}
    before = len(tg.calls_to("sendMessage"))
    # Plain chatter in the group, and commands for other bots, are ignored...
    await tg.push({"message": tg.user_message(group.id, member, text="hello everyone")})
    await tg.push({"message": tg.user_message(group.id, member, text="/start@other_bot")})
    # ...a command gets one pointer to the private chat, in the person's language.
    await tg.push({"message": tg.user_message(group.id, member, text="/start")})
    probe = FakeUser(tg, 515)
    probe.chat = group
    await probe.settle(before=0)
    sent = tg.calls_to("sendMessage")[before:]
    assert len(sent) == 1 and sent[0].params["chat_id"] == group.id
    assert "only talk in private chats" in sent[0].params["text"]
    assert "https://t.me/cdht_test_bot" in sent[0].params["text"]
    assert not await rows(bot.dispatcher.db, select(ChannelAccount.id))


async def test_being_added_to_a_group_is_answered_once(bot, tg):
    group = tg.chat(-100124, "group", "Hội khuyến học")
    adder = {"id": 516, "is_bot": False, "first_name": "Lan"}
    change = {
        "chat": {"id": group.id, "type": "group", "title": group.title},
        "from": adder,
        "date": 0,
        "old_chat_member": {"status": "left", "user": BOT_USER},
        "new_chat_member": {"status": "member", "user": BOT_USER},
    }
    await tg.push({"my_chat_member": change})
    probe = FakeUser(tg, 516)
    probe.chat = group
    await probe.settle(before=0)
    assert "Tôi chỉ trò chuyện riêng" in group.messages[1]["text"]


# --- sending: limits, retries, blocked -------------------------------------------------


async def test_429_waits_retry_after_then_sends(polling_bot, tg):
    user = FakeUser(tg, 520)
    tg.fail("sendMessage", 429, retry_after=1, description="Too Many Requests: retry after 1")
    await user.send("/start")
    attempts = tg.calls_to("sendMessage", user.id)
    assert [c.status for c in attempts[:2]] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert user.last["text"].endswith("Họ và tên của bạn là gì?")


async def test_5xx_is_retried_with_backoff(polling_bot, tg):
    user = FakeUser(tg, 521)
    tg.fail("sendMessage", 500, times=2, description="Internal Server Error")
    texts = await user.send("/start")
    assert [c.status for c in tg.calls_to("sendMessage", user.id)[:3]] == [500, 500, 200]
    assert texts[-1].endswith("Họ và tên của bạn là gì?")


async def test_a_timeout_is_retried(tg, sqlite_dispatcher, core):
    running = RunningBot(tg, sqlite_dispatcher, core, webhook=False)
    running.read_timeout = 0.3
    await running.start()
    try:
        user = FakeUser(tg, 522)
        tg.fail("sendMessage", 504, delay=1.0)  # answers long after the bot gave up
        texts = await user.send("/start")
        assert [c.status for c in tg.calls_to("sendMessage", user.id)[:2]] == [504, 200]
        assert texts[-1].endswith("Họ và tên của bạn là gì?")
    finally:
        await running.stop()


async def test_blocked_by_the_user(polling_bot, tg):
    user = FakeUser(tg, 523)
    await user.send("/start")
    tg.fail("sendMessage", 403, times=5, description="Forbidden: bot was blocked by the user")
    before = len(tg.calls_to("sendMessage", user.id))
    await user.send("Đỗ Thị Hạnh", wait=False)
    await user.settle()
    # One attempt, no retry, and the account is marked unreachable.
    assert len(tg.calls_to("sendMessage", user.id)) == before + 1
    db = polling_bot.dispatcher.db
    assert await polling_bot.dispatcher.is_unreachable("telegram", str(user.id))
    # Writing again (after unblocking) makes the account reachable, and nothing was lost.
    tg.failures.clear()
    texts = await user.send("1985")
    assert not await polling_bot.dispatcher.is_unreachable("telegram", str(user.id))
    assert "Giới tính" in texts[-1]
    assert await rows(db, select(ChannelAccount.unreachable)) == [(False,)]


async def test_blocking_the_bot_marks_the_account_at_once(polling_bot, tg):
    user = FakeUser(tg, 524)
    await user.send("/start")
    change = {
        "chat": {"id": user.id, "type": "private"},
        "from": user.user,
        "date": 0,
        "old_chat_member": {"status": "member", "user": BOT_USER},
        "new_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0},
    }
    await tg.push({"my_chat_member": change})
    for _ in range(50):
        if await polling_bot.dispatcher.is_unreachable("telegram", str(user.id)):
            break
        await user.settle()
    assert await polling_bot.dispatcher.is_unreachable("telegram", str(user.id))


async def test_replies_that_could_not_be_sent_go_out_when_the_update_comes_again(webhook_bot, tg):
    """Telegram re-sends an update it thinks failed; if our replies never got out, the
    retry sends them (from the outbox) without processing the answer twice."""
    user = FakeUser(tg, 525)
    await user.send("/start")
    tg.fail("sendMessage", 500, times=TelegramChannel.MAX_ATTEMPTS)
    message = tg.user_message(user.id, user.user, text="Bùi Văn Khoa")
    update = {"update_id": 778001, "message": message}
    await tg.push(dict(update))
    await user.settle()
    count = len(user.bot_messages)
    await tg.push(dict(update))
    await user.settle(before=count)
    assert user.last["text"].startswith("Bạn sinh năm nào?")
    delivered = [
        c
        for c in tg.calls_to("sendMessage", user.id)
        if c.status == 200 and c.params["text"].startswith("Bạn sinh năm nào?")
    ]
    assert len(delivered) == 1


async def test_answers_not_sent_before_a_stop_go_out_at_the_next_start(tg, sqlite_dispatcher, core):
    user = FakeUser(tg, 526)
    first = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    await user.send("/start")
    tg.fail("sendMessage", 502, times=TelegramChannel.MAX_ATTEMPTS)  # Telegram is down
    await user.send("Bùi Thị Lan", wait=False)
    await user.settle()
    count = len(user.bot_messages)
    await first.stop()
    second = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    await user.settle(before=count)
    await second.stop()
    assert user.last["text"].startswith("Bạn sinh năm nào?")
    third = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    await user.settle()
    await third.stop()
    assert len(user.bot_messages) == count + 1  # sent once, not at every start


# --- webhook ---------------------------------------------------------------------------


async def test_webhook_checks_the_secret_and_the_body(webhook_bot, tg):
    user = FakeUser(tg, 530)
    update = {"update_id": 5, "message": tg.user_message(user.id, user.user, text="/start")}
    assert (await tg.post_webhook(update, secret=None)).status == 403
    assert (await tg.post_webhook(update, secret="wrong")).status == 403
    assert (await tg.post_webhook(None, secret=SECRET, raw=b"{not json")).status == 400
    assert (await tg.post_webhook([1, 2], secret=SECRET)).status == 400
    assert (await tg.post_webhook({"message": {}}, secret=SECRET)).status == 400
    assert not tg.calls_to("sendMessage", user.id)  # none of them was processed
    assert (await tg.post_webhook(update, secret=SECRET)).status == 200
    await user.settle(before=0)
    assert user.last["text"].endswith("Họ và tên của bạn là gì?")


async def test_webhook_answers_before_the_replies_are_sent(webhook_bot, tg):
    user = FakeUser(tg, 531)
    tg.delays["sendMessage"] = 1.5  # a slow Bot API
    await user.send("/start", wait=False)
    assert user.last_delivery.status == 200
    assert not user.bot_messages  # Telegram heard 200 while the reply was still on its way
    await user.settle(before=0)
    assert user.last["text"].endswith("Họ và tên của bạn là gì?")


async def test_healthz(bot, tg):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bot.url}/healthz") as resp:
            body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["telegram"]["bot"] == "cdht_test_bot"


async def test_readyz_is_for_the_proxy_and_ignores_a_failing_telegram(bot, tg):
    """/readyz: 503 while the process starts, then 200 while the database works, even
    when sending on Telegram fails (which /healthz reports: every process at once)."""
    url = f"{bot.url}/readyz"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert resp.status == 503 and (await resp.json())["status"] == "starting"
        bot.server.ready = True
        bot.channel.health["ok"] = False  # e.g. Telegram refusing every send
        async with session.get(url) as resp:
            assert resp.status == 200
        async with session.get(f"{bot.url}/healthz") as resp:
            assert resp.status == 503


# --- pure parts ------------------------------------------------------------------------


def test_callback_data_round_trip_and_limit():
    assert parse_callback_data(callback_data(12, "edit_birth_year")) == (12, "edit_birth_year")
    assert parse_callback_data("nonsense") == (None, "nonsense")
    assert parse_callback_data(None) == (None, "")
    assert parse_callback_data(callback_data(None, "resume")) == (None, "resume")
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data(1, "x" * 70)


def test_split_text_keeps_every_character_within_the_limit():
    paragraph = "Câu trả lời của bạn. " * 40
    text = "\n\n".join([paragraph] * 20)
    parts = split_text(text, MAX_TEXT)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )
    assert split_text("short", MAX_TEXT) == ["short"]
    emoji = split_text("😀" * 3000, MAX_TEXT)  # 2 UTF-16 units each
    assert [len(p) for p in emoji] == [2048, 952]


def test_token_bucket_paces_after_the_burst():
    bucket = TokenBucket(rate=30, burst=30)
    waits = [bucket.reserve(now=0.0) for _ in range(32)]
    assert waits[:30] == [0.0] * 30
    assert waits[30] == pytest.approx(1 / 30) and waits[31] == pytest.approx(2 / 30)
    assert bucket.reserve(now=10.0) == 0.0  # refilled


def test_throttle_limits_messages_per_chat_but_not_answers_to_taps():
    now = [0.0]
    throttle = Throttle(per_second=30, per_chat=1, clock=lambda: now[0])
    waits = [throttle.delay("sendMessage", 42) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]  # a short burst is fine
    assert waits[3] == pytest.approx(1.0) and waits[4] == pytest.approx(2.0)
    # Another chat is not held up by that one: it only waits its turn over all chats,
    # whose burst (5) the five messages above used.
    assert throttle.delay("sendMessage", 43) == pytest.approx(1 / 30)
    assert throttle.delay("answerCallbackQuery", 42) == 0.0
    assert throttle.delay("editMessageText", 42) == 0.0
    off = Throttle(per_second=0, per_chat=0)
    assert all(off.delay("sendMessage", 1) == 0.0 for _ in range(100))


def test_settings_read_the_telegram_variables():
    from bot.config import Settings, SettingsError

    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.vn/tg",
            "PORT": "9000",
        }
    )
    assert settings.port == 9000
    assert settings.telegram.webhook_path == "/tg"
    assert len(settings.telegram.webhook_secret) == 64  # derived from the token
    assert "123:abc" not in repr(settings)
    assert Settings.from_env({}).telegram is None
    for bad in (
        {"TELEGRAM_BOT_TOKEN": "nonsense"},
        {"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_WEBHOOK_URL": "bot.example.vn"},
        {
            "TELEGRAM_BOT_TOKEN": "1:a",
            "TELEGRAM_WEBHOOK_URL": "https://x",
            "TELEGRAM_WEBHOOK_SECRET": "a b",
        },
        {"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_MAX_MESSAGES_PER_SECOND": "fast"},
        {"PORT": "http"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


# --- `cdht run` as a person with a bot token runs it ------------------------------------


async def _run_bot_process(tg: FakeTelegram, tmp_path, token: str, **extra: str):
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": tg.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "CDHT_HOST": "127.0.0.1",
        "PORT": "0",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LANGUAGE": "vi",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    env.update(extra)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_cdht_run_with_a_token_serves_telegram(tg, tmp_path):
    proc = await _run_bot_process(tg, tmp_path, tg.token)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "Bot đang chạy trên Telegram (polling)" in line, line
        port = int(re.search(r":(\d+)/healthz", line).group(1))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
        user = FakeUser(tg, 540)
        texts = await user.send("/start")
        assert texts[-1].endswith("Họ và tên của bạn là gì?")
        texts = await user.send("Nguyễn Thị Hoa")
        assert texts[-1].startswith("Bạn sinh năm nào?")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "Nguyễn" not in log and "Họ và tên" not in log  # no personal data, no messages
    assert tg.token.split(":")[1] not in log  # nor the bot token (it is in every API URL)


async def test_cdht_run_with_a_wrong_token_says_so(tg, tmp_path):
    proc = await _run_bot_process(tg, tmp_path, "999:wrong")
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in err.decode()


async def test_cdht_run_without_the_bot_api_says_so_and_exits_cleanly(tmp_path):
    closed = FakeTelegram()
    closed.url = "http://127.0.0.1:9"  # nothing listens there
    proc = await _run_bot_process(closed, tmp_path, "999:any")
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "Cannot reach the Telegram Bot API" in err.decode()
    assert "Unclosed" not in err.decode() and "Traceback" not in err.decode()


async def test_files_go_through_the_aiohttp_transport(tg):
    """Documents (reports for admins) are multipart uploads: PTB's Bot on our transport."""
    from telegram import Bot, InputFile

    from bot.channels.telegram.http import AiohttpRequest

    bot = Bot(tg.token, base_url=f"{tg.url}/bot", request=AiohttpRequest())
    async with bot:
        sent = await bot.send_document(
            600, InputFile(b"x" * 5000, filename="báo cáo.xlsx"), caption="Báo cáo tháng 11"
        )
    assert sent.document.file_name == "báo cáo.xlsx" and sent.document.file_size == 5000
    assert tg.chats[600].messages[sent.message_id]["caption"] == "Báo cáo tháng 11"


async def test_cdht_run_with_a_webhook_telegram_refuses_says_so(tg, tmp_path):
    tg.fail("setWebhook", 400, description="Bad Request: bad webhook: HTTPS url must be provided")
    proc = await _run_bot_process(
        tg, tmp_path, tg.token, TELEGRAM_WEBHOOK_URL="http://bot.example.vn/telegram"
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "Telegram refused the set-up: Bad webhook: https url" in err.decode()


# --- reminders through the real channel --------------------------------------------------


async def test_a_reminder_arrives_and_continue_lands_on_the_question(polling_bot, tg, clock):

    user = FakeUser(tg, 560)
    await user.send("/start")
    await user.send("Phan Thị Nga")
    await user.send("1979")  # now on the gender question, then silence
    start = clock.now()
    clock.current = start + timedelta(days=1)
    before = len(user.bot_messages)
    scheduler = scheduler_beside(polling_bot.dispatcher, {"telegram": polling_bot.channel})
    assert await scheduler.tick() == 1
    await user.settle(before)
    nudge = user.keyboard_message
    assert "chưa đăng ký xong" in nudge["text"]
    assert user.labels(nudge) == ["Làm tiếp từ chỗ đã dừng", "Không nhắc nữa"]
    texts = await user.tap("Làm tiếp")
    assert texts[-1].endswith("Giới tính của bạn:")
    assert user.labels() == ["Nam", "Nữ", "Khác"]
    assert await scheduler.tick() == 0  # nothing more is due now


async def test_a_reminder_claimed_before_a_crash_goes_out_at_the_next_start(
    tg, sqlite_dispatcher, core, clock
):

    class Died:
        def push(self, external_id, delivery):
            pass  # the process stopped right after the claim was committed

    first = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    user = FakeUser(tg, 561)
    await user.send("/start")
    await user.send("Hồ Văn Lâm")
    await first.stop()
    clock.current = clock.now() + timedelta(days=1)
    assert await scheduler_beside(sqlite_dispatcher, {"telegram": Died()}).tick() == 1
    before = len(user.bot_messages)
    again = await RunningBot(tg, sqlite_dispatcher, core, webhook=False).start()
    try:
        await user.settle(before)
        assert "chưa đăng ký xong" in user.bot_messages[-1]["text"]
        assert sum("chưa đăng ký xong" in m.get("text", "") for m in user.bot_messages) == 1
    finally:
        await again.stop()


async def test_a_focal_point_joins_by_deep_link_and_gets_deadline_reminders(polling_bot, tg, clock):
    from flows.deadlines import Deadline
    from flows.places import Area
    from storage import deadlines, invites

    db, now = polling_bot.dispatcher.db, clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "TGUNIT22", "focal_point", Area(1, 70), now, now + timedelta(days=30)
        )
    )
    user = FakeUser(tg, 562)
    texts = await user.send("/start dv-TGUNIT22")  # the QR code a commune printed
    assert "đầu mối của một đơn vị ở Phường Hoàn Kiếm" in texts[-1]
    texts = await user.send("Trường Tiểu học Tràng An")
    assert "Đã xong" in texts[-1]
    report = Deadline(title={"vi": "Báo cáo phong trào"}, day=30, month=11, year=None)
    report = Deadline(**{**report.__dict__, "audience": "focal_points", "area": Area(1)})
    await db.run(lambda conn: deadlines.add(conn, report, now))
    before = len(user.bot_messages)
    scheduler = scheduler_beside(polling_bot.dispatcher, {"telegram": polling_bot.channel})
    assert await scheduler.tick() == 1
    await user.settle(before)
    text = user.bot_messages[-1]["text"]
    assert "Đơn vị “Trường Tiểu học Tràng An”" in text
    assert "Nhắc hạn: Báo cáo phong trào, hạn còn 7 ngày (30/11/2026)." in text
    assert await scheduler.tick() == 0


async def test_a_focal_point_taps_the_reminder_and_self_assesses_the_unit(polling_bot, tg, clock):
    """Issue 20: the 28/02-style reminder's button leads to the unit's self-assessment,
    answered with buttons, and the summary sheet comes as a document."""
    from flows.deadlines import Deadline
    from flows.places import Area
    from storage import deadlines, invites

    db, now = polling_bot.dispatcher.db, clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "TGUNIT23", "focal_point", Area(1, 70), now, now + timedelta(days=30)
        )
    )
    user = FakeUser(tg, 565)
    await user.send("/start dv-TGUNIT23")
    await user.send("Trường Tiểu học Tràng An")
    dossiers = Deadline(title={"vi": "Hồ sơ Đơn vị học tập"}, day=30, month=11, year=None)
    dossiers = Deadline(**{**dossiers.__dict__, "audience": "focal_points", "area": Area(1)})
    await db.run(lambda conn: deadlines.add(conn, dossiers, now))
    before = len(user.bot_messages)
    scheduler = scheduler_beside(polling_bot.dispatcher, {"telegram": polling_bot.channel})
    assert await scheduler.tick() == 1
    await user.settle(before)
    assert user.labels() == ["Tự đánh giá đơn vị", "Không nhắc nữa"]
    texts = await user.tap("Tự đánh giá đơn vị")
    assert "Đơn vị của bạn: “Trường Tiểu học Tràng An”" in texts[-1]
    await user.tap("Bắt đầu tự đánh giá đơn vị")
    texts = await user.send("Phạm Thu Hà")
    assert "Câu 1/9" in texts[-1] and "💡 Minh chứng" in texts[-1]
    for _ in range(9):
        texts = await user.tap("Đạt")
    assert "Tổng: 90/90 điểm" in texts[-1]
    texts = await user.tap("Gửi kết quả")
    assert any("Đạt mọi chỉ tiêu" in t for t in texts)
    before = len(user.bot_messages)
    await user.tap("Tải bảng tổng hợp")
    [sheet] = [m["document"] for m in user.bot_messages[before:] if "document" in m]
    assert sheet["file_name"] == "dvht-70-truong-tieu-hoc-trang-an-2026.xlsx"
    assert sheet["file_size"] > 4000


async def test_an_admin_gets_stats_exports_and_the_digest_through_telegram(polling_bot, tg, clock):
    from flows.places import Area
    from storage import invites

    db, now = polling_bot.dispatcher.db, clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "TGADMIN7", "admin", Area(1), now, now + timedelta(hours=72)
        )
    )
    user = FakeUser(tg, 563)
    texts = await user.send("/quantri TGADMIN7")
    assert any("Bạn đã là quản trị viên của Thành phố Hà Nội" in t for t in texts)
    before = len(user.bot_messages)
    await user.send("/thongke")
    sent = user.bot_messages[before:]
    assert any("Đã đăng ký: 0" in (m.get("text") or "") for m in sent)
    [chart] = [m["document"] for m in sent if "document" in m]
    assert chart["file_name"].endswith(".png") and chart["file_size"] > 2000
    before = len(user.bot_messages)
    await user.send("/baocao")
    [report] = [m["document"] for m in user.bot_messages[before:] if "document" in m]
    assert report["file_name"] == "cdht-province-1-2026-11-23.xlsx"
    # The morning digest (it is 10:00: the bot catches up), once.
    before = len(user.bot_messages)
    scheduler = scheduler_beside(polling_bot.dispatcher, {"telegram": polling_bot.channel})
    assert await scheduler.tick() == 1
    await user.settle(before)
    assert any(
        "📊 Công dân học tập, ngày 23/11/2026" in (m.get("text") or "")
        for m in user.bot_messages[before:]
    )
    assert await scheduler.tick() == 0


async def test_an_admin_sends_a_spreadsheet_of_paper_forms(polling_bot, tg, clock):
    """Issue 21: the template from the chat, a filled-in file with mistakes refused with
    what to fix, the fixed file saved; a citizen's file is not read."""
    from openpyxl import load_workbook

    from flows.places import Area
    from storage import invites
    from tests.test_paper import forms

    db, now = polling_bot.dispatcher.db, clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "TGPAPER1", "admin", Area(1, 70), now, now + timedelta(hours=72)
        )
    )
    officer = FakeUser(tg, 564)
    await officer.send("/quantri TGPAPER1")
    await officer.send("/nhaphoso mau")
    [template] = [c for c in tg.calls_to("sendDocument", 564)]
    blob = template.params["document"]["data"]
    assert template.params["document"]["filename"] == "mau-phieu-giay-cdht.xlsx"

    def filled(rows) -> bytes:
        book = load_workbook(io.BytesIO(blob))
        sheet = book["Danh sách"]
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                sheet.cell(row=r, column=c, value=value)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    rows = forms(300)
    good = rows[3][1]
    rows[3][1] = 19500
    texts = await officer.send_document("xa.xlsx", filled(rows))
    assert "Chưa lưu gì: 1 dòng của xa.xlsx có lỗi" in texts[-1]
    assert "Dòng 5, cột “Năm sinh”" in texts[-1]
    rows[3][1] = good
    texts = await officer.send_document("xa.xlsx", filled(rows))
    assert "Đã lưu 300 phiếu của xa.xlsx cho Phường Hoàn Kiếm" in texts[-1]
    await officer.send_document("xa.xlsx", filled(rows))  # again: nobody twice

    def paper_people(conn):
        from sqlalchemy import func, select

        from storage.models import Person

        return conn.execute(
            select(func.count()).select_from(Person).where(Person.entered_at.is_not(None))
        ).scalar_one()

    assert await db.run(paper_people) == 300
    texts = await officer.send_document("ghi-chu.xlsx", b"not a spreadsheet")
    assert "Không đọc được tệp này" in texts[-1]
    citizen = FakeUser(tg, 565)
    texts = await citizen.send_document("xa.xlsx", filled(rows))
    assert "Tôi chỉ đọc được chữ" in texts[-1]


async def test_a_household_registers_a_family_and_two_members_join(polling_bot, tg):
    """Issue 20: a learning family through Telegram: the head registers it with buttons
    and gets a code, two members join with it, and the family's self-assessment counts
    the member who reached the Learning Citizen title."""
    head = FakeUser(tg, 571)
    await to_phone(head, name="Nguyễn Văn An")
    await head.send("Bỏ qua")
    await head.tap("Đúng rồi")
    await head.tap("Gia đình học tập")
    await head.tap("Đăng ký gia đình")
    texts = await head.tap("3")
    [code] = re.findall(r"Mã gia đình là (\S+)\.", "\n".join(texts))

    binh = FakeUser(tg, 572)
    await to_phone(binh, name="Trần Thị Bình")
    await binh.send("Bỏ qua")
    await binh.tap("Đúng rồi")
    await binh.tap("Bắt đầu tự đánh giá")
    for _ in range(10):
        await binh.tap(binh.labels()[0])
    texts = await binh.tap("Gửi kết quả")
    assert any("100/100 điểm" in t for t in texts)
    texts = await binh.send(f"/giadinh {code}")
    assert "Tham gia gia đình Nguyễn Văn An (đăng ký xây dựng Gia đình học tập)?" in texts[-1]
    texts = await binh.tap("Tham gia")
    assert any("Bạn đã tham gia gia đình Nguyễn Văn An" in t for t in texts)

    chi = FakeUser(tg, 573)
    await to_phone(chi, name="Nguyễn Văn Chí")
    await chi.send("Bỏ qua")
    await chi.tap("Đúng rồi")
    await chi.send(f"/giadinh {code}")
    await chi.tap("Tham gia")

    texts = await head.send("/giadinh")
    assert "Đã tham gia: 3 người (trong nhà có 3 người lớn)." in texts[-1]
    assert "• Trần Thị Bình: ✅ tự đánh giá đạt điều kiện danh hiệu" in texts[-1]
    await head.tap("Tự đánh giá gia đình")
    for _ in range(9):
        texts = await head.tap(head.labels()[0])
    assert "2.1 Người lớn đạt Công dân học tập: 0/10 — 1/3 người lớn" in texts[-1]
    texts = await head.tap("Gửi kết quả")
    assert any("Kết quả tự đánh giá của gia đình năm 2026: 90/100 điểm." in t for t in texts)


async def test_a_webhook_call_before_the_channel_has_started_is_asked_again(
    tg, sqlite_dispatcher, core
):
    """Behind a proxy a process gets webhook calls as soon as its port is open, before the
    channel has started: 503 (Telegram delivers the update again), not a server error."""
    settings = TelegramSettings(
        token=tg.token,
        api_base_url=tg.url,
        webhook_url="https://bot.example.vn/telegram",
        webhook_secret="s3cret",
    )
    channel = TelegramChannel(settings, sqlite_dispatcher, core.langs, "vi")
    server = web.Application()
    server.router.add_routes(channel.routes())
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/telegram",
                json={
                    "update_id": 1,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {"id": 5, "type": "private"},
                        "text": "/start",
                    },
                },
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
            ) as resp:
                assert resp.status == 503
    finally:
        await runner.cleanup()
