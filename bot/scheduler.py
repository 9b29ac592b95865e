"""The reminder scheduler: wakes up, asks the database which reminders are due, claims a
batch and hands it to the channels. Claiming a batch, writing what each reminder says (the
pure core's words, which storage asks for itself) and recording it in the outbox is one
storage call. Nothing is kept in memory between wake-ups, so a restart loses no
reminder, and two bot processes never send the same one: a reminder is claimed in the
same transaction that puts it in the outbox, and its outbox event id is unique (a nudge
also moves the conversation on to its next nudge, under a row lock).

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
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, Protocol

from bot import reports
from bot.clock import Clock
from bot.core import Core
from bot.dispatcher import Delivery
from bot.logs import failed
from flows.digest import digest_text
from flows.localtime import LOCAL_TZ
from flows.model import Reply
from flows.places import Area
from flows.reminders import DEFAULT_SCHEDULE, NudgeSchedule
from storage import admin as admin_store
from storage import deadlines as deadline_store
from storage import nudges, outbox
from storage import units as unit_store
from storage.db import Database, DatabaseUnavailable
from storage.outbox import Claimed, OutboxEntry

log = logging.getLogger(__name__)


DIGEST_AT = time(7, 0)
PRUNE_EVERY = timedelta(hours=1)


class Pushes(Protocol):
    def push(self, external_id: str, delivery: Delivery) -> None: ...


class Scheduler:
    INTERVAL = 60.0  # seconds between wake-ups when nothing is waiting
    BUSY_INTERVAL = 1.0  # ...and while reminders are waiting to be claimed
    BATCH = 1000  # reminders claimed per transaction, at most
    HIGH_WATER = 1000  # messages queued in a channel above which nothing more is claimed

    def __init__(
        self,
        db: Database,
        clock: Clock,
        core: Core,
        channels: Mapping[str, Pushes],
        schedules: Mapping[str, NudgeSchedule] | None = None,
        digest_at: time = DIGEST_AT,
    ) -> None:
        self.db, self.clock, self.core = db, clock, core
        self.channels = dict(channels)
        self.schedules = dict(schedules or {})  # per channel; DEFAULT_SCHEDULE otherwise
        self.digest_at = digest_at
        self.busy = False  # the last wake-up left reminders waiting
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._pruned_at: datetime | None = None

    def wake(self) -> None:
        """Someone is to be told something now (a decision on their title): don't wait."""
        self._wake.set()

    def schedule(self, channel: str) -> NudgeSchedule:
        return self.schedules.get(channel) or DEFAULT_SCHEDULE

    def _push(self, channel: str, claimed: list[Claimed]) -> int:
        target = self.channels.get(channel)
        if target is not None:
            for c in claimed:
                target.push(c.external_id, Delivery(c.outbox_id, c.replies, lang=c.lang))
        return len(claimed)

    async def tick(self) -> int:
        """One wake-up: claim the reminders that are due, as far as each channel has room,
        and hand them over. Returns how many were handed over."""
        now = self.clock.now()
        year = self.core.year(now)
        world = self.core.world(now)
        sent, self.busy = 0, False
        deadlines = await self.db.run(deadline_store.active)
        current = [(d, r) for d in deadlines if (r := d.reminder(now)) is not None]
        for channel, target in self.channels.items():
            schedule = self.schedule(channel)
            if schedule.in_quiet_hours(now):
                continue  # everything waits for the morning
            claims = [partial(nudges.claim_nudges, channel=channel, schedule=schedule)]
            claims += [
                partial(deadline_store.claim_reminders, deadline=d, reminder=r, channel=channel)
                for d, r in current
            ]
            for claim in claims:
                room = self.HIGH_WATER - getattr(target, "queued", 0)
                if room <= 0:
                    self.busy = True
                    break
                limit = min(room, self.BATCH)
                claimed, read = await self.db.run(
                    partial(claim, now=now, year=year, limit=limit, world=world)
                )
                self.busy |= read == limit
                sent += self._push(channel, claimed)
        sent += await self._decisions(now)
        sent += await self._digests(now)
        await self._prune(now)
        if sent:
            log.info("%d reminders handed to the channels", sent)
        return sent

    async def _decisions(self, now: datetime) -> int:
        """Tell citizens the commune's decision on their self-assessment (recognised, or
        returned with a reason), on each of their channels, once; and the focal points of
        a learning unit the decision on the unit's."""
        if DEFAULT_SCHEDULE.in_quiet_hours(now):
            return 0
        world = self.core.world(now)
        sent = 0
        for claim in (admin_store.claim_decisions, unit_store.claim_decisions):
            claimed, read = await self.db.run(
                partial(claim, now=now, limit=self.BATCH, world=world)
            )
            self.busy |= read == self.BATCH
            for channel, c in claimed:
                self._push(channel, [c])
            sent += len(claimed)
        return sent

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
        for channel in self.channels:
            addressees = await self.db.run(
                partial(admin_store.digest_addressees, channel=channel, stamp=stamp)
            )
            entries = []
            for to in addressees:
                replies = await self._digest_replies(to.area, to.language, day, False, made)
                if to.monthly and day.day == 1:
                    replies += await self._digest_replies(to.area, to.language, day, True, made)
                event_id = f"{stamp}:{to.account_id}"
                entries.append(
                    OutboxEntry(to.account_id, to.external_id, event_id, replies, to.language)
                )
            if not entries:
                continue
            claimed = await self.db.run(
                partial(outbox.record, channel=channel, now=now, entries=entries)
            )
            sent += self._push(channel, claimed)
        return sent

    async def _digest_replies(
        self, area: Area, language: str, day: date, monthly: bool, made: dict[tuple[Any, ...], Any]
    ) -> tuple[Reply, ...]:
        core = self.core
        year = core.year_of(reports.looked_back_on(day, monthly))
        if (area, monthly) not in made:
            made[(area, monthly)] = await self.db.read(
                partial(
                    reports.load_digest,
                    area=area,
                    year=year,
                    day=day,
                    monthly=monthly,
                    lines=False,
                )
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
        replies: tuple[Reply, ...] = made[key]
        return replies

    async def _prune(self, now: datetime) -> None:
        """Once an hour: replies never sent are let go, old event ids forgotten."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        await self.db.run(lambda conn: outbox.prune(conn, now))

    async def run(self) -> None:
        """Wake up every INTERVAL seconds (BUSY_INTERVAL while reminders are waiting)
        until stop()."""
        while not self._stop.is_set():
            try:
                await self.tick()
            except DatabaseUnavailable:  # logged once by the database; the next wake-up
                self.busy = False  # tries again, and nothing was half-written
            except Exception as exc:  # the next wake-up tries again; nothing half-written
                failed(log, "the reminder scheduler failed; it tries again shortly", exc)
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
