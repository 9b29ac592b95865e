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
from datetime import date, datetime, time
from functools import partial
from typing import Any, Protocol

from bot import reports
from bot.dispatcher import Delivery, Dispatcher
from flows.admin import decision_reply
from flows.deadlines import Deadline, Reminder, reminder_reply
from flows.digest import digest_text
from flows.lang import LOCAL_TZ
from flows.model import Reply
from flows.places import Area
from flows.reminders import nudge_for, reminders_on, stopped_in
from storage import admin as admin_store
from storage import deadlines as deadline_store
from storage import reminders as store

log = logging.getLogger(__name__)


DIGEST_AT = time(7, 0)


class Pushes(Protocol):
    def push(self, external_id: str, delivery: Delivery) -> None: ...


class Scheduler:
    INTERVAL = 60.0  # seconds between wake-ups when nothing is waiting
    BUSY_INTERVAL = 1.0  # ...and while reminders are waiting to be claimed
    BATCH = 1000  # reminders claimed per transaction, at most
    HIGH_WATER = 1000  # messages queued in a channel above which nothing more is claimed

    def __init__(
        self,
        dispatcher: Dispatcher,
        channels: Mapping[str, Pushes],
        digest_at: time = DIGEST_AT,
    ) -> None:
        self.dispatcher, self.channels = dispatcher, dict(channels)
        self.db, self.clock = dispatcher.db, dispatcher.clock
        self.digest_at = digest_at
        self.busy = False  # the last wake-up left reminders waiting
        self._nudges: dict[tuple[Any, ...], Reply | None] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        dispatcher.on_decision = self._wake.set  # a citizen to tell: don't wait a minute

    async def tick(self) -> int:
        """One wake-up: claim the reminders that are due, as far as each channel has room,
        and hand them over. Returns how many were handed over."""
        now = self.clock.now()
        year = self.dispatcher.core.year(now)
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
                    build=partial(self._remind, d, r, year),
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
                    target.push(c.external_id, Delivery(c.outbox_id, c.replies, lang=c.lang))
                sent += len(claimed)
        sent += await self._decisions(now)
        sent += await self._digests(now)
        if sent:
            log.info("%d reminders handed to the channels", sent)
        return sent

    async def _decisions(self, now: datetime) -> int:
        """Tell citizens the commune's decision on their self-assessment (recognised, or
        returned with a reason), on each of their channels, once."""
        if self.dispatcher.schedule("").in_quiet_hours(now):
            return 0
        core = self.dispatcher.core

        def build(decision: admin_store.Decision) -> Reply:
            lang = core.langs.get(decision.language) or core.langs[core.default_lang]
            return decision_reply(decision.recognised, decision.at, decision.reason, lang)

        claimed, read = await self.db.run(
            partial(admin_store.claim_decisions, now=now, limit=self.BATCH, build=build)
        )
        self.busy |= read == self.BATCH
        for channel, c in claimed:
            if (target := self.channels.get(channel)) is not None:
                target.push(c.external_id, Delivery(c.outbox_id, c.replies, lang=c.lang))
        return len(claimed)

    async def _digests(self, now: datetime) -> int:
        """The admins' digest, from `digest_at` on each day (so a bot that was down at that
        time catches up when it is back), once per admin per day: the outbox event id
        digest:<day>:<account> is unique. On the 1st, admins who asked for it also get
        the past month's summary."""
        local = now.astimezone(LOCAL_TZ)
        if local.time() < self.digest_at:
            return 0
        day = local.date()
        stamp = f"digest:{day.isoformat()}"
        sent = 0
        made: dict[tuple[Any, ...], Any] = {}  # each area's digest (and text, chart) once
        for channel, target in self.channels.items():
            addressees = await self.db.run(
                partial(admin_store.digest_addressees, channel=channel, stamp=stamp)
            )
            rows = []
            for to in addressees:
                replies = await self._digest_replies(to.area, to.language, day, False, made)
                if to.monthly and day.day == 1:
                    replies += await self._digest_replies(to.area, to.language, day, True, made)
                rows.append(
                    (
                        to.account_id,
                        to.external_id,
                        f"{stamp}:{to.account_id}",
                        replies,
                        to.language,
                    )
                )
            if not rows:
                continue
            claimed = await self.db.run(
                partial(store.record_reminders, channel=channel, now=now, reminders=rows)
            )
            for c in claimed:
                target.push(c.external_id, Delivery(c.outbox_id, c.replies, lang=c.lang))
            sent += len(claimed)
        return sent

    async def _digest_replies(
        self, area: Area, language: str, day: date, monthly: bool, made: dict[tuple[Any, ...], Any]
    ) -> tuple[Reply, ...]:
        core = self.dispatcher.core
        year = core.year_of(reports.looked_back_on(day, monthly))
        if (area, monthly) not in made:
            made[(area, monthly)] = await self.db.read(
                partial(reports.load_digest, area=area, year=year, day=day, monthly=monthly)
            )
        digest = made[(area, monthly)]
        key = (area, monthly, language)
        if key not in made:
            t = core.langs.get(language) or core.langs[core.default_lang]
            text = digest_text(digest, core.places, core.criteria, t)
            chart = await asyncio.to_thread(reports.chart_png, digest, core, t)
            made[key] = (
                Reply("text", text),
                Reply("file", "", file_name=reports.file_name(digest, "png"), file_data=chart),
            )
        return made[key]

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
        self, deadline: Deadline, reminder: Reminder, year: int, to: deadline_store.Addressee
    ) -> Reply:
        core = self.dispatcher.core
        lang = core.langs.get(to.language) or core.langs[core.default_lang]
        return reminder_reply(deadline, reminder, lang, core.default_lang, year, to.unit)

    async def run(self) -> None:
        """Wake up every INTERVAL seconds (BUSY_INTERVAL while reminders are waiting)
        until stop()."""
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next wake-up tries again; nothing was half-written
                log.exception("the reminder scheduler failed; it tries again shortly")
                self.busy = False
            pause = self.BUSY_INTERVAL if self.busy else self.INTERVAL
            stop, wake = (
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
            )
            await asyncio.wait((stop, wake), timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            wake.cancel()
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
