"""Benchmark of the Zalo OA channel: signed webhooks in, the OA API out, and a crash.

    make bench-zalo          # or: .venv/bin/python -m bench.zalo [--users 200]

This process plays Zalo: the fake OA API and OAuth server of the tests (tests/fake_zalo.py)
and USERS followers who all start at once and each go through registration and a whole
assessment (23 events: follow, typed answers, button taps), sending each event as a signed
webhook POST and answering as soon as the bot's reply is complete. The bot is `cdht run`
in its own process, on a fresh SQLite file (or --database).

Two runs:
  steady        no incident;
  kill-restart  the bot is killed (SIGKILL, no clean-up) when about half the events are
                in, and started again a second later. Meanwhile webhook POSTs fail; each
                is retried every 0.2 s with the same msg_id until it gets a 200, as Zalo
                retries a webhook that does not answer.

Measured: the webhook's response time (from the request being on the wire to the 200, as
Zalo sees it; the target is p99 at most 200 ms, Zalo gives up after 2 s; generator_* is
the same from this process's call, with its own queueing), the time to the complete reply,
and at the end: every event answered 200 must be in the bot's processed events (0 lost),
every person must have their result, and every chat the calibrated number of distinct
messages. A message identical to an earlier one of the same chat is a duplicate: a crash
may re-send an answer whose delivery was not yet recorded (duplicates over losses); they
are counted, and not taken for the next reply. Results: printed and in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
from sqlalchemy import create_engine, func, select

from bench.common import (
    cpu_seconds,
    free_port,
    letters,
    peak_rss_mb,
    percentile,
    scratch_postgres,
    write_results,
)
from storage.db import normalise_url
from storage.models import Assessment, ProcessedEvent
from tests.fake_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_SECRET_KEY, FakeZalo, sign

ROOT = Path(__file__).resolve().parent.parent
USERS = 200
STEP_LIMIT = 60.0  # seconds: a step taking longer counts as a lost reply
PATH = "/zalo/webhook"

# (kind, value): typed text, or the index of the button to tap on the latest question.
SCRIPT: list[tuple[str, Any]] = [
    ("follow", None),
    ("text", "NAME"),
    ("text", "1984"),
    ("tap", 1),  # gender
    ("tap", 0),  # group
    ("text", "ha noi"),
    ("text", "hoan kiem"),
    ("text", "Tổ 5"),
    ("text", "0912345678"),
    ("text", "1"),  # confirm: 8 options, typed (more than Zalo's 5 buttons)
    ("tap", 0),  # start self-scoring
    *[("tap", n % 4) for n in range(10)],
    ("tap", 0),  # submit
]
RESULT_MARK = "Kết quả tự đánh giá"


def _tracing() -> aiohttp.TraceConfig:
    """Notes when a request's headers are on the wire. The webhook's response time is
    taken from there, as Zalo would measure it: this one process also plays 200 senders
    and the fake API on a 2-core machine, and its own time to build, queue and send a
    request (up to ~200 ms in the first burst) is not the bot's. The time from the
    generator's call is reported as well (generator_*)."""

    async def headers_sent(session: Any, context: Any, params: Any) -> None:
        if isinstance(context.trace_request_ctx, list):
            context.trace_request_ctx.append(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(headers_sent)
    return trace


class Followers:
    """Closed-loop people: each waits for the whole reply before the next event."""

    def __init__(self, zalo: FakeZalo, webhook: str) -> None:
        self.zalo, self.webhook = zalo, webhook
        self.received: dict[str, int] = {}  # distinct messages per person
        self.seen: dict[str, set[tuple[str, str]]] = {}
        self.duplicates = 0
        self.waiting: dict[str, tuple[int, asyncio.Future[float]]] = {}
        self.accepted: set[str] = set()  # msg ids (event keys) answered 200
        self.webhook_ms: list[float] = []
        self.webhook_at: list[float] = []
        self.generator_ms: list[float] = []  # including this process's own queueing
        self.reply_s: list[float] = []
        self.retries = 0
        self.half = asyncio.Event()  # set when half the events of the run are in
        self.half_at = 0
        self.http: aiohttp.ClientSession | None = None
        zalo.on_message = self._on_message

    def _on_message(self, user_id: str) -> None:
        # A message identical to an earlier one of the chat is a re-sent answer (after the
        # crash): counted apart, so that it is not taken for the reply to the next step.
        # No two messages of the script's journey are the same otherwise.
        message = self.zalo.chats[user_id][-1]
        text = message["text"]
        if text.startswith("✓ "):  # the tapped answer shown back; a re-sent copy has none
            text = text.partition("\n\n")[2]
        key = (text, json.dumps(message.get("attachment"), sort_keys=True))
        seen = self.seen.setdefault(user_id, set())
        if key in seen:
            self.duplicates += 1
            return
        seen.add(key)
        count = self.received[user_id] = self.received.get(user_id, 0) + 1
        waiting = self.waiting.get(user_id)
        if waiting and count >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(time.perf_counter())

    def _event(self, uid: str, step: int, kind: str, value: Any) -> tuple[str, dict[str, Any]]:
        stamp = str(int(time.time() * 1000))
        if kind == "follow":
            event = {
                "app_id": APP_ID,
                "event_name": "follow",
                "timestamp": stamp,
                "oa_id": "1",
                "follower": {"id": uid},
            }
            return f"follow:{uid}:{stamp}", event
        if kind == "text":
            text = f"Người Thử {letters(int(uid) % 1_000_000)}" if value == "NAME" else value
        else:
            question = next(m for m in reversed(self.zalo.chats[uid]) if "attachment" in m)
            text = question["attachment"]["payload"]["buttons"][value]["payload"]
        msg_id = f"{uid}-{step}"
        event = {
            "app_id": APP_ID,
            "event_name": "user_send_text",
            "timestamp": stamp,
            "sender": {"id": uid},
            "recipient": {"id": "1"},
            "message": {"msg_id": msg_id, "text": text},
        }
        return msg_id, event

    async def post(self, key: str, event: dict[str, Any]) -> None:
        """POST until Zalo would be satisfied (a 200), as Zalo retries."""
        assert self.http is not None
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": sign(body, APP_ID, event["timestamp"]),
        }
        while True:
            start = time.perf_counter()
            sent: list[float] = []  # when the request was on the wire (see _tracing)
            try:
                async with self.http.post(
                    self.webhook, data=body, headers=headers, trace_request_ctx=sent
                ) as response:
                    await response.read()
                    if response.status == 200:
                        done = time.perf_counter()
                        self.webhook_ms.append((done - (sent[0] if sent else start)) * 1000)
                        self.generator_ms.append((done - start) * 1000)
                        self.webhook_at.append(start)
                        self.accepted.add(key)
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.retries += 1
            await asyncio.sleep(0.2)

    async def calibrate(self, uid: str) -> list[int]:
        """One person, slowly: how many messages each step produces."""
        counts = []
        for step, (kind, value) in enumerate(SCRIPT):
            before = self.received.get(uid, 0)
            await self.post(*self._event(uid, step, kind, value))
            last = -1
            while last != self.received.get(uid, 0):  # quiet for 0.4 s: the reply is complete
                last = self.received.get(uid, 0)
                await asyncio.sleep(0.4)
            counts.append(self.received.get(uid, 0) - before)
        if 0 in counts:
            raise RuntimeError(f"the bot did not answer every step: {counts}")
        return counts

    async def person(self, uid: str, counts: list[int], progress: list[int]) -> bool:
        loop = asyncio.get_running_loop()
        for step, ((kind, value), count) in enumerate(zip(SCRIPT, counts, strict=True)):
            future: asyncio.Future[float] = loop.create_future()
            self.waiting[uid] = (self.received.get(uid, 0) + count, future)
            start = time.perf_counter()
            await self.post(*self._event(uid, step, kind, value))
            progress[0] += 1
            if progress[0] >= self.half_at:
                self.half.set()
            try:
                done = await asyncio.wait_for(future, STEP_LIMIT)
            except TimeoutError:
                return False
            self.reply_s.append(done - start)
        return True


class BotProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.cpu = 0.0  # of processes that have ended
        self.rss = 0.0

    async def start(self, health: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self.env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(health) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the bot did not start")

    def measure(self) -> None:
        assert self.proc is not None
        self.cpu += cpu_seconds(self.proc.pid)
        self.rss = max(self.rss, peak_rss_mb(self.proc.pid))

    async def kill(self) -> None:
        assert self.proc is not None
        self.measure()
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.measure()
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()


def _processed(database_url: str) -> tuple[set[str], int]:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        keys = set(
            conn.execute(
                select(ProcessedEvent.event_id).where(ProcessedEvent.channel == "zalo")
            ).scalars()
        )
        submitted = conn.execute(
            select(func.count()).where(Assessment.status == "submitted")
        ).scalar_one()
    engine.dispose()
    return keys, submitted


async def run_case(name: str, users: int, database_url: str) -> dict[str, Any]:
    zalo = FakeZalo(record=False)
    await zalo.start()
    port = free_port()
    env = {
        **os.environ,
        "ZALO_APP_ID": APP_ID,
        "ZALO_APP_SECRET": APP_SECRET,
        "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "ZALO_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        "ZALO_OAUTH_BASE_URL": zalo.url,
        "DATABASE_URL": database_url,
        "CDHT_HOST": "127.0.0.1",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LOG_LEVEL": "WARNING",
        "PORT": str(port),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    base = f"http://127.0.0.1:{port}"
    bot = BotProcess(env)
    await bot.start(f"{base}/healthz")
    uids = [str(8_000_000_000_000_000_000 + n) for n in range(users)]  # 64-bit ids
    driver = Followers(zalo, base + PATH)
    # One connection per person, as Zalo's many senders would have (aiohttp's default
    # pool of 100 would queue half of the first burst inside this process).
    driver.http = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=5),
        connector=aiohttp.TCPConnector(limit=0),
        trace_configs=[_tracing()],
    )
    killed_at = None
    try:
        counts = await driver.calibrate("1")
        driver.webhook_ms.clear()
        driver.webhook_at.clear()
        driver.generator_ms.clear()
        driver.reply_s.clear()
        progress = [0]
        total = users * len(SCRIPT)
        start = time.perf_counter()
        driver.half_at = total // 2
        people = asyncio.gather(*(driver.person(uid, counts, progress) for uid in uids))
        if name == "kill-restart":
            await driver.half.wait()
            killed_at = progress[0]
            await bot.kill()
            await asyncio.sleep(1.0)
            await bot.start(f"{base}/healthz")
        finished = await people
        wall = time.perf_counter() - start
        if os.environ.get("BENCH_DEBUG"):
            slow = sorted(zip(driver.webhook_ms, driver.webhook_at, strict=True))[-60:]
            print([(round(ms), round(at - start, 2)) for ms, at in slow], file=sys.stderr)
        await asyncio.sleep(1.0)  # anything late or doubled arrives now
        bot.measure()
    finally:
        await bot.stop()
        await driver.http.close()
        await zalo.stop()
    processed, submitted = _processed(database_url)
    expected = sum(counts)
    no_result = sum(
        1 for u in uids if not any(RESULT_MARK in m["text"] for m in zalo.chats.get(u, []))
    )
    return {
        "run": name,
        "users": users,
        "database": database_url.split(":", 1)[0],
        "events": total,
        "killed_after_events": killed_at,
        "wall_s": round(wall, 2),
        "events_per_s": round(total / wall, 1),
        "webhook_p50_ms": round(percentile(driver.webhook_ms, 50), 1),
        "webhook_p99_ms": round(percentile(driver.webhook_ms, 99), 1),
        "webhook_max_ms": round(max(driver.webhook_ms), 1),
        "generator_p50_ms": round(percentile(driver.generator_ms, 50), 1),
        "generator_p99_ms": round(percentile(driver.generator_ms, 99), 1),
        "reply_p50_ms": round(percentile(driver.reply_s, 50) * 1000, 1),
        "reply_p99_ms": round(percentile(driver.reply_s, 99) * 1000, 1),
        "reply_mean_ms": round(statistics.fmean(driver.reply_s) * 1000, 1),
        "webhook_retries": driver.retries,
        "accepted_events": len(driver.accepted),
        "lost_events": len(driver.accepted - processed),
        "stuck_people": sum(1 for ok in finished if not ok),
        "missing_messages": sum(max(0, expected - driver.received.get(u, 0)) for u in uids),
        "extra_messages": sum(max(0, driver.received.get(u, 0) - expected) for u in uids),
        "duplicated_messages": driver.duplicates,
        "people_without_result": no_result,
        "submitted_assessments": submitted - 1,  # without the calibration person
        "bot_cpu_s": round(bot.cpu, 1),
        "bot_peak_rss_mb": round(bot.rss, 1),
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with TemporaryDirectory() as tmp:
        for name in args.runs:
            if args.postgres:
                with scratch_postgres(args.postgres, name) as url:
                    result = await run_case(name, args.users, url)
            else:
                url = f"sqlite:///{Path(tmp) / f'{name}.sqlite3'}"
                result = await run_case(name, args.users, url)
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["steady", "kill-restart"],
        choices=["steady", "kill-restart"],
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on PostgreSQL: a fresh database per run is created beside this one "
        "(e.g. postgresql://127.0.0.1:5432/test) and dropped after; default: SQLite files",
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    write_results("zalo", results)
    for r in results:
        print(
            f"{r['run']:>12}: webhook p99 {r['webhook_p99_ms']} ms (max {r['webhook_max_ms']}), "
            f"reply p99 {r['reply_p99_ms']} ms, {r['events_per_s']} events/s, "
            f"lost {r['lost_events']}, stuck {r['stuck_people']}, "
            f"duplicated messages {r['duplicated_messages']}"
        )


if __name__ == "__main__":
    main()
