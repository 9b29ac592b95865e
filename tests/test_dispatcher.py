"""The dispatcher on real databases (SQLite file and PostgreSQL): one event is one
transaction, state survives restarts, duplicates are answered from what was saved, and one
person's events never race."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import func, select, text

from bot.dispatcher import Dispatcher
from flows.model import Event
from storage import communes
from storage.db import Database
from storage.models import Answer, Assessment, ChannelAccount, Person, ProcessedEvent
from tests.chat import DispatchChat, register_async


async def rows(db, query) -> list:
    return await db.run(lambda conn: conn.execute(query).all())


async def count(db, model, *where) -> int:
    [(n,)] = await rows(db, select(func.count()).select_from(model).where(*where))
    return n


async def test_whole_conversation_is_stored(db, dispatcher):
    chat = await register_async(DispatchChat(dispatcher))
    assert "Bạn đã đăng ký xong" in chat.text
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("2")
    await chat.tap("Gửi kết quả")
    assert "Kết quả tự đánh giá năm 2026: 70/100 điểm." in chat.text
    [person] = await rows(db, select(Person))
    [assessment] = await rows(db, select(Assessment))
    assert (person.full_name, person.birth_year, person.commune_code, person.province_code) == (
        "Nguyễn Thị Hoa",
        1984,
        70,
        1,
    )
    assert (assessment.status, assessment.total, assessment.title_reached) == (
        "submitted",
        70,
        False,
    )
    assert assessment.result["indicators"]["1.1"] == 7 and assessment.submitted_at is not None
    assert await count(db, Answer) == 10
    assert await count(db, ProcessedEvent) == 10 + 1 + 10 + 1  # one per event


async def test_state_survives_a_restart_of_the_bot(db, core, clock):
    first = DispatchChat(Dispatcher(db, core, clock))
    await register_async(first)
    await first.tap("Bắt đầu")
    await first.type("1")
    await first.type("3")
    # A new dispatcher, as after a restart: nothing lives in process memory.
    second = DispatchChat(Dispatcher(db, core, clock))
    await second.type("/start")
    assert "Chào mừng bạn trở lại!" in second.text
    assert second.question.text.startswith("Câu 3/10")
    await second.tap("Quay lại")
    assert "✓ Có ý định nhưng chưa lập kế hoạch" in second.labels


async def test_a_repeated_event_is_answered_from_what_was_saved(db, dispatcher):
    chat = DispatchChat(dispatcher)
    await chat.type("/start", event_id="e1")
    await chat.type("Trần Văn Ba", event_id="e2")
    first = chat.delivery
    again = await dispatcher.handle("test", "u1", Event.from_text("Trần Văn Ba", event_id="e2"))
    assert again.duplicate and again.replies == first.replies and again.outbox_id == first.outbox_id
    await chat.type("1990", event_id="e3")
    assert "Giới tính" in chat.text  # not asked for the year twice: e2 ran once
    assert await count(db, ProcessedEvent) == 3


async def test_two_quick_taps_are_handled_one_after_the_other(db, dispatcher):
    chat = await register_async(DispatchChat(dispatcher))
    await chat.tap("Bắt đầu")
    tap = chat.option_event("Hằng ngày")
    other = chat.option_event("Vài lần mỗi tuần")
    first, second = await asyncio.gather(
        dispatcher.handle("test", "u1", tap), dispatcher.handle("test", "u1", other)
    )
    assert first.replies[-1].text.startswith("Câu 2/10")
    assert "Nút đó thuộc một câu hỏi trước" in second.replies[0].text
    answers = await rows(db, select(Answer.indicator, Answer.points))
    assert answers == [("1.1", 10)]


async def test_many_people_at_once_keep_their_own_conversations(db, dispatcher):
    chats = [DispatchChat(dispatcher, user=f"p{i}") for i in range(12)]
    await asyncio.gather(*(register_async(c) for c in chats))
    await asyncio.gather(*(c.tap("Bắt đầu") for c in chats))
    for round_ in range(3):
        await asyncio.gather(*(c.type(str(1 + (i + round_) % 4)) for i, c in enumerate(chats)))
    assert all(c.question.text.startswith("Câu 4/10") for c in chats)
    assert await count(db, Person) == 12
    assert await count(db, Answer) == 36


async def test_restart_and_one_assessment_per_year(db, dispatcher):
    chat = await register_async(DispatchChat(dispatcher))
    await chat.tap("Bắt đầu")
    await chat.type("1")
    await chat.type("1")
    await chat.type("/restart")
    await chat.tap("Đồng ý")
    assert await count(db, Answer) == 0
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi")
    await chat.type("/restart")
    assert "đã được gửi và được giữ nguyên" in chat.text
    await chat.tap("Xem kết quả")
    assert "100/100" in chat.text
    assert await count(db, Assessment) == 1
    assert await count(db, Assessment, Assessment.status == "submitted") == 1


async def test_delete_my_data_removes_the_person_and_their_answers(db, dispatcher):
    chat = await register_async(DispatchChat(dispatcher))
    await chat.tap("Bắt đầu")
    await chat.type("1")
    other = await register_async(DispatchChat(dispatcher, user="someone-else"))
    await chat.type("/delete")
    await chat.tap("Đồng ý, xóa hết")
    assert "đã được xóa" in chat.text
    assert await count(db, Person) == 1  # only the other person is left
    assert await count(db, Assessment) == 0 and await count(db, Answer) == 0
    # The chat account goes too, with its old replies, which quoted the name (issue 19:
    # nothing identifying is left, the chat id included).
    assert await rows(db, select(ChannelAccount).where(ChannelAccount.external_id == "u1")) == []
    leftovers = await rows(db, select(ProcessedEvent.account_id, ProcessedEvent.replies))
    [(other_account,)] = await rows(
        db, select(ChannelAccount.id).where(ChannelAccount.external_id == "someone-else")
    )
    # (The other person has the same name: their own replies keep it.)
    assert not any("Nguyễn Thị Hoa" in str(r) for a, r in leftovers if a != other_account)
    await chat.type("hi")
    assert "Xin chào!" in chat.text
    await other.type("/result")
    assert "Bạn chưa tự đánh giá." in other.text


async def test_difficult_commune_flag_lowers_the_bar(db, dispatcher, clock):
    await db.run(lambda conn: communes.set_commune_difficult(conn, 70, True, clock.now()))
    chat = await register_async(DispatchChat(dispatcher))
    await chat.tap("Bắt đầu")
    for choice in ["1", "1", "1", "1", "3", "3", "3", "3", "3", "3"]:
        await chat.type(choice)
    await chat.tap("Gửi")
    assert "Tổng 70 điểm: đạt mức 70 điểm cần có." in chat.text


async def test_replies_can_be_marked_delivered(db, dispatcher):
    chat = DispatchChat(dispatcher)
    await chat.type("/start")
    assert await count(db, ProcessedEvent, ProcessedEvent.delivered_at.is_(None)) == 1
    await dispatcher.mark_delivered([chat.delivery.outbox_id])
    assert await count(db, ProcessedEvent, ProcessedEvent.delivered_at.is_(None)) == 0


async def test_a_failure_answers_politely_keeps_the_state_and_logs_no_personal_data(
    db, dispatcher, caplog
):
    chat = DispatchChat(dispatcher)
    await chat.type("/start")
    await chat.type("Nguyễn Thị Hoa")

    for text_ in ("1984", "2", "1", "ha noi", "hoan kiem", "Tổ 5", "0912345678"):
        await chat.type(text_)

    def break_people_table(conn):
        conn.execute(text("ALTER TABLE people RENAME TO people_gone"))

    await db.run(break_people_table)
    await chat.type("1")  # confirming needs the missing table
    assert "Xin lỗi, hệ thống vừa gặp lỗi" in chat.text
    assert "Traceback" in caplog.text  # the operator learns what failed...
    assert "Nguyễn Thị Hoa" not in caplog.text and "0912345678" not in caplog.text  # ...not who
    await db.run(lambda conn: conn.execute(text("ALTER TABLE people_gone RENAME TO people")))
    await chat.type("1")  # the confirmation screen is still there: nothing was lost
    assert "Bạn đã đăng ký xong" in chat.text


async def test_two_bot_processes_never_race_on_one_person(db, core, clock):
    """Two dispatchers with their own engines (as two processes would have) get the same
    person's taps at once: the database serialises them, one wins, the other is stale."""
    other_db = Database(db.url)
    try:
        first, second = Dispatcher(db, core, clock), Dispatcher(other_db, core, clock)
        chat = await register_async(DispatchChat(first))
        await chat.tap("Bắt đầu")
        for _ in range(5):
            q = chat.question
            taps = [Event("option", option=o.id, prompt=q.prompt) for o in q.options[:2]]
            a, b = await asyncio.gather(
                first.handle("test", "u1", taps[0]), second.handle("test", "u1", taps[1])
            )
            stale = [d for d in (a, b) if "Nút đó thuộc một câu hỏi trước" in d.replies[0].text]
            assert len(stale) == 1
            chat.replies = (a if stale[0] is b else b).replies
        assert await count(db, Answer) == 5
    finally:
        await other_db.dispose()


