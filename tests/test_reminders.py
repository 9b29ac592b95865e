"""The nudge schedule: pure functions of stored times (injected, never the real clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.localtime import LOCAL_TZ
from flows.model import Event
from flows.reminders import RESUME, STOP_REMINDERS, NudgeSchedule, nudge, unfinished
from tests.chat import FlowChat, register

DEFAULT = NudgeSchedule()


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def test_24_hours_3_days_7_days_then_never():
    quiet = local(2, 10)  # stopped at 10:00 on 2 November
    assert DEFAULT.due(quiet, local(3, 9, 59), 0) is None
    assert DEFAULT.due(quiet, local(3, 10), 0) == 0
    assert DEFAULT.due(quiet, local(4, 10), 1) is None  # the first was sent
    assert DEFAULT.due(quiet, local(5, 10), 1) == 1
    assert DEFAULT.due(quiet, local(9, 10), 2) == 2
    assert DEFAULT.due(quiet, local(30, 10), 3) is None  # never again
    assert DEFAULT.due_at(quiet, 3) is None


def test_nothing_between_21_and_7_held_until_7():
    quiet = local(2, 22, 30)  # stopped at 22:30: 24 hours later is night
    assert DEFAULT.due_at(quiet, 0) == local(4, 7)
    assert DEFAULT.due(quiet, local(3, 23), 0) is None
    assert DEFAULT.due(quiet, local(4, 6, 59), 0) is None
    assert DEFAULT.due(quiet, local(4, 7), 0) == 0
    for hour, quiet_now in [(20, False), (21, True), (0, True), (6, True), (7, False)]:
        assert DEFAULT.in_quiet_hours(local(3, hour)) is quiet_now
    # The held time is 07:00 in Vietnam whatever the server's zone (UTC here).
    assert DEFAULT.not_in_quiet_hours(local(3, 23)).hour == 0  # 07:00 ICT is 00:00 UTC


def test_after_downtime_only_the_latest_nudge_goes():
    quiet = local(2, 10)
    assert DEFAULT.due(quiet, local(6, 10), 0) == 1  # 4 days later: the 3-day one, once
    assert DEFAULT.due(quiet, local(6, 11), 2) is None


def test_a_zalo_schedule_inside_the_free_window():
    zalo = NudgeSchedule(after=(timedelta(hours=20), timedelta(days=3), timedelta(days=7)))
    assert zalo.due(local(2, 10), local(3, 6), 0) is None  # 06:00 is quiet
    assert zalo.due(local(2, 10), local(3, 7), 0) == 0  # held to 07:00, 21 h: in the window


@pytest.mark.parametrize("after", [(), (timedelta(days=3), timedelta(days=1))])
def test_a_schedule_must_grow(after):
    with pytest.raises(ValueError, match="longer than the one before"):
        NudgeSchedule(after=after)


# --- the nudge message and the person's choice (pure flow) -----------------------------


def nudge_of(chat: FlowChat):
    return nudge(chat.snapshot, chat.world.langs["vi"], len(chat.world.criteria.indicators))


def test_who_is_unfinished_and_what_the_nudge_says(world):
    chat = FlowChat(world)
    assert unfinished(chat.snapshot) is None and nudge_of(chat) is None  # never started
    chat.type("/start")
    assert unfinished(chat.snapshot) is None  # greeted, nothing entered yet
    chat.type("Nguyễn Thị Hoa")
    assert unfinished(chat.snapshot) == "registration"
    reply = nudge_of(chat)
    assert "chưa đăng ký xong" in reply.text
    assert [o.id for o in reply.options] == [RESUME, STOP_REMINDERS]
    chat = register(FlowChat(world))
    assert unfinished(chat.snapshot) is None  # registered, self-scoring not started
    chat.tap("Bắt đầu tự đánh giá")
    chat.type("1")
    chat.type("2")
    assert unfinished(chat.snapshot) == "assessment"
    assert "Bạn đã trả lời 2 trên 10 câu" in nudge_of(chat).text


def test_continue_lands_on_the_exact_question(world):
    chat = register(FlowChat(world))
    chat.tap("Bắt đầu tự đánh giá")
    chat.type("1")
    chat.type("3")  # now on question 3
    chat.send(Event("option", option=RESUME, prompt=None))  # tapped days later
    assert "Câu 3/10 ·" in chat.question.text
    assert "Chào mừng bạn trở lại" in chat.text


def reminders_command(chat: FlowChat, args: str = "") -> None:
    chat.type(f"/nhacnho {args}".strip())


def test_reminders_off_and_on_again(world):
    chat = FlowChat(world)
    chat.type_all("/start", "Lê Văn Tám")
    chat.send(Event("option", option=STOP_REMINDERS, prompt=None))
    assert "không gửi nhắc nhở" in chat.text
    assert chat.text.endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")  # goes on
    assert nudge_of(chat) is None
    reminders_command(chat)
    assert "đang tắt" in chat.text
    reminders_command(chat, "bat")
    assert "Nhắc nhở đang bật" in chat.text
    assert nudge_of(chat) is not None
    reminders_command(chat, "off")
    assert nudge_of(chat) is None
