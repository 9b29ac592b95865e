"""Several bot processes on one PostgreSQL, behind a round-robin proxy: any process takes
any update, and each chat still gets its replies once and in order, also while one of
them is killed (kill -9) and started again.

Three `cdht run` processes in webhook mode, started as an operator would (the schema
migrated once, then the processes), a proxy that sends each webhook call to the next
process in turn (tests/round_robin.py), and the fake Bot API (tests/fake_telegram.py)
playing Telegram: it delivers a chat's updates one after another, delivers again an
update the proxy answered 5xx, and records every message in the order it takes them.
100 people register and self-assess, typing some answers ahead (three updates of one
chat at once, which land on three processes); half-way, one process is killed and
started again a second later.

The kill lands while no send is in flight (the fake Bot API holds new sends for two
seconds first, so that what went out before is written down as sent): a message Telegram
took whose answer had not reached the process when it died, or that the process had not
yet written down as sent, cannot be known to have arrived, and is sent again by whoever
takes over (at most one per chat being sent to at that instant; `make bench-kill` counts
those). Everything else, the design must get right: no reply lost, none twice, none out of
order; and a process that is starting answers webhooks 503 until it can take them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL
from tests.fake_telegram import FakeTelegram
from tests.round_robin import RoundRobin

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 100
NAME = "Người Thử"
RESULT_MARK = "Kết quả tự đánh giá"
# What each person does, in bursts: the updates of a burst go one after another without
# waiting for the bot's replies (a person typing ahead); then they wait for the replies.
SCRIPT: list[list[tuple[str, Any]]] = [
    [("text", "/start"), ("text", NAME), ("text", "1984")],
    [("tap", 1)],  # Nữ
    [("tap", 0)],  # Nhóm 1
    [("text", "ha noi"), ("text", "hoan kiem"), ("text", "Tổ 5"), ("text", "Bỏ qua")],
    [("tap", 0)],  # the details are right
    [("tap", 0)],  # start the self-assessment
    *[[("tap", n % 4)] for n in range(10)],
    [("tap", 0)],  # submit
]
STEP_LIMIT = 60.0  # seconds a person waits for the replies to a burst


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_pg():
    """A PostgreSQL database of this test's own (the processes migrate it)."""
    name = f"cdht_procs_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Process:
    """One `cdht run` on a port of its own; its output goes to a file."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = {**env, "PORT": str(port)}, port, log
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=ROOT, stdout=out, stderr=out
            )

    async def ready(self, session: aiohttp.ClientSession, limit: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.returncode is None, self.log.read_text()
            try:
                async with session.get(f"{self.url}/healthz") as resp:
                    if resp.status == 200:
                        return await resp.json()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise TimeoutError(f"process on {self.port} not ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


class People:
    """People who act in bursts and wait for as many replies as the bot gives one person
    alone; every message each chat gets is recorded in the order Telegram took it."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.got: dict[int, list[str]] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self.bursts = 0
        self.half = asyncio.Event()
        self.halfway = 0
        tg.on_bot_message = self._on_bot_message

    def _on_bot_message(self, chat_id: int, method: str) -> None:
        if method != "sendMessage":
            return
        chat = self.tg.chats[chat_id]
        last = next(m for m in reversed(chat.messages.values()) if m["from"]["is_bot"])
        got = self.got.setdefault(chat_id, [])
        got.append(last.get("text", ""))
        waiting = self.waiting.get(chat_id)
        if waiting and len(got) >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(None)

    def _update(self, uid: int, kind: str, value: Any) -> dict[str, Any]:
        tg = self.tg
        user = {"id": uid, "is_bot": False, "first_name": "Thử", "language_code": "vi"}
        if kind == "text":
            content: dict[str, Any] = {"text": value}
            if value.startswith("/"):
                content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(value)}]
            return {"message": tg.user_message(uid, user, **content)}
        message = next(
            (
                m
                for m in reversed(tg.chats[uid].messages.values())
                if m["from"]["is_bot"] and "inline_keyboard" in m.get("reply_markup", {})
            ),
            None,
        )
        if message is None:
            raise Stuck("no buttons to tap")
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        if value >= len(buttons):
            raise Stuck("not the buttons expected")
        button = buttons[value]
        query = {
            "id": str(next(tg.callback_ids)),
            "from": user,
            "message": {k: v for k, v in message.items() if not k.startswith("_")},
            "chat_instance": f"ci{uid}",
            "data": button["callback_data"],
        }
        return {"callback_query": query}

    async def _push(self, uid: int, burst: list[tuple[str, Any]]) -> None:
        for kind, value in burst:
            delivery = await self.tg.push(self._update(uid, kind, value))
            assert delivery is not None and delivery.status == 200, delivery

    async def alone(self, uid: int) -> list[int]:
        """One person with the bot to themselves: how many messages after each burst."""
        self.tg.chat(uid)
        counts = []
        for burst in SCRIPT:
            await self._push(uid, burst)
            seen = -1
            while seen != len(self.got.get(uid, [])):
                seen = len(self.got.get(uid, []))
                await asyncio.sleep(0.5)
            counts.append(seen)
        return counts

    async def person(self, uid: int, counts: list[int]) -> bool:
        self.tg.chat(uid)
        rnd = random.Random(uid)
        loop = asyncio.get_running_loop()
        for burst, count in zip(SCRIPT, counts, strict=True):
            await asyncio.sleep(rnd.uniform(0.05, 0.4))
            future: asyncio.Future[None] = loop.create_future()
            self.waiting[uid] = (count, future)
            if len(self.got.get(uid, [])) >= count:
                future.set_result(None)
            try:
                await self._push(uid, burst)
            except Stuck:
                return False
            try:
                await asyncio.wait_for(future, STEP_LIMIT)
            except TimeoutError:
                return False
            self.bursts += 1
            if self.halfway and self.bursts >= self.halfway:
                self.half.set()
        return True