async def test_two_bot_processes_meeting_a_new_person_at_once(db, core, clock):
    other_db = Database(db.url)
    try:
        first, second = Dispatcher(db, core, clock), Dispatcher(other_db, core, clock)
        a, b = await asyncio.gather(
            first.handle("test", "new", Event.from_text("/start")),
            second.handle("test", "new", Event.from_text("Nguyễn Văn Mới")),
        )
        texts = [r.text for d in (a, b) for r in d.replies]
        assert not any("Xin lỗi" in t for t in texts)  # no failure, whichever came first
        assert await count(db, ChannelAccount) == 1
        assert await count(db, ProcessedEvent) == 2
    finally:
        await other_db.dispose()


async def test_a_new_campaign_year_starts_a_new_assessment_and_keeps_the_old(db, core, clock):
    chat = await register_async(DispatchChat(Dispatcher(db, core, clock)))
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi")
    next_year = dataclasses.replace(core, campaign_year=2027)
    later = DispatchChat(Dispatcher(db, next_year, clock))
    await later.type("/start")
    assert "Bắt đầu tự đánh giá" in later.labels  # 2027 has no assessment yet
    await later.tap("Bắt đầu")
    await later.type("2")
    years = await rows(
        db, select(Assessment.campaign_year, Assessment.status).order_by(Assessment.campaign_year)
    )
    assert years == [(2026, "submitted"), (2027, "in_progress")]


