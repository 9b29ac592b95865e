"""Kill benchmark: how many messages a kill -9 repeats or loses, per 100 active chats.

    make bench-kill          # or: .venv/bin/python -m bench.kill [--runs 3] [--users 100]

This process plays Telegram (the tests' fake Bot API) and USERS people who all chat at
once, each going through registration and a whole assessment (22 updates) with a short
pause before each step, as people typing do. The bot is `cdht run` (polling) in its own
process on a fresh SQLite file, with Telegram's outbound limits off. When about half the
updates are in, the bot is killed (SIGKILL: no clean-up, whatever was in flight is cut) and
started again a second later.

Counted per run, at the end:
- duplicated: messages a chat got twice (a reply sent before the kill whose delivery was
  not yet written down is sent again after the restart);
- missing: chats that did not get to their result (a reply or an update lost);
- the people who did not finish within STEP_LIMIT of a step.
A message whose text is the same as an earlier one of the chat is a duplicate (the script's
own repeats, found in a calibration run, are left out), and is not taken for the next reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.common import letters, write_results
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-kill"
USERS = 100
THINK = 0.3  # mean seconds a person pauses before each step
STEP_LIMIT = 60.0
SCRIPT: list[tuple[str, Any]] = [
    ("text", "/start"),
    ("text", "NAME"),
    ("text", "1984"),
    ("tap", 1),
    ("tap", 0),
    ("text", "ha noi"),
    ("text", "hoan kiem"),
    ("text", "Tổ 5"),
    ("text", "Bỏ qua"),
    ("tap", 0),
    ("tap", 0),
    *[("tap", n % 4) for n in range(10)],
    ("tap", 0),
]
RESULT_MARK = "Kết quả tự đánh giá"


class People:
    """Closed-loop people who count a reply's new messages (a repeat is not new)."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.seen: dict[int, list[str]] = {}
        self.new: dict[int, int] = {}
        self.repeats: dict[int, int] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self.steps = 0
        self.half = asyncio.Event()  # set when `halfway` steps are done
        self.halfway = 0
        tg.on_bot_message = self._on_bot_message

    def _on_bot_message(self, chat_id: int, method: str) -> None:
        if method != "sendMessage":
            return
        chat = self.tg.chats[chat_id]
        text = next(m for m in reversed(chat.messages.values()) if m["from"]["is_bot"]).get(
            "text", ""
        )
        seen = self.seen.setdefault(chat_id, [])
        if text in seen:
            self.repeats[chat_id] = self.repeats.get(chat_id, 0) + 1
        else:
            seen.append(text)
            self.new[chat_id] = self.new.get(chat_id, 0) + 1
        waiting = self.waiting.get(chat_id)
        if waiting and self.new.get(chat_id, 0) >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(None)

    def _update(self, uid: int, user: dict[str, Any], kind: str, value: Any) -> dict[str, Any]:
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

    async def calibrate(self, uid: int) -> tuple[list[int], int]:
        """One person, slowly: new messages per step, and the script's own repeats."""
        user = {"id": uid, "is_bot": False, "first_name": "Thử", "language_code": "vi"}
        self.tg.chat(uid)
        counts = []
        for kind, value in SCRIPT:
            before = self.new.get(uid, 0)
            await self.tg.push(self._update(uid, user, kind, value))
            last = -1
            while last != self.new.get(uid, 0):
                last = self.new.get(uid, 0)
                await asyncio.sleep(0.4)
            counts.append(self.new.get(uid, 0) - before)
        return counts, self.repeats.get(uid, 0)

    async def person(self, uid: int, counts: list[int]) -> bool:
        user = {"id": uid, "is_bot": False, "first_name": "Thử", "language_code": "vi"}
        self.tg.chat(uid)
        rnd = random.Random(uid)
        loop = asyncio.get_running_loop()
        for (kind, value), count in zip(SCRIPT, counts, strict=True):
            await asyncio.sleep(rnd.uniform(0.5, 1.5) * THINK)
            future: asyncio.Future[None] = loop.create_future()
            self.waiting[uid] = (self.new.get(uid, 0) + count, future)
            await self.tg.push(self._update(uid, user, kind, value))
            try:
                await asyncio.wait_for(future, STEP_LIMIT)
            except TimeoutError:
                return False
            self.steps += 1
            if self.halfway and self.steps >= self.halfway:
                self.half.set()
        return True


class Bot:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, tg: FakeTelegram) -> None:
        polls = tg.counts["getUpdates"]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
        )
        for _ in range(300):
            if tg.counts["getUpdates"] > polls:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the bot did not start")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()


async def run_once(n: int, users: int, workdir: Path) -> dict[str, Any]:
    tg = FakeTelegram(token=TOKEN, record=False)
    await tg.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": tg.url,
        "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
        "TELEGRAM_MAX_MESSAGES_PER_CHAT_PER_SECOND": "0",
        "DATABASE_URL": f"sqlite:///{workdir / f'kill-{n}.sqlite3'}",
        "CDHT_HOST": "127.0.0.1",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LOG_LEVEL": "WARNING",
        "PORT": "0",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    bot = Bot(env)
    await bot.start(tg)
    try:
        people = People(tg)
        counts, natural = await people.calibrate(1)
        started = time.monotonic()
        total = users * len(SCRIPT)
        people.halfway = total // 2
        runs = asyncio.gather(*(people.person(10_000 + u, counts) for u in range(users)))
        await people.half.wait()
        at_kill = people.steps
        await bot.kill()
        await asyncio.sleep(1.0)
        await bot.start(tg)
        finished = await runs
        await asyncio.sleep(2.0)  # anything re-sent late arrives now
        chats = [tg.chats[10_000 + u] for u in range(users)]
        duplicated = sum(max(0, people.repeats.get(c.id, 0) - natural) for c in chats)
        doubled_chats = sum(1 for c in chats if people.repeats.get(c.id, 0) > natural)
        no_result = sum(
            1
            for c in chats
            if not any(RESULT_MARK in m.get("text", "") for m in c.messages.values())
        )
        return {
            "run": n,
            "users": users,
            "updates": total,
            "killed_after_updates": at_kill,
            "seconds": round(time.monotonic() - started, 1),
            "duplicated_messages": duplicated,
            "chats_with_a_duplicate": doubled_chats,
            "duplicated_per_100_chats": round(duplicated * 100 / users, 1),
            "chats_without_result": no_result,
            "stuck_people": sum(1 for ok in finished if not ok),
        }
    finally:
        await bot.stop()
        await tg.stop()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with TemporaryDirectory() as tmp:
        for n in range(1, args.runs + 1):
            result = await run_once(n, args.users, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=USERS)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    write_results("kill", results)
    for r in results:
        print(
            f"run {r['run']}: {r['duplicated_per_100_chats']} duplicated messages per 100 "
            f"chats ({r['chats_with_a_duplicate']} chats), {r['chats_without_result']} "
            f"without their result, {r['stuck_people']} stuck"
        )


if __name__ == "__main__":
    main()
