"""The reminder scheduler with an injected clock, on SQLite and PostgreSQL (the
`dispatcher` fixture runs both). Its channels here record what they are handed; the
Telegram test at the end goes through the real channel and the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.dispatcher import Delivery, Dispatcher
from flows.model import Event
from flows.reminders import RESUME, STOP_REMINDERS
from storage.db import Database
from tests.chat import DispatchChat, register_async, scheduler_beside

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


class Recorder:
    """A channel that keeps what it is handed (and sends nothing)."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, Delivery]] = []

    def push(self, external_id: str, delivery: Delivery) -> None:
        self.pushed.append((external_id, delivery))


async def quiet_half_way(dispatcher, user: str = "u1") -> DispatchChat:
    chat = DispatchChat(dispatcher, user=user, channel="test")
    await chat.type("/start")
    await chat.type("Nguyễn Thị Hoa")  # then silence: registration half done
    return chat


def at(clock, start, delta):
    clock.current = start + delta


async def test_24_hours_3_days_7_days_then_stop(dispatcher, clock):
    start = clock.now()  # 10:00 in Vietnam
    await quiet_half_way(dispatcher)
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    sent = []
    for delta in (23 * HOUR, 24 * HOUR, 25 * HOUR, 3 * DAY, 3 * DAY + HOUR, 7 * DAY, 30 * DAY):
        at(clock, start, delta)
        sent.append(await scheduler.tick())
    assert sent == [0, 1, 0, 1, 0, 1, 0]
    (user, first), *_ = channel.pushed
    assert user == "u1" and "chưa đăng ký xong" in first.replies[0].text
    assert [o.id for o in first.replies[0].options] == [RESUME, STOP_REMINDERS]
    # Each nudge is in the outbox, not yet delivered: a channel that died re-sends it.
    assert first.outbox_id is not None


async def test_nothing_at_night_held_until_seven(dispatcher, clock):
    start = clock.now()
    at(clock, start, 12 * HOUR + 30 * timedelta(minutes=1))  # 22:30 in Vietnam
    await quiet_half_way(dispatcher)
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    at(clock, start, 36 * HOUR + 31 * timedelta(minutes=1))  # 22:31 the next day
    assert await scheduler.tick() == 0
    at(clock, start, 44 * HOUR + 59 * timedelta(minutes=1))  # 06:59
    assert await scheduler.tick() == 0
    at(clock, start, 45 * HOUR)  # 07:00
    assert await scheduler.tick() == 1


async def test_writing_again_restarts_and_finishing_cancels(dispatcher, clock):
    start = clock.now()
    chat = await quiet_half_way(dispatcher)
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    at(clock, start, 20 * HOUR)
    await chat.type("1984")  # wrote again: a new quiet period from now
    at(clock, start, 25 * HOUR)
    assert await scheduler.tick() == 0
    at(clock, start, 44 * HOUR)  # 24 hours after, but 06:00 in Vietnam: held
    assert await scheduler.tick() == 0
    at(clock, start, 45 * HOUR)  # 07:00
    assert await scheduler.tick() == 1
    # They come back (from the nudge) and finish registering: nothing more to remind.
    chat = DispatchChat(dispatcher, user="u1", channel="test")
    await chat.send(Event("option", option=RESUME))
    await register_async(chat)
    at(clock, start, 30 * DAY)
    assert await scheduler.tick() == 0


async def test_resume_lands_on_the_question_and_stop_means_stop(dispatcher, clock):
    start = clock.now()
    chat = await quiet_half_way(dispatcher)
    await chat.type("1984")  # now on the gender question
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    at(clock, start, DAY)
    assert await scheduler.tick() == 1
    await chat.send(Event("option", option=RESUME))
    assert chat.labels == ["Nam", "Nữ", "Khác"]
    # No answer, then the next nudge: "no more reminders" ends them for good.
    at(clock, start, 2 * DAY)
    assert await scheduler.tick() == 1
    await chat.send(Event("option", option=STOP_REMINDERS))
    assert chat.labels == ["Nam", "Nữ", "Khác"]  # and the question is there to answer
    at(clock, start, 30 * DAY)
    assert await scheduler.tick() == 0


async def test_three_processes_send_each_nudge_once(dispatcher, clock):
    """Three schedulers, each on its own engine as three `cdht run` processes would be."""
    start = clock.now()
    for n in range(5):
        await quiet_half_way(dispatcher, user=f"u{n}")
    engines = [dispatcher.db, Database(dispatcher.db.url), Database(dispatcher.db.url)]
    recorders = [Recorder() for _ in engines]
    at(clock, start, DAY)
    try:
        counts = await asyncio.gather(
            *(
                scheduler_beside(Dispatcher(db, dispatcher.core, clock), {"test": r}).tick()
                for db, r in zip(engines, recorders, strict=True)
            )
        )
    finally:
        for db in engines[1:]:
            await db.dispose()
    assert sum(counts) == 5
    pushed = [u for r in recorders for u, _ in r.pushed]
    assert sorted(pushed) == [f"u{n}" for n in range(5)]


async def test_unreachable_accounts_get_no_reminder(dispatcher, clock):
    start = clock.now()
    await quiet_half_way(dispatcher)
    await dispatcher.mark_unreachable("test", "u1")  # blocked the bot
    channel = Recorder()
    at(clock, start, DAY)
    assert await scheduler_beside(dispatcher, {"test": channel}).tick() == 0


async def test_a_claimed_nudge_not_sent_is_pending_in_the_outbox(dispatcher, clock):
    """The process died between the claim and the send: the nudge is not claimed again,
    and it waits in the outbox, which a channel re-sends when it starts."""
    start = clock.now()
    await quiet_half_way(dispatcher)
    at(clock, start, DAY)
    assert await scheduler_beside(dispatcher, {"test": Recorder()}).tick() == 1  # "crash"
    assert await scheduler_beside(dispatcher, {"test": Recorder()}).tick() == 0
    pending = await dispatcher.unsent("test")
    nudges = [(u, d) for u, d in pending if "chưa đăng ký xong" in d.replies[0].text]
    assert len(nudges) == 1 and nudges[0][0] == "u1"  # (with the answers never sent here)


async def test_an_unsent_reply_taken_while_on_its_way_is_given_back(dispatcher, clock):
    """A channel that finds a reply it took is already being sent gives it back: if that
    send fails, the reply is tried again at the next look, not after a pause."""
    start = clock.now()
    await quiet_half_way(dispatcher)
    at(clock, start, DAY)
    assert await scheduler_beside(dispatcher, {"test": Recorder()}).tick() == 1
    taken = await dispatcher.unsent("test")
    assert taken and await dispatcher.unsent("test") == []  # taken for a while
    await dispatcher.release([d.outbox_id for _, d in taken])
    assert len(await dispatcher.unsent("test")) == len(taken)
