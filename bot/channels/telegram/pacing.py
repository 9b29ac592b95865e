"""Keeping within Telegram's flood limits: new messages per second over all chats and to
one chat, and waiting as long as Telegram asks (429, retry_after)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Methods that put a new message in a chat: the ones Telegram's flood limits count.
_MESSAGES = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


class TokenBucket:
    """`rate` sends per second after a burst of `burst`. `reserve(now)` books the next
    slot and says how long to wait for it; slots are handed out in call order."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp: float | None = None

    def reserve(self, now: float) -> float:
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def idle(self, now: float) -> bool:
        """Full again: forgetting this bucket changes nothing."""
        return self.stamp is None or self.tokens + (now - self.stamp) * self.rate >= self.burst


def retry_after_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Throttle(BaseRateLimiter[None]):
    """Keeps new messages within Telegram's limits: `per_second` over all chats and
    `per_chat` to one chat after a short burst (0 turns either off). Answers to taps and
    edits are not delayed. On 429 waits `retry_after` and tries again (PTB's contract for
    rate limiters: every other error goes back to the caller)."""

    CHAT_BURST = 3.0
    OVERALL_BURST = 5.0
    MAX_RETRY_AFTER = 3

    def __init__(
        self,
        per_second: float,
        per_chat: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # Over all chats, a small burst only: requests bunch up on their way through the
        # connection pool, and Telegram counts them as they arrive.
        burst = min(per_second, self.OVERALL_BURST)
        self.overall = TokenBucket(per_second, burst) if per_second else None
        self.per_chat = per_chat
        self.chats: dict[int | str, TokenBucket] = {}
        self.clock, self.sleep = clock, sleep

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self.chats.clear()

    def delay(self, endpoint: str, chat_id: int | str | None) -> float:
        """Book a slot for this request; the seconds to wait before making it."""
        if endpoint not in _MESSAGES:
            return 0.0
        now = self.clock()
        wait = self.overall.reserve(now) if self.overall else 0.0
        if self.per_chat and chat_id is not None:
            bucket = self.chats.get(chat_id)
            if bucket is None:
                if len(self.chats) > 10_000:
                    self.chats = {k: b for k, b in self.chats.items() if not b.idle(now)}
                bucket = self.chats[chat_id] = TokenBucket(self.per_chat, self.CHAT_BURST)
            wait = max(wait, bucket.reserve(now))
        return wait

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        wait = self.delay(endpoint, data.get("chat_id"))
        if wait > 0:
            await self.sleep(wait)
        for attempt in range(1, self.MAX_RETRY_AFTER + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.MAX_RETRY_AFTER:
                    raise
                seconds = retry_after_seconds(exc)
                log.warning("Telegram asks to wait %.0f s before %s", seconds, endpoint)
                await self.sleep(seconds + 0.1)
        raise AssertionError("unreachable")  # pragma: no cover
