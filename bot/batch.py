"""Small writes noted as they happen and done together shortly after: one transaction for
many instead of one each (deliveries of replies, inbox rows handled)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Batch:
    """Ids noted with `add()` are written by `write(ids)` `delay` seconds after the first
    of them, all at once; `flush()` writes what is pending now. A failed write is logged
    and dropped: callers only batch what may be done again without harm."""

    def __init__(
        self, write: Callable[[list[int]], Awaitable[None]], delay: float, what: str
    ) -> None:
        self._write, self.delay, self.what = write, delay, what
        self._pending: list[int] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, item: int) -> None:
        self._pending.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._soon())

    def __contains__(self, item: object) -> bool:
        return item in self._pending

    async def _soon(self) -> None:
        while self._pending:
            await asyncio.sleep(self.delay)
            await self.flush()

    async def flush(self) -> None:
        items, self._pending = self._pending, []
        if items:
            try:
                await self._write(items)
            except Exception:
                log.exception("could not record %d %s", len(items), self.what)
