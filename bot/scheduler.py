"""The reminder scheduler: wakes up, asks the database whom to nudge, claims each nudge
and hands it to the person's channel. Nothing is kept in memory between wake-ups, so a
restart loses no reminder, and two bot processes never send the same one: a nudge is
claimed in the same transaction that puts it in the outbox, and a claim is
compare-and-set on the conversation's nudge round.

A nudge claimed but not sent (the process stopped in between) is in the outbox as not
delivered, and goes out when the channel starts again, like any answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from bot.dispatcher import Delivery, Dispatcher
from flows.model import Reply, Snapshot
from flows.reminders import nudge
from storage import reminders as store

log = logging.getLogger(__name__)


class Pushes(Protocol):
    def push(self, external_id: str, delivery: Delivery) -> None: ...


class Scheduler:
    INTERVAL = 60.0  # seconds between wake-ups
    BATCH = 500  # conversations looked at per wake-up, at most

    def __init__(self, dispatcher: Dispatcher, channels: Mapping[str, Pushes]) -> None:
        self.dispatcher, self.channels = dispatcher, dict(channels)
        self.db, self.clock = dispatcher.db, dispatcher.clock
        self._stop = asyncio.Event()

    async def tick(self) -> int:
        """One wake-up: send the nudges that are due. Returns how many were handed over."""
        if not self.channels:
            return 0
        now = self.clock.now()
        core = self.dispatcher.core
        quiet = await self.db.run(
            lambda conn: store.due(conn, list(self.channels), now, self.BATCH)
        )
        sent = 0
        for q in quiet:
            schedule = self.dispatcher.schedule(q.channel)
            if schedule.in_quiet_hours(now):
                continue  # held until the morning
            round_ = schedule.due(q.quiet_since, now, q.next_round)
            if round_ is None:  # not yet (the schedule changed) or all sent
                later = schedule.due_at(q.quiet_since, q.next_round)
                await self.db.run(lambda conn, q=q, later=later: store.reschedule(conn, q, later))
                continue
            next_at = schedule.due_at(q.quiet_since, round_ + 1)
            claimed = await self.db.run(
                lambda conn, q=q, r=round_, n=next_at: store.claim(
                    conn, q, r, n, core.campaign_year, now, self._nudge
                )
            )
            if claimed is None:
                continue
            delivery = Delivery(claimed.outbox_id, (claimed.reply,), lang=claimed.lang)
            self.channels[q.channel].push(q.external_id, delivery)
            sent += 1
        if sent:
            log.info("%d reminders handed to the channels", sent)
        return sent

    def _nudge(self, snapshot: Snapshot) -> Reply | None:
        core = self.dispatcher.core
        lang = core.langs.get(snapshot.state.get("lang", "")) or core.langs[core.default_lang]
        return nudge(snapshot, lang, len(core.criteria.indicators))

    async def run(self) -> None:
        """Wake up every INTERVAL seconds until stop()."""
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next wake-up tries again; nothing was half-written
                log.exception("the reminder scheduler failed; it tries again shortly")
            try:
                await asyncio.wait_for(self._stop.wait(), self.INTERVAL)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
