"""Benchmark of the Telegram channel through the real PTB stack against a fake Bot API.

    make bench-telegram      # or: .venv/bin/python -m bench.telegram [--users 500]

This process plays Telegram: the fake Bot API server of the tests (tests/fake_telegram.py)
and USERS people who all start at once and each go through registration and a whole
assessment (22 updates), answering as soon as the bot's reply is complete. The bot runs in
its own process, talking HTTP to the fake, in turn:

  ours      `cdht run` (polling) on a fresh SQLite file: every answer committed before the
            update is confirmed, replies paced per chat, taps answered and edited;
  ours-webhook  the same with the fake POSTing updates to our webhook;
  naive     bench/naive_telegram_bot.py, state in a dict, `run_polling()` with PTB's
            defaults (updates one at a time): the bot most PTB users write first;
  naive-concurrent  the same with concurrent_updates(True).

Telegram's own outbound limits are switched off in the bot (TELEGRAM_MAX_MESSAGES_* = 0):
the point is the bot's capacity, and the fake is not Telegram.

Each bot is measured twice: flat out (everyone answers the moment the reply is complete:
the most updates per second, and a latency that is mostly queueing, 500 people / rate by
Little's law) and paced (people pause between steps, 0.5-1.5x a mean chosen so that
together they offer 300 updates/s: the latency at the target load).

A calibration run with one person first counts how many messages each step produces; in
the load run a step is complete when that many have arrived. Latency is from the update
being handed to Telegram's side (getUpdates queue or webhook POST) to the last message of
the reply. At the end every chat must hold exactly the calibrated number of messages
(0 lost, 0 duplicated) and end with the result. Results: printed and in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.common import (
    cpu_seconds,
    free_port,
    letters,
    peak_rss_mb,
    percentile,
    write_results,
)
from tests.fake_telegram import IN_WEBHOOK_ANSWER, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "424242:BENCH-token"
USERS = 500
STEP_LIMIT = 60.0  # seconds: a step taking longer counts as a lost reply

# (kind, value): typed text, or the index of the button to tap on the latest keyboard.
SCRIPT: list[tuple[str, Any]] = [
    ("text", "/start"),
    ("text", "NAME"),
    ("text", "1984"),
    ("tap", 1),  # gender
    ("tap", 0),  # group
    ("text", "ha noi"),
    ("text", "hoan kiem"),
    ("text", "Tổ 5"),
    ("text", "Bỏ qua"),  # phone
    ("tap", 0),  # confirm
    ("tap", 0),  # start self-scoring
    *[("tap", n % 4) for n in range(10)],
    ("tap", 0),  # submit
]
RESULT_MARK = "Kết quả tự đánh giá"


def _requests(tg: FakeTelegram) -> int:
    """Bot API requests the bot made, beside getUpdates (methods it put in its answers to
    webhook calls are not requests)."""
    return sum(
        n for m, n in tg.counts.items() if m != "getUpdates" and not m.startswith(IN_WEBHOOK_ANSWER)
    )


class Users:
    """Closed-loop people: each waits for the whole reply before the next step."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.sent: dict[int, int] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[float]]] = {}
        tg.on_bot_message = self._on_bot_message

    def _on_bot_message(self, chat_id: int, method: str) -> None:
        if method != "sendMessage":
            return
        count = self.sent[chat_id] = self.sent.get(chat_id, 0) + 1
        waiting = self.waiting.get(chat_id)
        if waiting and count >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(time.perf_counter())

    def _update(self, uid: int, user: dict, kind: str, value: Any) -> dict:
        tg = self.tg
        if kind == "text":
            text = f"Người Thử {letters(uid)}" if value == "NAME" else value
            content: dict[str, Any] = {"text": text}
            if text.startswith("/"):
                content["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
            return {"message": tg.user_message(uid, user, **content)}
        chat = tg.chats[uid]
        message = next(
            m
            for m in reversed(chat.messages.values())
            if m["from"]["is_bot"] and "reply_markup" in m
        )
        button = [b for row in message["reply_markup"]["inline_keyboard"] for b in row][value]
        return {
            "callback_query": {
                "id": str(next(tg.callback_ids)),
                "from": user,
                "message": {k: v for k, v in message.items() if not k.startswith("_")},
                "chat_instance": f"ci{uid}",
                "data": button["callback_data"],
            }
        }

    async def calibrate(self, uid: int) -> list[int]:
        """One person, slowly: how many messages each step produces."""
        user = {"id": uid, "is_bot": False, "first_name": "Thử", "language_code": "vi"}
        self.tg.chat(uid)
        counts = []
        for kind, value in SCRIPT:
            before = self.sent.get(uid, 0)
            await self.tg.push(self._update(uid, user, kind, value))
            last = -1
            while last != self.sent.get(uid, 0):  # quiet for 0.4 s: the reply is complete
                last = self.sent.get(uid, 0)
                await asyncio.sleep(0.4)
            counts.append(self.sent.get(uid, 0) - before)
        if 0 in counts:
            raise RuntimeError(f"the bot did not answer every step: {counts}")
        return counts

    async def person(
        self, uid: int, counts: list[int], latencies: list[float], think: float = 0.0
    ) -> bool:
        """`think`: mean seconds a person pauses before each step (0: none)."""
        user = {"id": uid, "is_bot": False, "first_name": "Thử", "language_code": "vi"}
        self.tg.chat(uid)
        loop = asyncio.get_running_loop()
        rnd = random.Random(uid)
        for (kind, value), count in zip(SCRIPT, counts, strict=True):
            if think:
                await asyncio.sleep(rnd.uniform(0.5, 1.5) * think)
            future: asyncio.Future[float] = loop.create_future()
            self.waiting[uid] = (self.sent.get(uid, 0) + count, future)
            update = self._update(uid, user, kind, value)
            start = time.perf_counter()
            await self.tg.push(update)
            try:
                done = await asyncio.wait_for(future, STEP_LIMIT)
            except TimeoutError:
                return False
            latencies.append(done - start)
        return True


async def run_case(name: str, users: int, workdir: Path, rate: float = 0.0) -> dict[str, Any]:
    """rate: offered updates/s (people pause between steps so that, together, they send
    about this many); 0: everyone answers at once, flat out."""
    tg = FakeTelegram(token=TOKEN, record=False)
    await tg.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": tg.url,
        "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
        "TELEGRAM_MAX_MESSAGES_PER_CHAT_PER_SECOND": "0",
        "DATABASE_URL": f"sqlite:///{workdir / f'{name}-{rate:g}.sqlite3'}",
        "CDHT_HOST": "127.0.0.1",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LOG_LEVEL": "WARNING",
        "PORT": "0",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    if name.startswith("ours"):
        command = [sys.executable, "-m", "bot", "run"]
        if name == "ours-webhook":
            port = free_port()
            env["PORT"] = str(port)
            env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram"
            env["TELEGRAM_WEBHOOK_SECRET"] = "bench"
    else:
        command = [sys.executable, "-m", "bench.naive_telegram_bot"]
        if name == "naive-concurrent":
            command.append("--concurrent")
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        for _ in range(300):  # ready: polling, or the webhook is set
            if tg.counts["getUpdates"] or tg.webhook:
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"{name}: the bot did not start")
        driver = Users(tg)
        counts = await driver.calibrate(1)
        latencies: list[float] = []
        calls_before = _requests(tg)
        cpu_before, fake_before = cpu_seconds(proc.pid), time.process_time()
        start = time.perf_counter()
        think = users / rate if rate else 0.0
        finished = await asyncio.gather(
            *(driver.person(10_000 + n, counts, latencies, think) for n in range(users))
        )
        wall = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid) - cpu_before
        fake_cpu = time.process_time() - fake_before
        await asyncio.sleep(1.0)  # anything late or doubled arrives now
        expected = sum(counts)
        chats = [tg.chats[10_000 + n] for n in range(users)]
        lost = sum(1 for ok in finished if not ok)
        extra = sum(max(0, driver.sent.get(c.id, 0) - expected) for c in chats)
        missing = sum(max(0, expected - driver.sent.get(c.id, 0)) for c in chats)
        no_result = sum(
            1
            for c in chats
            if not any(RESULT_MARK in m.get("text", "") for m in c.messages.values())
        )
        updates = users * len(SCRIPT)
        api_calls = _requests(tg) - calls_before
        rss = peak_rss_mb(proc.pid)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT if name.startswith("naive") else signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
        await tg.stop()
    return {
        "bot": name,
        "users": users,
        "offered_per_s": rate or "flat out",
        "updates": updates,
        "wall_s": round(wall, 2),
        "updates_per_s": round(updates / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "api_requests_per_update": round(api_calls / updates, 2),
        "messages_per_person": expected,
        "bot_cpu_ms_per_update": round(cpu / updates * 1000, 3),
        "bot_cpu_share": round(cpu / wall, 2),
        "fake_cpu_share": round(fake_cpu / wall, 2),
        "bot_peak_rss_mb": round(rss, 1),
        "stuck_people": lost,
        "missing_messages": missing,
        "duplicated_messages": extra,
        "chats_without_result": no_result,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with TemporaryDirectory() as tmp:
        for rate in args.rates:
            for name in args.bots:
                result = await run_case(name, args.users, Path(tmp), rate)
                print(json.dumps(result), flush=True)
                results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument(
        "--bots",
        nargs="+",
        default=["ours", "ours-webhook", "naive", "naive-concurrent"],
        choices=["ours", "ours-webhook", "naive", "naive-concurrent"],
    )
    parser.add_argument(
        "--rates",
        nargs="+",
        type=float,
        default=[0.0, 300.0],
        help="offered updates/s; 0 = flat out (default: 0 and 300)",
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    write_results("telegram", results)
    for r in results:
        print(
            f"{r['bot']:>17} offered {r['offered_per_s']}: {r['updates_per_s']} updates/s, "
            f"p99 {r['p99_ms']} ms, {r['api_requests_per_update']} requests/update, "
            f"lost {r['missing_messages']}, duplicated {r['duplicated_messages']}"
        )


if __name__ == "__main__":
    main()
