"""Benchmark of the reminder scheduler at scale (issue 5), on SQLite and PostgreSQL.

    make bench-reminders     # or: .venv/bin/python -m bench.reminders [--people 1000000]

1. Build a database of PEOPLE chat accounts in SQL (a recursive CTE on SQLite,
   generate_series on PostgreSQL), spread over the 3,321 communes. DUE of them (every
   tenth) stopped half-way three days ago and have a nudge due now: half in registration,
   half in the self-scoring with 3 answers. The others are registered; 60% of those
   submitted their self-scoring this year.
2. claim-nudges: all due nudges are claimed with storage.nudges.claim_nudges in batches
   of 1,000 (one transaction each: the joined read, the executemany that moves each
   conversation on, the outbox insert). Target: at most 100 ms a batch.
3. claim-deadline: a national deadline whose reminder is current, to every citizen who
   has not submitted (about 35% of the people), in batches of 1,000
   (storage.deadlines.claim_reminders).
4. end-to-end: the nudges are made due again; the scheduler loop (bot/scheduler.py) runs
   with the real Telegram channel (PTB over HTTP) against the fake Bot API of the tests,
   capped at 30 messages/s the way Telegram is (a token bucket; over it, 429) for SECONDS.
   Target: the channel holds the cap (about 30 messages/s, no 429) and no one gets a
   nudge twice; what is claimed but not sent when it stops is in the outbox, not lost.

Results: printed and in bench/results/reminders-*.json; docs/PERFORMANCE.md has the
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bench.common import number_series, peak_rss_mb, percentile, scratch_postgres, write_results
from bot.channels.telegram import TelegramChannel
from bot.clock import FixedClock
from bot.config import Settings, TelegramSettings
from bot.core import load_core
from bot.dispatcher import Dispatcher
from bot.scheduler import Scheduler
from flows.deadlines import Deadline
from flows.reminders import NudgeSchedule
from storage import deadlines as deadline_store
from storage import nudges as store
from storage.db import Database
from tests.fake_telegram import FakeTelegram

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
QUIET_SINCE = NOW - timedelta(days=3)  # the 24-hour and 3-day nudges are both due
BATCH = 1000
CAP = 30.0


def build(conn: Connection, people: int, communes: list[tuple[int, int]]) -> None:
    """Fill an empty, migrated database (see the module docstring)."""
    pg = conn.dialect.name == "postgresql"
    t0 = "'2026-11-20 03:00:00+00'::timestamptz" if pg else "'2026-11-20 03:00:00.000000'"
    due = "'2026-11-21 03:00:00+00'::timestamptz" if pg else "'2026-11-21 03:00:00.000000'"
    json = "::jsonb" if pg else ""
    series = number_series(conn, people, communes)
    k = len(communes)
    # g % 20 == 0: half-way through registration (no person); g % 20 == 10: self-scoring
    # in progress (3 answers); everyone else registered, g % 5 in (1, 2, 3) submitted.
    conn.execute(
        text(
            "INSERT INTO people (id, full_name, birth_year, gender, group_code, province_code, "
            "commune_code, language, registered_at, updated_at) "
            f"SELECT g, 'Người ' || g, 1950 + g % 60, 'female', '1', c.province, c.code, 'vi', "
            f"{t0}, {t0} FROM {series} JOIN bench_communes c ON c.n = g % {k} WHERE g % 20 <> 0"
        )
    )
    conn.execute(
        text(
            "INSERT INTO channel_accounts (id, channel, external_id, person_id, created_at, "
            f"unreachable) SELECT g, 'telegram', '' || (100000000 + g), "
            f"CASE WHEN g % 20 = 0 THEN NULL ELSE g END, {t0}, {'false' if pg else '0'} "
            f"FROM {series}"
        )
    )
    draft = '{"lang": "vi", "prompt": 3, "screen": "reg.birth_year", "draft": {"name": "A"}}'
    menu = '{"lang": "vi", "prompt": 9, "screen": "menu"}'
    asking = '{"lang": "vi", "prompt": 14, "screen": "q.1.4"}'
    conn.execute(
        text(
            "INSERT INTO conversations (account_id, state, updated_at, nudge_at, nudge_round, "
            f"reminders_off) SELECT g, CASE WHEN g % 20 = 0 THEN '{draft}'{json} "
            f"WHEN g % 20 = 10 THEN '{asking}'{json} ELSE '{menu}'{json} END, {t0}, "
            f"CASE WHEN g % 10 = 0 THEN {due} END, 0, {'false' if pg else '0'} FROM {series}"
        )
    )
    conn.execute(
        text(
            "INSERT INTO assessments (id, person_id, campaign_year, criteria, group_code, status, "
            "started_at, submitted_at, total, title_reached) "
            f"SELECT g, g, 2026, 'cdht-2023', '1', CASE WHEN g % 20 = 10 THEN 'in_progress' "
            f"ELSE 'submitted' END, {t0}, CASE WHEN g % 20 = 10 THEN NULL ELSE {t0} END, "
            f"CASE WHEN g % 20 = 10 THEN NULL ELSE 85 END, "
            f"CASE WHEN g % 20 = 10 THEN NULL ELSE {'true' if pg else '1'} END "
            f"FROM {series} WHERE g % 20 = 10 OR (g % 10 <> 0 AND g % 5 IN (1, 2, 3))"
        )
    )
    for indicator in ("1.1", "1.2", "1.3"):
        conn.execute(
            text(
                "INSERT INTO answers (assessment_id, indicator, option_index, points, "
                f"answered_at) SELECT g, '{indicator}', 1, 5, {t0} FROM {series} "
                "WHERE g % 20 = 10"
            )
        )
    if pg:
        for table in ("people", "channel_accounts", "assessments"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def analyse(conn: Connection) -> None:
    conn.exec_driver_sql("ANALYZE")


def renew(conn: Connection) -> None:
    """The nudges due again, the outbox emptied (for the end-to-end run)."""
    conn.execute(
        text(
            "UPDATE conversations SET nudge_round = 0, nudge_at = updated_at + interval '1 day' "
            "WHERE account_id % 10 = 0"
            if conn.dialect.name == "postgresql"
            else "UPDATE conversations SET nudge_round = 0, "
            "nudge_at = '2026-11-21 03:00:00.000000' WHERE account_id % 10 = 0"
        )
    )
    conn.execute(text("DELETE FROM processed_events"))


async def timed_batches(db: Database, claim: Callable[[Connection], tuple[list, int]]) -> dict:
    times, claimed = [], 0
    while True:
        start = time.perf_counter()
        got, read = await db.run(claim)
        times.append((time.perf_counter() - start) * 1000)
        claimed += len(got)
        if read < BATCH:
            break
    return {
        "batches": len(times),
        "claimed": claimed,
        "ms_median": round(statistics.median(times), 1),
        "ms_p95": round(percentile(times, 95), 1),
        "ms_max": round(max(times), 1),
    }


class Meter:
    """Counts what reaches the fake Bot API: per chat and per second."""

    def __init__(self) -> None:
        self.per_chat: Counter[int] = Counter()
        self.stamps: list[float] = []

    def __call__(self, chat_id: int, method: str) -> None:
        if method == "sendMessage":
            self.per_chat[chat_id] += 1
            self.stamps.append(time.monotonic())

    def max_in_a_second(self) -> int:
        best, lo = 0, 0
        for hi, stamp in enumerate(self.stamps):
            while stamp - self.stamps[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


async def end_to_end(db: Database, dispatcher: Dispatcher, core: Any, seconds: float) -> dict:
    tg = FakeTelegram(record=False)
    tg.cap = CAP
    meter = Meter()
    tg.on_bot_message = meter
    await tg.start()
    settings = TelegramSettings(token=tg.token, api_base_url=tg.url, max_per_second=CAP)
    channel = TelegramChannel(settings, dispatcher, core.langs, core.default_lang)
    await channel.start()
    scheduler = Scheduler(db, dispatcher.clock, core, {"telegram": channel})
    queued: list[int] = []

    async def watch() -> None:
        while True:
            await asyncio.sleep(1)
            queued.append(channel.queued)

    started = time.monotonic()
    loop = asyncio.create_task(scheduler.run())
    watcher = asyncio.create_task(watch())
    await asyncio.sleep(seconds)
    scheduler.stop()
    await loop
    watcher.cancel()
    sent_in_run = len(meter.stamps)
    elapsed = time.monotonic() - started
    channel.STOP_GRACE = 0.0  # what is still queued stays in the outbox
    await channel.stop()
    await tg.stop()
    claimed, delivered = await db.run(
        lambda conn: conn.execute(
            text("SELECT count(*), count(delivered_at) FROM processed_events")
        ).one()
    )
    # Steady state: after the first second (the bucket's initial burst).
    steady = [s for s in meter.stamps if s - started >= 2.0]
    steady_rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    return {
        "seconds": round(elapsed, 1),
        "sent": sent_in_run,
        "rate_per_s": round(sent_in_run / elapsed, 1),
        "steady_rate_per_s": round(steady_rate, 1),
        "max_in_any_second": meter.max_in_a_second(),
        "refused_429": tg.over_cap,
        "duplicates": sum(n - 1 for n in meter.per_chat.values() if n > 1),
        "claimed": claimed,
        "delivered_marked": delivered,
        "claimed_not_sent_left_in_outbox": claimed - len(meter.per_chat),
        "queued_max": max(queued, default=0),
    }


async def run(url: str, label: str, people: int, seconds: float) -> dict:
    core = load_core(Settings(campaign_year=2026))
    communes = [
        (c.code, p.code) for p in core.places.provinces for c in core.places.communes_of(p.code)
    ]
    db = Database(url)
    await db.migrate()
    result: dict[str, Any] = {"database": label, "people": people}
    start = time.perf_counter()
    await db.run(lambda conn: build(conn, people, communes))
    await db.run(analyse)
    result["build_s"] = round(time.perf_counter() - start, 1)
    print(f"{label}: built {people:,} accounts in {result['build_s']} s", flush=True)

    dispatcher = Dispatcher(db, core, FixedClock(NOW))
    world = core.world(NOW)
    schedule = NudgeSchedule()
    result["claim_nudges"] = await timed_batches(
        db,
        lambda conn: store.claim_nudges(conn, "telegram", schedule, NOW, 2026, BATCH, world),
    )
    print(f"{label}: nudges {result['claim_nudges']}", flush=True)

    due = (NOW + timedelta(days=7)).date()
    deadline = Deadline(title={"vi": "Hạn tự đánh giá"}, day=due.day, month=due.month, year=None)
    new_id = await db.run(lambda conn: deadline_store.add(conn, deadline, NOW))
    deadline = Deadline(**{**deadline.__dict__, "id": new_id})
    reminder = deadline.reminder(NOW)
    result["claim_deadline"] = await timed_batches(
        db,
        lambda conn: deadline_store.claim_reminders(
            conn,
            deadline,
            reminder,
            "telegram",
            2026,
            NOW,
            BATCH,
            world,
        ),
    )
    print(f"{label}: deadline {result['claim_deadline']}", flush=True)
    await db.run(lambda conn: deadline_store.cancel(conn, new_id, NOW))

    await db.run(renew)
    result["end_to_end"] = await end_to_end(db, dispatcher, core, seconds)
    print(f"{label}: end to end {result['end_to_end']}", flush=True)
    result["peak_rss_mb"] = round(peak_rss_mb(os.getpid()))
    await db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="end-to-end run length")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = []
    if args.only != "postgresql":
        with TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            results.append(asyncio.run(run(url, "sqlite", args.people, args.seconds)))
    if args.only != "sqlite":
        with scratch_postgres(PG_ADMIN, "reminders") as url:
            results.append(asyncio.run(run(url, "postgresql", args.people, args.seconds)))
    write_results("reminders", results)


if __name__ == "__main__":
    main()
