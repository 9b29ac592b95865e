"""Runs one event: load the conversation, step the pure flow, save everything in one
transaction, and hand the replies back to the channel.

Events of one person are handled one at a time in arrival order (an asyncio lock per
account here; on PostgreSQL also a row lock, for several bot processes). Different people
are handled concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from bot import reports
from bot.batch import Batch
from bot.clock import Clock
from bot.core import Core
from flows import admin as admin_flow
from flows.conversation import step
from flows.model import AdminData, Event, Recognise, Reply, ReturnAssessment, Snapshot
from flows.reminders import NudgeSchedule
from flows.units import new_code, quoted_code
from storage import admin as admin_store
from storage import deadlines, repo
from storage.db import Database

log = logging.getLogger(__name__)
DEFAULT_SCHEDULE = NudgeSchedule()


@dataclass(frozen=True)
class Delivery:
    """Replies for the channel to send. `outbox_id` identifies the stored row to mark as
    delivered once sent; `duplicate` means the event had been processed before, and
    `delivered` that its replies were sent then (so they must not be sent again)."""

    outbox_id: int | None
    replies: tuple[Reply, ...]
    duplicate: bool = False
    delivered: bool = False
    lang: str | None = None  # the person's language after this event, when known

    @property
    def taken(self) -> bool:
        """The event (a tapped button, say) was taken: the flow objected to nothing (no
        notice among the replies)."""
        return not any(r.kind == "notice" for r in self.replies)


class Dispatcher:
    FLUSH_DELAY = 0.05  # seconds: deliveries noted meanwhile are written in one transaction

    def __init__(
        self,
        db: Database,
        core: Core,
        clock: Clock,
        schedules: Mapping[str, NudgeSchedule] | None = None,
    ) -> None:
        self.db, self.core, self.clock = db, core, clock
        self.schedules = dict(schedules or {})  # per channel; NudgeSchedule() otherwise
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        # Sent, not yet written down. Not fatal if a write fails: an update that comes
        # again would have its replies re-sent.
        self._delivered = Batch(self.mark_delivered, self.FLUSH_DELAY, "deliveries")
        # Called after a step recognised or returned someone's self-assessment: the
        # scheduler wakes up to tell them.
        self.on_decision: Callable[[], None] | None = None

    @asynccontextmanager
    async def _one_at_a_time(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]  # no one waiting: don't keep a lock per person forever
            else:
                self._locks[key] = (lock, users - 1)

    async def handle(self, channel: str, external_id: str, event: Event) -> Delivery:
        event_id = event.event_id or uuid.uuid4().hex
        async with self._one_at_a_time((channel, external_id)):
            now = self.clock.now()
            world = self.core.world(now)
            prepared = await self._prepare_admin(channel, external_id, event, now)
            if event.kind == "command" and event.command == "invite":
                world = replace(world, fresh_code=new_code())

            def work(conn: Connection) -> tuple[Delivery, bool]:
                loaded = repo.load_conversation(
                    conn, channel, external_id, world.campaign_year, now
                )
                snapshot = loaded.snapshot
                if code := quoted_code(event) or admin_flow.quoted_code(event):
                    # /donvi CODE, /admin CODE: the flow needs the invite
                    snapshot = replace(snapshot, invite=deadlines.find_invite(conn, code))
                if admin_flow.wants_admin(event, snapshot.state.get("screen")):
                    snapshot = self._with_admin(
                        conn, loaded.account_id, snapshot, event, prepared, world.campaign_year
                    )
                outcome = step(snapshot, event, world)
                nudge_at = self.schedule(channel).due_at(now, 0) if outcome.nudge else None
                outbox_id = repo.save_outcome(
                    conn, loaded, outcome, channel, event_id, now, nudge_at
                )
                decided = any(isinstance(e, Recognise | ReturnAssessment) for e in outcome.effects)
                return Delivery(outbox_id, outcome.replies, lang=outcome.state.get("lang")), decided

            try:
                delivery, decided = await self.db.run(work)
                if decided and self.on_decision is not None:
                    self.on_decision()
                return delivery
            except repo.DuplicateEvent:
                stored = await self.db.run(
                    lambda conn: repo.stored_replies(conn, channel, event_id)
                )
                log.info("duplicate event %s/%s answered from the outbox", channel, event_id)
                if stored is None:  # deleted meanwhile together with the person's data
                    return Delivery(None, (), duplicate=True, delivered=True)
                return Delivery(
                    stored.outbox_id,
                    tuple(stored.replies),
                    duplicate=True,
                    delivered=stored.delivered or stored.outbox_id in self._delivered,
                )
            except Exception:
                # Never leave a person without an answer; nothing was saved, so the state
                # is as before and they can simply try again.
                log.exception("event %s/%s failed; state left unchanged", channel, event_id)
                lang = self.core.langs[self.core.default_lang]
                sorry = lang._(
                    "Sorry, something went wrong on our side. Your answers so far are saved: "
                    "please try again in a moment."
                )
                return Delivery(None, (Reply("text", sorry),))

    def _with_admin(
        self,
        conn: Connection,
        account_id: int,
        snapshot: Snapshot,
        event: Event,
        prepared: AdminData | None,
        year: int,
    ) -> Snapshot:
        """An admin's step: who they are, and what their command needs that is quick to
        read in the transaction (the candidates for recognition, the admins in scope)."""
        admin = admin_store.admin_of(conn, account_id)
        data = prepared or AdminData()
        if admin is not None:
            places = self.core.places
            commune = admin_flow.recognition_commune(snapshot.state, event, admin, places)
            if commune is not None:
                count, listed = admin_store.candidates(conn, commune, year, admin_flow.LISTED + 20)
                data = replace(data, candidates=(count, tuple(listed)))
            if event.kind == "command" and event.command in ("admins", "revoke"):
                data = replace(data, admins=tuple(admin_store.admins(conn, admin.area)))
        return replace(snapshot, admin=admin, admin_data=data)

    async def _prepare_admin(
        self, channel: str, external_id: str, event: Event, now: datetime
    ) -> AdminData | None:
        """/stats and /export: the digest (and the chart or the export file), read and
        made before the step, outside its transaction (a province takes a moment)."""
        if event.kind != "command" or event.command not in admin_flow.HEAVY:
            return None
        admin = await self.db.read(
            lambda conn: admin_store.admin_by_external(conn, channel, external_id)
        )
        if admin is None:
            return None
        area = admin_flow.requested_area(event.args, admin, self.core.places)
        if area is None or not admin.area.contains(area):
            return None
        core, year, day = self.core, self.core.year(now), reports.local_day(now)
        t = core.langs.get(admin.language) or core.langs[core.default_lang]
        digest = await self.db.read(lambda conn: reports.load_digest(conn, area, year, day))
        if event.command == "stats":
            chart = await asyncio.to_thread(reports.chart_png, digest, core, t)
            return AdminData(digest=digest, files=((reports.file_name(digest, "png"), chart),))
        if admin_flow.export_format(event.args) == "csv":
            blob = await asyncio.to_thread(reports.export_csv, digest, core, t)
            return AdminData(digest=digest, files=((reports.file_name(digest, "csv"), blob),))
        points = await self.db.read(lambda conn: admin_store.indicator_points(conn, area, year))
        blob = await asyncio.to_thread(reports.export_xlsx, digest, points, core, t)
        return AdminData(digest=digest, files=((reports.file_name(digest, "xlsx"), blob),))

    def schedule(self, channel: str) -> NudgeSchedule:
        """When to remind the people of a channel who stopped half-way."""
        return self.schedules.get(channel) or DEFAULT_SCHEDULE

    async def mark_unreachable(self, channel: str, external_id: str) -> None:
        """The channel refused delivery for good (e.g. the person blocked the bot)."""
        await self.db.run(lambda conn: repo.set_unreachable(conn, channel, external_id))

    async def is_unreachable(self, channel: str, external_id: str) -> bool:
        return await self.db.run(lambda conn: repo.is_unreachable(conn, channel, external_id))

    async def undelivered(self, channel: str, max_age: timedelta) -> list[tuple[str, Delivery]]:
        """Recent replies of this channel that were never marked sent, with the external id
        of the account each is for: a channel sends them again when it starts."""
        since = self.clock.now() - max_age
        rows = await self.db.run(lambda conn: repo.undelivered(conn, channel, since))
        return [(ext, Delivery(s.outbox_id, tuple(s.replies))) for ext, s in rows]

    def delivered(self, outbox_id: int | None) -> None:
        """Note that a delivery's replies went out. Written in batches shortly after (one
        transaction for many instead of one per message); `flush()` writes them now."""
        if outbox_id is not None:
            self._delivered.add(outbox_id)

    async def flush(self) -> None:
        await self._delivered.flush()

    async def mark_delivered(self, outbox_ids: Iterable[int]) -> None:
        ids = [i for i in outbox_ids if i is not None]
        if ids:
            now = self.clock.now()
            await self.db.run(lambda conn: repo.mark_delivered(conn, ids, now))
