"""Small writes noted as they happen and done together shortly after: one transaction for
many instead of one each (deliveries of replies, inbox rows handled)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.logs import failed
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


class Batch:
    """Ids noted with `add()` are written by `write(ids)` `delay` seconds after the first
    of them, all at once; `flush()` writes what is pending now. While the database is
    unavailable the ids are kept and written when it is back; any other failure is logged
    and the ids dropped: callers only batch what may be done again without harm."""

    MAX_PAUSE = 10.0  # seconds between tries while the database is unavailable

    def __init__(
        self, write: Callable[[list[int]], Awaitable[None]], delay: float, what: str
    ) -> None:
        self._write, self.delay, self.what = write, delay, what
        self._pending: list[int] = []
        self._writing: set[int] = set()  # taken out of _pending, write not finished
        self._writer: asyncio.Task[None] | None = None

    def add(self, item: int) -> None:
        self._pending.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._soon())

    def held(self) -> set[int]:
        """What is noted and not yet written."""
        return {*self._writing, *self._pending}

    def __contains__(self, item: object) -> bool:
        """Noted and not yet written (or being written)."""
        return item in self._writing or item in self._pending

    async def _soon(self) -> None:
        pause = self.delay
        while self._pending:
            await asyncio.sleep(pause)
            written = await self.flush()
            pause = self.delay if written else min(pause * 2 + 0.1, self.MAX_PAUSE)

    async def flush(self) -> bool:
        """Write what is pending; False if the database was unavailable (kept for later)."""
        items, self._pending = self._pending, []
        if items:
            self._writing.update(items)
            try:
                await self._write(items)
            except DatabaseUnavailable:  # logged once by the database's outage tracker
                self._pending = items + self._pending
                return False
            except Exception as exc:
                failed(log, f"could not record {len(items)} {self.what}", exc)
            finally:
                self._writing.difference_update(items)
        return True
