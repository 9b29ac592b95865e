"""Runs one event: lock the account, load the conversation, fill what the step needs,
step the pure flow, save everything in one transaction, and hand the replies back to the
channel. When the database is unavailable it raises DatabaseUnavailable and saves nothing:
the channel keeps the event and brings it again. It knows no feature: what a step reads is
declared by the flows (`flows.conversation.needs`) and looked up by `bot.preload`.

Events of one person are handled one at a time in arrival order (an asyncio lock per
account here; on PostgreSQL also a row lock, for several bot processes). Different people
are handled concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection

from bot.batch import Batch
from bot.clock import Clock
from bot.core import Core
from bot.logs import failed
from bot.preload import Preloader, Prepared, Unprepared
from flows.conversation import needs, step
from flows.model import Event, Reply, World
from flows.reminders import DEFAULT_SCHEDULE, NudgeSchedule
from storage import conversations, outbox
from storage.db import Database, DatabaseUnavailable, describe, stack

log = logging.getLogger(__name__)

# Which process this is, in /healthz and as the holder of the turns to send (a restarted
# process is another holder, even with the same pid in a container).
PROCESS = f"{socket.gethostname()[:48]}:{os.getpid()}:{secrets.token_hex(3)}"


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
    erased: bool = False  # the person's data was deleted: the channel keeps nothing either

    @property
    def taken(self) -> bool:
        """The event (a tapped button, say) was taken: the flow objected to nothing (no
        notice among the replies)."""
        return not any(r.kind == "notice" for r in self.replies)


@dataclass
class Turn:
    """A chat's turn to send (Dispatcher.turn): the deliveries due, in order, and what the
    chat shows, for the channel to read and update (None: not kept, nothing to keep)."""

    due: list[Delivery]
    view: dict[str, Any] | None


class Dispatcher:
    FLUSH_DELAY = 0.01  # seconds: deliveries noted meanwhile are written in one transaction
    ATTEMPTS = 3  # a step that needs heavy reads runs again once they are made

    def __init__(
        self,
        db: Database,
        core: Core,
        clock: Clock,
        schedules: Mapping[str, NudgeSchedule] | None = None,
    ) -> None:
        self.db, self.core, self.clock = db, core, clock
        self.schedules = dict(schedules or {})  # per channel; DEFAULT_SCHEDULE otherwise
        self.preload = Preloader(db, core)
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        # Sent, not yet written down. Not fatal if a write fails: an update that comes
        # again would have its replies re-sent.
        self._delivered = Batch(self.mark_delivered, self.FLUSH_DELAY, "deliveries")
        # Called after a step whose effects have news for other people (a citizen whose
        # title was decided on): the scheduler wakes up to tell them.
        self.on_news: Callable[[], None] | None = None
        self._turns: dict[int, int] = {}  # account → turns to send held (see turn())
        self._renewer: asyncio.Task[None] | None = None

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
            prepared = Prepared()
            try:
                for attempt in range(1, self.ATTEMPTS + 1):
                    work = partial(
                        self._step, channel, external_id, event, event_id, world, prepared
                    )
                    try:
                        delivery, news = await self.db.run(work)
                        break
                    except Unprepared as wanted:
                        if attempt == self.ATTEMPTS:
                            raise
                        prepared = await self.preload.prepare(
                            wanted.needs, channel, external_id, now
                        )
                if news and self.on_news is not None:
                    self.on_news()
                if delivery.erased:  # nothing of the deleted rows left in the files either
                    self.db.forget_deleted()
                return delivery
            except conversations.DuplicateEvent:
                return await self._answered_before(channel, event_id)
            except DatabaseUnavailable:
                # Nothing was saved. The channel keeps the event and brings it again
                # (Telegram redelivers, Zalo's inbox holds it, the terminal retries): the
                # person is not asked to type it again.
                raise
            except Exception as exc:
                # Never leave a person without an answer; nothing was saved, so the state
                # is as before and they can simply try again. Logged without the error's
                # message: a database quotes the values it refused (personal data).
                log.error(
                    "event %s/%s failed (%s); state left unchanged\n%s",
                    channel,
                    event_id,
                    describe(exc),
                    stack(exc),
                )
                lang = self.core.langs[self.core.default_lang]
                sorry = lang._(
                    "Sorry, something went wrong on our side. Your answers so far are saved: "
                    "please try again in a moment."
                )
                return Delivery(None, (Reply("text", sorry),))

    def _step(
        self,
        channel: str,
        external_id: str,
        event: Event,
        event_id: str,
        world: World,
        prepared: Prepared,
        conn: Connection,
    ) -> tuple[Delivery, bool]:
        """One step in one transaction: load, fill what it needs, step, save."""
        now = world.now
        loaded = conversations.load_conversation(
            conn, channel, external_id, world.campaign_year, now, event_id
        )
        wanted = needs(loaded.snapshot, event, world)
        filled = self.preload.fill(conn, wanted, world, loaded.account_id, prepared)
        outcome = step(loaded.snapshot, event, filled)
        nudge_at = self.schedule(channel).due_at(now, 0) if outcome.nudge else None
        outbox_id = conversations.save_outcome(
            conn, loaded, outcome, channel, event_id, now, nudge_at
        )
        delivery = Delivery(
            outbox_id, outcome.replies, lang=outcome.state.get("lang"), erased=outcome.erases
        )
        return delivery, outcome.tells_others

    async def _answered_before(self, channel: str, event_id: str) -> Delivery:
        stored = await self.db.run(lambda conn: outbox.stored_replies(conn, channel, event_id))
        log.info("duplicate event %s/%s answered from the outbox", channel, event_id)
        if stored is None:  # deleted meanwhile together with the person's data
            return Delivery(None, (), duplicate=True, delivered=True)
        return Delivery(
            stored.outbox_id,
            tuple(stored.replies),
            duplicate=True,
            delivered=stored.delivered or stored.outbox_id in self._delivered,
        )

    def schedule(self, channel: str) -> NudgeSchedule:
        """When to remind the people of a channel who stopped half-way."""
        return self.schedules.get(channel) or DEFAULT_SCHEDULE

    async def mark_unreachable(self, channel: str, external_id: str) -> None:
        """The channel refused delivery for good (e.g. the person blocked the bot)."""
        await self.db.run(lambda conn: conversations.set_unreachable(conn, channel, external_id))

    async def is_unreachable(self, channel: str, external_id: str) -> bool:
        return await self.db.run(
            lambda conn: conversations.is_unreachable(conn, channel, external_id)
        )

    async def unsent(
        self, channel: str, older_than: timedelta = timedelta(0), skip: Collection[int] = ()
    ) -> list[tuple[str, Delivery]]:
        """Replies of this channel never marked sent (within outbox.UNSENT_KEPT), at least
        `older_than` old, with the external id of the account each is for: a channel sends
        them when it starts, and again while it runs until they are sent. Each is taken
        for a while with a growing pause (see outbox.claim_unsent)."""
        now = self.clock.now()
        # Not `skip` (on their way in the channel), nor the replies sent and being recorded.
        skipping = {*skip, *self._delivered.held()}
        rows = await self.db.run(
            lambda conn: outbox.claim_unsent(conn, channel, now, older_than, skip=skipping)
        )
        return [(ext, Delivery(s.outbox_id, tuple(s.replies), lang=s.lang)) for ext, s in rows]

    async def release(self, outbox_ids: Collection[int]) -> None:
        """Give back replies `unsent` took that were on their way already (see
        outbox.release_claims)."""
        if outbox_ids:
            await self.db.run(lambda conn: outbox.release_claims(conn, outbox_ids))

    def delivered(self, outbox_id: int | None) -> None:
        """Note that a delivery's replies went out. Written in batches shortly after (one
        transaction for many instead of one per message); `flush()` writes them now."""
        if outbox_id is not None:
            self._delivered.add(outbox_id)

    async def flush(self) -> None:
        await self._delivered.flush()

    async def keep_unsent(self, outbox_id: int | None, replies: tuple[Reply, ...]) -> None:
        """Sending stopped half-way: the replies sent are let go, so that what is sent
        again is only the rest (if the database cannot be written, all is sent again)."""
        if outbox_id is None:
            return
        try:
            await self.db.run(lambda conn: outbox.keep_unsent(conn, outbox_id, replies))
        except DatabaseUnavailable:
            pass

    def sent_but_not_recorded(self, outbox_id: int | None) -> bool:
        """A reply this process sent whose delivery is not written yet: not to be sent again."""
        return outbox_id is not None and outbox_id in self._delivered

    # --- one order per chat across processes (see storage.outbox) ---

    TURN_WAIT_FIRST = 0.02  # seconds between looks while another process sends to a chat
    TURN_WAIT_MOST = 0.5
    TURN_RENEW_EVERY = outbox.TURN_LEASE.total_seconds() / 4

    @asynccontextmanager
    async def turn(self, channel: str, external_id: str, delivery: Delivery) -> AsyncIterator[Turn]:
        """What to send now for `delivery`, in order, while this process holds the chat's
        turn: the chat's replies not sent yet that come before it (left by a process that
        died, or written by another one and not sent yet), then `delivery` itself, unless
        another process sent it meanwhile; and what the chat shows (`Turn.view`, which the
        channel updates). Waits while another live process holds the turn. On leaving,
        the replies sent (`delivered()`) are written down, with the view, and the turn is
        given back. A delivery not in the outbox is simply handed back (view None)."""
        if delivery.outbox_id is None or (delivery.duplicate and delivery.delivered):
            yield Turn([delivery], None)
            return
        own = delivery.outbox_id
        pause = self.TURN_WAIT_FIRST
        while True:
            now = self.clock.now()
            try:
                # Ahead of the steps waiting for the database: the reply is ready.
                taken = await self.db.urgent(
                    partial(self._take_turn, channel, external_id, own, now)
                )
            except DatabaseUnavailable:  # logged once by the database: wait for it
                taken, pause = None, max(pause, self.TURN_WAIT_MOST)
            if taken is not None:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.TURN_WAIT_MOST if not self.db.outage.down else 5.0)
        account_id, view, stored = taken
        if account_id is None:  # the account was deleted meanwhile, with its replies
            yield Turn([], None)
            return
        turn = Turn(
            [
                delivery
                if s.outbox_id == own
                else Delivery(s.outbox_id, tuple(s.replies), lang=s.lang)
                for s in stored
            ],
            view,
        )
        self._turns[account_id] = self._turns.get(account_id, 0) + 1
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_turns(), name="renew-turns")
        try:
            yield turn
        finally:
            held = self._turns.pop(account_id, 1) - 1
            if held:
                self._turns[account_id] = held
            sent = [i for d in turn.due if (i := d.outbox_id) is not None and i in self._delivered]
            changed = turn.view if turn.view != view else None
            try:
                await self.db.urgent(
                    lambda conn: outbox.end_turn(
                        conn, account_id, PROCESS, sent, self.clock.now(), changed
                    )
                )
            except DatabaseUnavailable:
                pass  # the marks stay noted (written later); the turn lapses by itself

    @staticmethod
    def _take_turn(
        channel: str, external_id: str, own: int, now: datetime, conn: Connection
    ) -> tuple[int | None, dict[str, Any], list[outbox.StoredReplies]] | None:
        taken = outbox.take_turn(conn, channel, external_id, PROCESS, now)
        if taken is None:
            return None
        account_id, view = taken
        if account_id is None:
            return None, view, []
        return account_id, view, outbox.chat_unsent(conn, account_id, now, up_to=own)

    async def _renew_turns(self) -> None:
        """While this process holds turns, keep them (a slow send, Telegram asking to
        wait): only a process that stopped renewing loses them."""
        while self._turns:
            await asyncio.sleep(self.TURN_RENEW_EVERY)
            held = list(self._turns)
            if not held:
                break
            try:
                await self.db.urgent(
                    partial(
                        outbox.renew_turns, holder=PROCESS, account_ids=held, now=self.clock.now()
                    )
                )
            except Exception as exc:
                failed(log, "could not renew the turns to send; they may lapse", exc)

    async def give_back_turns(self) -> None:
        """At a stop: the turns this process holds are free at once for the others."""
        if self._renewer is not None:
            self._renewer.cancel()
        try:
            await self.db.run(lambda conn: outbox.give_back_turns(conn, PROCESS))
        except DatabaseUnavailable:
            pass

    async def mark_delivered(self, outbox_ids: Iterable[int]) -> None:
        ids = [i for i in outbox_ids if i is not None]
        if ids:
            now = self.clock.now()
            # Ahead of the steps waiting for the database: until this is written, a crash
            # would send these replies again.
            await self.db.urgent(lambda conn: outbox.mark_delivered(conn, ids, now))
