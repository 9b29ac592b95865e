"""The Zalo OA channel.

Receiving. Zalo POSTs each event to our webhook with `X-ZEvent-Signature`, and gives up on
a webhook that takes more than about 2 seconds. So the handler only checks the signature
over the raw bytes, stores the event in the inbox (one insert, which also opens the
person's free messaging window) and answers 200; the event is handled right after, off the
request. A crash after the 200 loses nothing: the inbox is handled again at the next start.
The message id de-duplicates: a delivery that comes again while waiting is dropped by the
inbox, one that comes after by the dispatcher (its answer is not sent twice).

Sending. Every message is booked against the person's messaging window first (free within
48 hours of their last message, at most 8), else against the monthly proactive quota, and
not sent when neither allows it. One queue per person keeps their messages in order; 5xx
and timeouts are retried with backoff, error -216 refreshes the access token once and
retries. Files: see `render`; links are offered through bot.links.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from aiohttp import web

from bot.batch import Batch
from bot.channels.base import ChannelSetupError
from bot.channels.lanes import Lanes
from bot.channels.zalo.api import (
    TOKEN_EXPIRED,
    TokenUnavailable,
    Unavailable,
    ZaloApi,
    ZaloError,
    ZaloTokens,
)
from bot.channels.zalo.events import (
    SIGNATURE_HEADER,
    MalformedEvent,
    _id,
    depth_within,
    event_time,
    incoming,
    signature,
    without_nul,
)
from bot.channels.zalo.render import (
    Attachment,
    file_note,
    link_text,
    media_message,
    render_parts,
)
from bot.clock import Clock
from bot.config import ZaloSettings
from bot.dispatcher import Delivery, Dispatcher
from bot.links import FileLinks
from bot.logs import failed
from bot.sealing import SealError
from flows.lang import Lang
from flows.model import Reply
from flows.windows import Cost, WindowRules
from storage import zalo as store
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "zalo"
MAX_BODY = 64 * 1024  # bytes: an event is a few hundred; Zalo's largest carry attachments
MAX_DEPTH = 16  # nesting of a webhook body's JSON; Zalo's events go 4 deep
FUTURE_SKEW = timedelta(minutes=5)  # events stamped ahead of our clock by up to this


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None if it is longer than `limit` (not read further)."""
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class SetupError(ChannelSetupError):
    """Zalo refused our credentials: the bot cannot work until the operator fixes them."""


@dataclass
class _Job:
    user_id: str
    delivery: Delivery
    label: str | None = None  # the tapped button, shown back as "✓ label" when taken
    attempts: int = field(default=0)