async def test_without_a_set_year_the_campaign_moves_on_at_new_year_in_vietnam(db, core, clock):
    from datetime import datetime

    from flows.localtime import LOCAL_TZ

    following = dataclasses.replace(core, campaign_year=0)  # CDHT_CAMPAIGN_YEAR unset
    clock.current = datetime(2026, 12, 31, 23, 30, tzinfo=LOCAL_TZ)
    chat = await register_async(DispatchChat(Dispatcher(db, following, clock)))
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi")
    assert "Kết quả tự đánh giá năm 2026" in chat.text
    clock.current = datetime(2027, 1, 1, 0, 30, tzinfo=LOCAL_TZ)  # (17:30 on 31/12 in UTC)
    await chat.type("/start")  # the same process, an hour later
    assert "Bắt đầu tự đánh giá" in chat.labels  # 2027 has no assessment yet
    years = await rows(db, select(Assessment.campaign_year, Assessment.status))
    assert years == [(2026, "submitted")]


async def test_a_reply_to_an_account_deleted_meanwhile_is_not_waited_for(dispatcher):
    """/delete on another channel removed the account and its replies after this one was
    committed: the turn to send finds nothing to send, and does not wait for one."""
    delivery = await dispatcher.handle("test", "u1", Event("text", text="/start"))
    assert delivery.outbox_id is not None
    await dispatcher.db.run(lambda conn: conn.execute(text("DELETE FROM channel_accounts")))

    async def sent() -> list:
        async with dispatcher.turn("test", "u1", delivery) as turn:
            return turn.due

    assert await asyncio.wait_for(sent(), 5) == []


async def test_the_turn_sends_what_came_before_first(dispatcher):
    """A reply left unsent (a process died before sending it) goes out, in order, before
    the next one of the same chat, whichever process sends that."""
    first = await dispatcher.handle("test", "u1", Event("text", text="/start"))
    second = await dispatcher.handle("test", "u1", Event("text", text="Nguyễn Thị Hoa"))
    async with dispatcher.turn("test", "u1", second) as turn:
        assert [d.outbox_id for d in turn.due] == [first.outbox_id, second.outbox_id]
        assert turn.due[1] is second
        for d in turn.due:
            dispatcher.delivered(d.outbox_id)
    async with dispatcher.turn("test", "u1", first) as turn:
        assert turn.due == []  # sent already: not again
