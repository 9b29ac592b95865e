"""The reminder scheduler: wakes up, asks the database which reminders are due, claims a
batch and hands it to the channels. Nothing is kept in memory between wake-ups, so a
restart loses no reminder, and two bot processes never send the same one: a reminder is
claimed in the same transaction that puts it in the outbox, and its outbox event id is
unique (a nudge also moves the conversation on to its next nudge, under a row lock).

A reminder claimed but not sent (the process stopped in between) is in the outbox as not
delivered, and goes out when the channel starts again, like any answer.

Pacing: each channel sends at its own limits (Telegram's throttle, Zalo's windows and
quota) from an in-memory queue. The scheduler claims only what fits under HIGH_WATER
queued messages per channel, and wakes up every second while reminders are waiting, so
the channel is kept busy at its pace while few claimed reminders wait in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from bot.dispatcher import Delivery, Dispatcher
from flows.deadlines import Deadline, Reminder, reminder_reply
from flows.model import Reply
from flows.reminders import nudge_for, reminders_on, stopped_in
from storage import deadlines as deadline_store
from storage import reminders as store

log = logging.getLogger(__name__)


class Pushes(Protocol):
    def push(self, external_id: str, delivery: Delivery) -> None: ...


class Scheduler:
    INTERVAL = 60.0  # seconds between wake-ups when nothing is waiting
    BUSY_INTERVAL = 1.0  # ...and while reminders are waiting to be claimed
    BATCH = 1000  # reminders claimed per transaction, at most
    HIGH_WATER = 1000  # messages queued in a channel above which nothing more is claimed

    def __init__(self, dispatcher: Dispatcher, channels: Mapping[str, Pushes]) -> None:
        self.dispatcher, self.channels = dispatcher, dict(channels)
        self.db, self.clock = dispatcher.db, dispatcher.clock
        self.busy = False  # the last wake-up left reminders waiting
        self._nudges: dict[tuple[Any, ...], Reply | None] = {}
        self._stop = asyncio.Event()

    async def tick(self) -> int:
        """One wake-up: claim the reminders that are due, as far as each channel has room,
        and hand them over. Returns how many were handed over."""
        now = self.clock.now()
        year = self.dispatcher.core.campaign_year
        sent, self.busy = 0, False
        deadlines = await self.db.run(deadline_store.active)
        current = [(d, r) for d in deadlines if (r := d.reminder(now)) is not None]
        for channel, target in self.channels.items():
            schedule = self.dispatcher.schedule(channel)
            if schedule.in_quiet_hours(now):
                continue  # everything waits for the morning
            claims = [
                partial(store.claim_nudges, channel=channel, schedule=schedule, build=self._nudge)
            ]
            claims += [
                partial(
                    deadline_store.claim_reminders,
                    deadline=d,
                    reminder=r,
                    channel=channel,
                    build=partial(self._remind, d, r),
                )
                for d, r in current
            ]
            for claim in claims:
                room = self.HIGH_WATER - getattr(target, "queued", 0)
                if room <= 0:
                    self.busy = True
                    break
                limit = min(room, self.BATCH)
                claimed, read = await self.db.run(partial(claim, now=now, year=year, limit=limit))
                self.busy |= read == limit
                for c in claimed:
                    target.push(c.external_id, Delivery(c.outbox_id, (c.reply,), lang=c.lang))
                sent += len(claimed)
        if sent:
            log.info("%d reminders handed to the channels", sent)
        return sent

    def _nudge(self, stopped: store.Stopped) -> Reply | None:
        """The nudge for one person; the same words for everyone in the same place (built
        once: a batch has a thousand)."""
        state = stopped.state
        what = stopped_in(state, stopped.registered, stopped.status)
        key = (state.get("lang"), what, stopped.answered, reminders_on(state))
        if key not in self._nudges:
            core = self.dispatcher.core
            lang = core.langs.get(state.get("lang", "")) or core.langs[core.default_lang]
            self._nudges[key] = nudge_for(
                state,
                stopped.registered,
                stopped.status,
                stopped.answered,
                lang,
                len(core.criteria.indicators),
            )
        return self._nudges[key]

    def _remind(
        self, deadline: Deadline, reminder: Reminder, to: deadline_store.Addressee
    ) -> Reply:
        core = self.dispatcher.core
        lang = core.langs.get(to.language) or core.langs[core.default_lang]
        return reminder_reply(
            deadline, reminder, lang, core.default_lang, core.campaign_year, to.unit
        )

    async def run(self) -> None:
        """Wake up every INTERVAL seconds (BUSY_INTERVAL while reminders are waiting)
        until stop()."""
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next wake-up tries again; nothing was half-written
                log.exception("the reminder scheduler failed; it tries again shortly")
                self.busy = False
            try:
                pause = self.BUSY_INTERVAL if self.busy else self.INTERVAL
                await asyncio.wait_for(self._stop.wait(), pause)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