class ZaloChannel:
    """`routes()` gives the webhook route for the web server; `start()` / `stop()` run the
    rest. `cost(user)` and `send(user, replies)` are for messages not answering a message
    (reminders)."""

    mode = "webhook"
    MAX_ATTEMPTS = 6  # per message, for 5xx, timeouts and a missing token
    FIRST_BACKOFF = 0.5
    MAX_BACKOFF = 30.0
    STOP_GRACE = 10.0
    KEEP_UP_EVERY = 2.0  # seconds between retries of events the database could not take
    MAX_PAUSE = 30.0  # ... doubling while it cannot, up to this
    UNSENT_EVERY = 15.0  # seconds between looks for answers not sent
    UNSENT_AFTER = timedelta(seconds=90)  # ... at least this old (a live send is quicker)
    LEFT_AFTER = timedelta(seconds=60)  # inbox rows this old, not ours: left by a process
    DB_SLOTS = 2  # background transactions in flight at once
    FLUSH_DELAY = 0.2  # seconds: inbox rows handled meanwhile are removed in one go
    PAGE = 1000  # inbox rows read at a time at start

    def __init__(
        self,
        settings: ZaloSettings,
        dispatcher: Dispatcher,
        langs: Mapping[str, Lang],
        default_lang: str,
        clock: Clock,
        links: FileLinks | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.settings, self.dispatcher, self.clock = settings, dispatcher, clock
        self.langs, self.default_lang = langs, default_lang
        self.links = links  # files other than images are offered by link, if it can
        self.db = dispatcher.db
        self.api = ZaloApi(settings, timeout=timeout)
        self.tokens = ZaloTokens(self.db, self.api, clock)
        self.rules = WindowRules(monthly_quota=settings.monthly_quota)
        self._workers: set[asyncio.Task[None]] = set()
        self._lanes: Lanes[str, _Job] = Lanes(lambda _, job: self._send_job(job), "sending on Zalo")
        self._handled = Batch(self._clear, self.FLUSH_DELAY, "handled Zalo events")
        self._accepting: list[tuple[store.Delivered, asyncio.Future[int | None]]] = []
        self._acceptor: asyncio.Task[None] | None = None
        # Background database work (handling events, booking messages) waits here rather
        # than in the database's queue, so a webhook's insert is never stuck behind a
        # backlog of it: that keeps the answer to Zalo fast under load.
        self._slots = asyncio.Semaphore(self.DB_SLOTS)
        # Answers re-sent at start: the same event may also wait in the inbox (handled but
        # not yet cleared when the last run stopped); its duplicate must not send them again.
        self._resent: set[int] = set()
        self._in_flight: set[int] = set()  # inbox ids taken by this process, until cleared
        self._retry: dict[int, store.Inbound] = {}  # not taken by the database: tried again
        self._queued: set[int] = set()  # outbox rows queued or being sent here
        self._keeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failing: str | None = None  # sends failing after every retry, since when
        self.not_sent = 0  # messages dropped: no free window and no quota left
        self.health: dict[str, Any] = {"mode": self.mode, "ok": False}

    @property
    def idle(self) -> bool:
        """Nothing being handled or waiting to be sent."""
        return not self._workers and not self._lanes.busy

    @property
    def queued(self) -> int:
        """Messages waiting to be sent or being sent: the scheduler tops this up, never
        more, so reminders go out at the channel's pace and few wait in memory."""
        return self._lanes.size

    def _update_health(self) -> None:
        self.health.update(
            ok=self.tokens.error is None and self._failing is None,
            token=self.tokens.error or "ok",
            sending="ok" if self._failing is None else f"failing since {self._failing}",
            not_sent_without_quota=self.not_sent,
        )

    def _sending_fails(self, exc: Exception) -> None:
        if self._failing is None:
            self._failing = time.strftime("%Y-%m-%d %H:%M:%S")
            log.error("Sending on Zalo fails (%s); the answers are kept and retried", exc)
            self._update_health()

    def _sending_works(self) -> None:
        if self._failing is not None:
            log.warning("Sending on Zalo works again (failing since %s)", self._failing)
            self._failing = None
            self._update_health()

    async def _keep_up(self) -> None:
        """While running: hand the database again the events it could not take (an
        outage), pick up events another process left in the inbox, and send again the
        answers not sent (Zalo failed for longer than the retries)."""
        pause, last_unsent, last_left = self.KEEP_UP_EVERY, 0.0, 0.0
        while not self._stopping.is_set():
            await asyncio.sleep(pause)
            try:
                for inbound in sorted(self._retry.values(), key=lambda i: i.id):
                    self._spawn(inbound)
                now = time.monotonic()
                if now - last_left >= self.LEFT_AFTER.total_seconds():
                    last_left = now
                    await self._pick_up_left()
                if now - last_unsent >= self.UNSENT_EVERY:
                    last_unsent = now
                    on_its_way = []
                    for user_id, delivery in await self.dispatcher.unsent(
                        CHANNEL, self.UNSENT_AFTER, skip=self._queued
                    ):
                        if delivery.outbox_id not in self._queued and not (
                            self.dispatcher.sent_but_not_recorded(delivery.outbox_id)
                        ):
                            self._enqueue(_Job(user_id, delivery))
                        else:
                            on_its_way.append(delivery.outbox_id or 0)
                    await self.dispatcher.release(on_its_way)
                # While the database is away, retries back off (logged once, by it).
                down = self.db.outage.down
                pause = min(pause * 2, self.MAX_PAUSE) if down else self.KEEP_UP_EVERY
            except DatabaseUnavailable:  # logged once by the database
                pause = min(pause * 2, self.MAX_PAUSE)
            except Exception as exc:
                failed(log, "Zalo: could not catch up; trying again later", exc)
                pause = min(pause * 2, self.MAX_PAUSE)

    async def _pick_up_left(self) -> None:
        """Inbox rows of a while ago that no process is handling (it stopped meanwhile)."""
        before = self.clock.now() - self.LEFT_AFTER
        rows = await self.db.run(lambda conn: store.waiting(conn, CHANNEL, 0, self.PAGE, before))
        for inbound in rows:
            if inbound.id not in self._in_flight and inbound.id not in self._retry:
                self._spawn(inbound)

    # --- lifecycle ---

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.settings.webhook_path, self._webhook)]

    async def start(self) -> None:
        """Get an access token, then finish what the last run left: answers not sent and
        events not handled. Raises SetupError when Zalo refuses the credentials."""
        try:
            await self.tokens.access_token()
        except SealError as exc:
            raise SetupError(
                f"Zalo: {exc}. Set CDHT_SECRET_KEY (or ZALO_APP_SECRET) back to what it was, "
                "or authorise the app again and set ZALO_REFRESH_TOKEN to the new refresh "
                "token."
            ) from exc
        except TokenUnavailable as exc:
            if exc.__cause__ is None or isinstance(exc.__cause__, ZaloError):
                raise SetupError(
                    f"Zalo: no access token ({exc}). Check ZALO_APP_ID and ZALO_APP_SECRET, "
                    "and set ZALO_REFRESH_TOKEN to a new refresh token from the OA "
                    "authorisation."
                ) from exc
            log.warning("Zalo is not reachable now (%s); the bot retries when it sends", exc)
        self._update_health()
        if self.links is None or not self.links.public_url:
            log.info("Zalo: set CDHT_PUBLIC_URL to offer admins' exports by link on Zalo")
        pending = await self.dispatcher.unsent(CHANNEL)
        for user_id, delivery in pending:
            self._resent.add(delivery.outbox_id or 0)
            self._enqueue(_Job(user_id, delivery))
        self._keeper = asyncio.create_task(self._keep_up(), name="zalo-keep-up")
        left, after = 0, 0
        while True:
            page = await self._waiting(after)
            for inbound in page:
                if inbound.id not in self._in_flight:  # not already taken by the webhook
                    self._spawn(inbound)
                    left += 1
            if len(page) < self.PAGE:
                break
            after = page[-1].id
        if pending or left:
            log.info(
                "Zalo: %d answers re-sent and %d events handled that the last run left",
                len(pending),
                left,
            )

    async def _waiting(self, after: int) -> list[store.Inbound]:
        return await self.db.run(lambda conn: store.waiting(conn, CHANNEL, after, self.PAGE))

    async def stop(self) -> None:
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._workers:
            await asyncio.wait(list(self._workers), timeout=self.STOP_GRACE)
        await self._lanes.finish(self.STOP_GRACE)
        await self._handled.flush()
        await self.dispatcher.flush()
        await self.api.close()

    # --- receiving ---

    async def _webhook(self, request: web.Request) -> web.Response:
        # Unsigned requests are refused before their body is read, and a body is read only
        # up to the size of an event, then checked for nesting before it is parsed.
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not given.startswith("mac=") or len(given) > 100:
            return web.json_response({"error": "not signed"}, status=401)
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        body = await _read_at_most(request, MAX_BODY)
        if body is None:
            return web.json_response({"error": "too large"}, status=413)
        if not depth_within(body, MAX_DEPTH):
            return web.json_response({"error": "nested too deep"}, status=400)
        try:
            # Ids are 64-bit: kept as the digits received (parse_int=str), never as floats.
            data = json.loads(body, parse_int=str, parse_float=str)
        except (ValueError, RecursionError):
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "not an event"}, status=400)
        try:
            app_id, stamp = _id(data.get("app_id")), _id(data.get("timestamp"))
        except MalformedEvent:
            return web.json_response({"error": "malformed event"}, status=400)
        expected = signature(app_id, body, stamp, self.settings.oa_secret_key)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return web.json_response({"error": "bad signature"}, status=401)
        if app_id != self.settings.app_id:
            return web.json_response({"ignored": "another app"})
        happened, now = event_time(data), self.clock.now()
        age = self.settings.max_event_age
        if happened is None or not now - age <= happened <= now + FUTURE_SKEW:
            # A replay of an old signed event: an unfollow long ago, a message from before
            # the person deleted their data...
            log.warning("Zalo: refused a signed event outside the accepted time window")
            return web.json_response({"error": "stale event"}, status=401)
        try:
            event = incoming(data)
        except MalformedEvent as exc:
            log.warning("Zalo: refused a signed event of the wrong shape (%s)", exc)
            return web.json_response({"error": "malformed event"}, status=400)
        if event is None:
            return web.json_response({"ignored": _id(data.get("event_name"))[:40]})
        data = without_nul(data)
        opens = event.user_id if event.opens_window else None
        try:
            stored = await self._accept(store.Delivered(event.key[:128], data, opens))
        except DatabaseUnavailable:  # logged once by the database; Zalo delivers it again
            return web.json_response({"error": "not stored"}, status=503)
        except Exception as exc:
            failed(log, "could not store a Zalo event; Zalo will deliver it again", exc)
            return web.json_response({"error": "not stored"}, status=500)
        if stored is not None:
            self._spawn(store.Inbound(stored, data))
        return web.json_response({"ok": True})

    async def _accept(self, item: store.Delivered) -> int | None:
        """Store one event, together with the others arriving meanwhile: one transaction
        for a burst of webhook calls (group commit) instead of one each."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._accepting.append((item, future))
        if self._acceptor is None or self._acceptor.done():
            self._acceptor = asyncio.create_task(self._accept_batches())
        return await future

    async def _accept_batches(self) -> None:
        while self._accepting:
            batch, self._accepting = self._accepting, []
            items = [item for item, _ in batch]
            results: list[int | Exception | None]
            try:
                results = list(await self._store(items))
            except Exception:
                # One event the database refuses must not hold up the others: each alone.
                results = []
                for item in items:
                    try:
                        results.extend(await self._store([item]))
                    except Exception as exc:
                        results.append(exc)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _store(self, items: list[store.Delivered]) -> list[int | None]:
        now = self.clock.now()
        return await self.db.run(lambda conn: store.accept(conn, CHANNEL, items, now))

    def _spawn(self, inbound: store.Inbound) -> None:
        self._in_flight.add(inbound.id)
        task = asyncio.create_task(self._handle(inbound))
        self._workers.add(task)

        task.add_done_callback(self._workers.discard)

    async def _handle(self, inbound: store.Inbound) -> None:
        self._retry.pop(inbound.id, None)
        try:
            event = incoming(inbound.payload)
            if event is None:
                pass
            elif event.event is None:  # unfollowed: nothing more can reach them
                self._lanes.drop(event.user_id)
                await self.dispatcher.mark_unreachable(CHANNEL, event.user_id)
            else:
                async with self._slots:
                    delivery = await self.dispatcher.handle(CHANNEL, event.user_id, event.event)
                self._enqueue(_Job(event.user_id, delivery, event.label))
            self._handled.add(inbound.id)
        except DatabaseUnavailable:
            # It stays in the inbox; tried again while the bot runs (and at the next start).
            self._in_flight.discard(inbound.id)
            self._retry[inbound.id] = inbound
        except Exception as exc:  # it stays in the inbox and is handled at the next start
            failed(log, "a Zalo event could not be handled", exc)

    async def _clear(self, ids: list[int]) -> None:
        """The inbox lets handled events go. Should it fail, they are handled again at the
        next start and de-duplicated then."""
        await self.db.run(lambda conn: store.handled(conn, ids))
        self._in_flight.difference_update(ids)

    # --- sending ---

    async def cost(self, user_id: str) -> Cost:
        """What a message to this person would cost now: free, quota, or cannot be sent."""
        now = self.clock.now()
        found = await self.db.run(
            lambda conn: store.window(conn, CHANNEL, user_id, self.rules, now)
        )
        return found.cost

    def send(self, user_id: str, replies: Iterable[Reply], lang: str | None = None) -> None:
        """Queue messages to a person, after whatever they are waiting for already."""
        self.push(user_id, Delivery(None, tuple(replies), lang=lang))

    def push(self, external_id: str, delivery: Delivery) -> None:
        """Send replies that answer no message (reminders): booked like any other against
        the person's free window, else the monthly quota, else not sent."""
        self._enqueue(_Job(external_id, delivery))

    def _enqueue(self, job: _Job) -> None:
        outbox_id = job.delivery.outbox_id
        if outbox_id is not None:
            if job.delivery.duplicate and outbox_id in self._queued:
                return  # the same answer is on its way already
            self._queued.add(outbox_id)
        self._lanes.put(job.user_id, job)

    async def _send_job(self, job: _Job) -> None:
        try:
            async with self.dispatcher.turn(CHANNEL, job.user_id, job.delivery) as turn:
                for delivery in turn.due:  # the chat's earlier replies not sent, then this
                    own = delivery is job.delivery
                    await self._deliver(job if own else _Job(job.user_id, delivery))
        except DatabaseUnavailable:
            pass  # logged once by the database; the answer is kept and sent again later
        finally:
            self._queued.discard(job.delivery.outbox_id or 0)

    async def _deliver(self, job: _Job) -> None:
        delivery = job.delivery
        if delivery.duplicate and (delivery.delivered or delivery.outbox_id in self._resent):
            return  # sent the first time round, or being re-sent since the start
        replies = list(delivery.replies)
        if job.label and replies and delivery.taken:
            # The button's text is hidden from the chat: show what was chosen.
            first = replies[0]
            replies[0] = dataclasses.replace(first, text=f"✓ {job.label}\n\n{first.text}")
        lang = self.langs.get(delivery.lang or "") or self.langs[self.default_lang]
        parts = render_parts(replies, lang)
        messages = [message for _, part in parts for message in part]
        # The reply each message belongs to: what is left if sending stops half-way.
        owner = [k for k, (_, part) in enumerate(parts) for _ in part]
        now = self.clock.now()
        if delivery.erased:  # the answer to /delete: free, and nothing of it is kept
            costs = [Cost.FREE] * len(messages)
        else:
            async with self._slots:
                costs = await self.db.run(
                    lambda conn: store.reserve(
                        conn, CHANNEL, job.user_id, self.rules, now, len(messages)
                    )
                )
        for n, (message, cost) in enumerate(zip(messages, costs, strict=True)):
            if cost is Cost.NONE:
                if await self.dispatcher.is_unreachable(CHANNEL, job.user_id):
                    log.info("a Zalo message was not sent: the person unfollowed the OA")
                    break
                self.not_sent += 1
                self._update_health()
                log.warning(
                    "a Zalo message was not sent: the person's free window is closed and "
                    "the monthly proactive quota (%d) is spent",
                    self.rules.monthly_quota,
                )
                break
            try:
                if isinstance(message, Attachment):
                    message = await self._attachment(message, lang, job.user_id)
                body = {"recipient": {"user_id": job.user_id}, "message": message}
                await self._send(body)
            except ZaloError as exc:
                log.error("Zalo refused a message (error %s: %s)", exc.code, exc.message)
            except (Unavailable, TokenUnavailable) as exc:
                # Zalo kept failing: what was not sent is given back to the window and the
                # quota, and the answer stays in the outbox, tried again while the bot runs.
                if not delivery.erased:
                    await self.db.run(
                        partial(
                            store.unbook,
                            channel=CHANNEL,
                            external_id=job.user_id,
                            costs=costs[n:],
                            now=now,
                        )
                    )
                if n:  # some went out: only the rest is kept to be sent again
                    left = tuple(reply for reply, _ in parts[owner[n] :])
                    await self.dispatcher.keep_unsent(delivery.outbox_id, left)
                self._sending_fails(exc)
                return
        self._sending_works()
        self.dispatcher.delivered(delivery.outbox_id)
        if delivery.erased:
            await self.db.run(lambda conn: store.forget_window(conn, CHANNEL, job.user_id))

    async def _attachment(self, item: Attachment, lang: Lang, user_id: str) -> dict[str, Any]:
        """The message that carries a file: the uploaded image, a link, or a note."""
        if item.image:
            try:
                uploaded = await self._with_token(
                    lambda token: self.api.upload_image(token, item.name, item.data)
                )
                return media_message(uploaded, item.name)
            except ZaloError as exc:
                log.error("Zalo refused an image (error %s: %s)", exc.code, exc.message)
        elif self.links is not None and (
            url := await self.links.offer(item.name, item.data, (CHANNEL, user_id), item.personal)
        ):
            return {"text": link_text(item.name, url, lang, item.personal)}
        return {"text": file_note(item.name, lang)}

    async def _send(self, body: dict[str, Any]) -> str:
        """Send one message; returns Zalo's message id."""
        return await self._with_token(lambda token: self.api.send(token, body))

    async def _with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Make an OA API call with retries; raises ZaloError when Zalo refuses it for
        good, Unavailable/TokenUnavailable when it kept failing."""
        backoff = self.FIRST_BACKOFF
        stale: str | None = None  # the token Zalo refused (-216), until a new one is had
        renewed = False
        for attempt in range(1, self.MAX_ATTEMPTS + 1):
            try:
                if stale is None:
                    token = await self.tokens.access_token()
                else:  # not the cached one again: it looks fresh, but Zalo refused it
                    token = await self.tokens.refresh(stale)
                    stale, renewed = None, True
                result = await call(token)
                self._update_health()
                return result
            except ZaloError as exc:
                if exc.code != TOKEN_EXPIRED or renewed:
                    raise  # -216 with a new token too: not a stale token
                stale = token
            except (Unavailable, TokenUnavailable) as exc:
                self._update_health()
                if attempt == self.MAX_ATTEMPTS:
                    raise
                log.info("Zalo call failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF)
        raise Unavailable("gave up after repeated -216 and failed refreshes")
