"""One send queue per chat: a chat's messages go out one at a time in the order they were
queued, different chats concurrently. Each busy chat has one task; an idle chat has none."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.logs import failed

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
J = TypeVar("J")


class Lanes(Generic[K, J]):
    """`put(key, job)` queues a job; `run(key, job)` does it. A job that raises is logged
    (its replies stay in the outbox, as not delivered) and the next one goes on."""

    def __init__(self, run: Callable[[K, J], Awaitable[None]], what: str) -> None:
        self._run, self.what = run, what
        self._queues: dict[K, list[J]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._size = 0

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    @property
    def size(self) -> int:
        """Jobs queued or being done: what a producer should not pile up on."""
        return self._size

    def put(self, key: K, job: J) -> None:
        """Synchronous, so that jobs keep the order in which they were produced."""
        self._queues.setdefault(key, []).append(job)
        self._size += 1
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._drain(key))

    def drop(self, key: K) -> list[J]:
        """Forget what waits for this key (the person cannot be reached any more)."""
        dropped = self._queues.pop(key, [])
        self._size -= len(dropped)
        return dropped

    async def _drain(self, key: K) -> None:
        try:
            while self._queues.get(key):
                job = self._queues[key].pop(0)
                try:
                    await self._run(key, job)
                except Exception as exc:
                    failed(log, f"{self.what} failed; the replies stay in the outbox", exc)
                finally:
                    self._size -= 1
        finally:
            self._size -= len(self._queues.pop(key, ()))
            self._tasks.pop(key, None)

    async def finish(self, grace: float) -> None:
        """Let the queues drain for up to `grace` seconds, then stop what is left."""
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks.values()), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