class Stuck(Exception):
    """A person cannot go on: what they see is not what the bot shows one person alone."""


def _compare(expected: list[str], got: list[str]) -> str | None:
    """What is wrong with a chat's messages: lost, twice, or out of order."""
    if got == expected:
        return None
    lost = [t for t in expected if got.count(t) < expected.count(t)]
    twice = [t for t in got if got.count(t) > expected.count(t)]
    if lost or twice:
        return f"lost {[t[:40] for t in lost]}, twice {[t[:40] for t in twice]}"
    first = next(n for n, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b)
    return f"out of order from message {first}: {got[first][:40]!r} for {expected[first][:40]!r}"


async def test_three_processes_one_order_per_chat_across_a_kill(own_pg, tmp_path):
    tg = FakeTelegram(token="123456:PROCS-token")
    await tg.start()
    tg.redeliver_every = 0.3
    ports = [_free_port() for _ in range(3)]
    proxy = RoundRobin([f"http://127.0.0.1:{p}" for p in ports])
    await proxy.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.url,
        "TELEGRAM_WEBHOOK_URL": f"{proxy.url}/telegram/webhook",
        "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
        "TELEGRAM_MAX_MESSAGES_PER_CHAT_PER_SECOND": "0",
        "DATABASE_URL": own_pg,
        "CDHT_HOST": "127.0.0.1",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LANGUAGE": "vi",
        "CDHT_LOG_LEVEL": "WARNING",
    }
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert await migrate.wait() == 0
    processes = [Process(env, port, tmp_path / f"process-{n}.log") for n, port in enumerate(ports)]
    session = aiohttp.ClientSession()
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await asyncio.gather(*(p.ready(session) for p in processes))

        # /healthz through the proxy: each process says who it is and how far behind
        # sending is.
        answers = []
        for _ in range(3):
            async with session.get(f"{proxy.url}/healthz") as resp:
                assert resp.status == 200
                answers.append(await resp.json())
        assert len({a["process"] for a in answers}) == 3
        assert all(a["outbox"] == {"waiting": 0, "oldest_seconds": 0.0} for a in answers)
        assert all(a["telegram"]["queued_here"] == 0 for a in answers)
        for process in processes:  # what the proxy's health check asks each of them
            async with session.get(f"{process.url}/readyz") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"

        people = People(tg)
        counts = await people.alone(1)
        expected = people.got[1]
        assert RESULT_MARK in expected[-1], expected[-3:]
        assert len(expected) == counts[-1]

        people.halfway = PEOPLE * len(SCRIPT) // 2
        victim = processes[1]

        async def kill_and_restart() -> None:
            await people.half.wait()
            tg.hold()  # nothing in flight when it dies (see the module docstring)
            await asyncio.sleep(2.0)  # what went out is written down as sent, even under load
            victim.kill()
            await victim.proc.wait()
            await asyncio.sleep(0.5)  # the fake Bot API has seen its connections close
            tg.release()
            await asyncio.sleep(1.0)
            await victim.start()
            await victim.ready(session)

        uids = [10_000 + n for n in range(PEOPLE)]
        killer = asyncio.create_task(kill_and_restart())
        finished = await asyncio.gather(*(people.person(uid, counts) for uid in uids))
        await killer
        await asyncio.sleep(2.0)  # anything sent late would show now

        assert victim.proc.returncode is None
        assert all(proxy.served[p.url] > 100 for p in processes), proxy.served
        problems = {
            uid: problem
            for uid in uids
            if (problem := _compare(expected, people.got.get(uid, []))) is not None
        }
        assert not problems, f"{len(problems)} chats went wrong, e.g. {list(problems.items())[:3]}"
        assert all(finished)
        async with session.get(f"{proxy.url}/healthz") as resp:
            health = await resp.json()
        assert health["outbox"]["waiting"] == 0, health
    finally:
        codes = await asyncio.gather(*(p.stop() for p in processes))
        await session.close()
        await proxy.stop()
        await tg.stop()
    logs = "".join(p.log.read_text() for p in processes)
    assert codes == [0, 0, 0], logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]
    assert NAME not in logs  # no personal data in the log
