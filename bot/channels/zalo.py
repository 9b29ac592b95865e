"""Zalo Official Account: signed webhook events in, OA API v3 messages out. A thin adapter
over the dispatcher, like the Telegram channel.

Receiving. Zalo POSTs each event to our webhook with `X-ZEvent-Signature`, and gives up on
a webhook that takes more than about 2 seconds. So the handler only checks the signature
over the raw bytes, stores the event in the inbox (one insert, which also opens the
person's free messaging window) and answers 200; the event is handled right after, off the
request. A crash after the 200 loses nothing: the inbox is handled again at the next start.
The message id de-duplicates: a delivery that comes again while waiting is dropped by the
inbox, one that comes after by the dispatcher (its answer is not sent twice).

Sending. Zalo has no inline keyboards: a question's options become `oa.query.hide` buttons,
which send their payload back as a message from the person; the payload names the question
and the option, so an old button is recognised as old. The numbered list is in the text as
well ("type 1, 2 or 3"), for clients that do not show buttons. Every message is booked
against the person's messaging window first (free within 48 hours of their last message,
at most 8), else against the monthly proactive quota, and not sent when neither allows it.
One queue per person keeps their messages in order; 5xx and timeouts are retried with
backoff, error -216 refreshes the access token once and retries.

Files. An image (an admin's chart) is uploaded and sent as a media message. The OA sends
no spreadsheets (its file upload takes PDF and Word only), so an export is kept in the
database for 24 hours and offered as a link to `/files/<token>` on our web server, under
CDHT_PUBLIC_URL; without that setting, a note says where else to get the file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import mimetypes
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot.batch import Batch
from bot.channels.lanes import Lanes
from bot.channels.text import merge_replies, split_text
from bot.channels.zalo_api import (
    TOKEN_EXPIRED,
    TokenUnavailable,
    Unavailable,
    ZaloApi,
    ZaloError,
    ZaloTokens,
)
from bot.clock import Clock
from bot.config import ZaloSettings
from bot.dispatcher import Delivery, Dispatcher
from flows.lang import Lang
from flows.model import Event, Reply
from flows.windows import Cost, WindowRules
from storage import channels as store

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "zalo"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT = 2000  # characters in one OA text message
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
BUTTON_PREFIX = "#cdht|"
MAX_IMAGE = 1024 * 1024  # bytes: the largest image the OA takes
IMAGE_TYPES = (".png", ".jpg", ".jpeg")
FILES_PATH = "/files/"  # on our web server: files offered by link
LINK_LIFETIME = timedelta(hours=24)
# Events a person causes that we answer; everything else (delivery and read receipts,
# messages the OA itself sent, anonymous chats) is acknowledged and ignored.
_UNSUPPORTED = frozenset(
    {
        "user_send_image",
        "user_send_gif",
        "user_send_sticker",
        "user_send_audio",
        "user_send_video",
        "user_send_file",
        "user_send_link",
        "user_send_location",
        "user_send_business_card",
    }
)


class SetupError(Exception):
    """Zalo refused our credentials: the bot cannot work until the operator fixes them."""


# --- pure helpers ------------------------------------------------------------------------


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """X-ZEvent-Signature: "mac=" + sha256(app_id + raw body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def button_payload(prompt: int | None, option_id: str, label: str) -> str:
    """What a button sends back: the question, the option and its label (to show it)."""
    return f"{BUTTON_PREFIX}{'' if prompt is None else prompt}|{option_id}|{label[:200]}"


def parse_button(text: str) -> tuple[int | None, str, str] | None:
    """The inverse of button_payload, or None for ordinary text."""
    if not text.startswith(BUTTON_PREFIX):
        return None
    prompt, _, rest = text[len(BUTTON_PREFIX) :].partition("|")
    option, _, label = rest.partition("|")
    return (int(prompt) if prompt.isdigit() else None), option[:64], label


@dataclass(frozen=True)
class Incoming:
    """A webhook event we act on: whose, its de-duplication key, and what to do."""

    user_id: str
    key: str
    event: Event | None  # None: the person unfollowed the OA
    label: str | None = None  # a tapped button's label
    opens_window: bool = True


def _id(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def incoming(data: Mapping[str, Any]) -> Incoming | None:
    """Translate a verified webhook event; None for events we ignore."""
    name = _id(data.get("event_name"))
    stamp = _id(data.get("timestamp"))
    sender = _id((data.get("sender") or {}).get("id"))
    message = data.get("message") or {}
    msg_id = _id(message.get("msg_id")) if isinstance(message, Mapping) else ""
    if name in ("follow", "unfollow"):
        user = _id((data.get("follower") or {}).get("id")) or sender
        if not user:
            return None
        key = f"{name}:{user}:{stamp}"
        if name == "unfollow":
            return Incoming(user, key, None, opens_window=False)
        return Incoming(user, key, Event.from_text("/start", event_id=key))
    if not sender or not (name.startswith("user_") and isinstance(message, Mapping)):
        return None
    key = msg_id or f"{name}:{sender}:{stamp}"
    if name == "user_send_text":
        text = str(message.get("text") or "")
        tapped = parse_button(text)
        if tapped is not None:
            prompt, option, label = tapped
            event = Event("option", text=label, option=option, prompt=prompt, event_id=key)
            return Incoming(sender, key, event, label=label)
        return Incoming(sender, key, Event.from_text(text, event_id=key))
    if name == "user_submit_info":  # the person shared their details with the OA
        phone = _id((data.get("info") or {}).get("phone"))
        if phone:
            return Incoming(sender, key, Event("contact", phone=phone, event_id=key))
        return Incoming(sender, key, Event("unsupported", event_id=key))
    if name in _UNSUPPORTED:
        return Incoming(sender, key, Event("unsupported", event_id=key))
    return None


def _choices(lang: Lang, count: int) -> str:
    numbers = [str(n) for n in range(1, count + 1)]
    if count == 1:
        return "1"
    return lang._("{numbers} or {last}").format(numbers=", ".join(numbers[:-1]), last=numbers[-1])


def _with_list(reply: Reply, lang: Lang) -> Reply:
    """An options reply with its numbered list written out, for typing the number."""
    lines = [f"{n}. {o.label}" for n, o in enumerate(reply.options, start=1)]
    if len(reply.options) <= MAX_BUTTONS:
        hint = lang._("Tap a button or type {choices}.").format(
            choices=_choices(lang, len(reply.options))
        )
    else:
        hint = lang._("Type the number of your answer, from 1 to {count}.").format(
            count=len(reply.options)
        )
    return dataclasses.replace(reply, text="\n\n".join([reply.text, "\n".join(lines), hint]))


def file_note(name: str, lang: Lang) -> str:
    """What is said instead of a file that cannot be sent on Zalo."""
    return lang._(
        "The file {name} cannot be sent on Zalo yet: get it on Telegram or with the "
        "cdht command on the server."
    ).format(name=name)


def link_text(name: str, url: str, lang: Lang) -> str:
    """The message offering a file by link."""
    hours = int(LINK_LIFETIME.total_seconds() // 3600)
    return lang._("📎 {name}: download it within {hours} hours from\n{url}").format(
        name=name, hours=hours, url=url
    )


@dataclass(frozen=True)
class Attachment:
    """A file among the messages to send. The OA sends images (uploaded first) but no
    spreadsheets (its file upload takes PDF and Word only), so an image becomes a media
    message and any other file a link to our web server, or a note without one."""

    name: str
    data: bytes

    @property
    def image(self) -> bool:
        return self.name.lower().endswith(IMAGE_TYPES) and 0 < len(self.data) <= MAX_IMAGE


Outgoing = dict[str, Any] | Attachment


def media_message(attachment_id: str, caption: str) -> dict[str, Any]:
    """An uploaded image, as a message with a caption (Zalo's own example has one)."""
    element = {"media_type": "image", "attachment_id": attachment_id}
    return {
        "text": caption[:MAX_TEXT],
        "attachment": {
            "type": "template",
            "payload": {"template_type": "media", "elements": [element]},
        },
    }


def render(replies: Sequence[Reply], lang: Lang) -> list[Outgoing]:
    """Replies → OA message objects (the `message` of a /v3.0/oa/message/cs request), and
    files to send as the channel can."""
    shaped = [_with_list(r, lang) if r.options else r for r in replies]
    messages: list[Outgoing] = []
    for reply in merge_replies(shaped, MAX_TEXT):
        if reply.kind == "file":
            if reply.text:
                messages.extend({"text": part} for part in split_text(reply.text, MAX_TEXT))
            messages.append(Attachment(reply.file_name or "file", reply.file_data or b""))
            continue
        parts = split_text(reply.text, MAX_TEXT)
        messages.extend({"text": part} for part in parts[:-1])
        last: dict[str, Any] = {"text": parts[-1]}
        if reply.options and len(reply.options) <= MAX_BUTTONS:
            last["attachment"] = {
                "type": "template",
                "payload": {
                    "buttons": [
                        {
                            "title": f"{n}. {o.label}"[:MAX_BUTTON_TITLE],
                            "type": "oa.query.hide",
                            "payload": button_payload(reply.prompt, o.id, o.label),
                        }
                        for n, o in enumerate(reply.options, start=1)
                    ]
                },
            }
        messages.append(last)
    return messages


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# --- the channel -------------------------------------------------------------------------


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
    RESEND_WITHIN = timedelta(minutes=10)  # older unsent answers are left alone at start
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
        timeout: float = 10.0,
    ) -> None:
        self.settings, self.dispatcher, self.clock = settings, dispatcher, clock
        self.langs, self.default_lang = langs, default_lang
        self.db = dispatcher.db
        self.api = ZaloApi(settings, timeout=timeout)
        self.tokens = ZaloTokens(self.db, self.api, clock)
        self.rules = WindowRules(monthly_quota=settings.monthly_quota)
        self._workers: set[asyncio.Task[None]] = set()
        self._lanes: Lanes[str, _Job] = Lanes(lambda _, job: self._deliver(job), "sending on Zalo")
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
            ok=self.tokens.error is None,
            token=self.tokens.error or "ok",
            not_sent_without_quota=self.not_sent,
        )

    # --- lifecycle ---

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(self.settings.webhook_path, self._webhook),
            web.get(FILES_PATH + "{token}", self._file),
        ]

    async def start(self) -> None:
        """Get an access token, then finish what the last run left: answers not sent and
        events not handled. Raises SetupError when Zalo refuses the credentials."""
        try:
            await self.tokens.access_token()
        except TokenUnavailable as exc:
            if exc.__cause__ is None or isinstance(exc.__cause__, ZaloError):
                raise SetupError(str(exc)) from exc
            log.warning("Zalo is not reachable now (%s); the bot retries when it sends", exc)
        self._update_health()
        if not self.settings.public_url:
            log.info("Zalo: set CDHT_PUBLIC_URL to offer admins' exports by link on Zalo")
        pending = await self.dispatcher.undelivered(CHANNEL, self.RESEND_WITHIN)
        for user_id, delivery in pending:
            self._resent.add(delivery.outbox_id or 0)
            self._enqueue(_Job(user_id, delivery))
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
        if self._workers:
            await asyncio.wait(list(self._workers), timeout=self.STOP_GRACE)
        await self._lanes.finish(self.STOP_GRACE)
        await self._handled.flush()
        await self.dispatcher.flush()
        await self.api.close()

    # --- receiving ---

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            # Ids are 64-bit: kept as the digits received (parse_int=str), never as floats.
            data = json.loads(body, parse_int=str, parse_float=str)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "not an event"}, status=400)
        expected = signature(
            _id(data.get("app_id")), body, _id(data.get("timestamp")), self.settings.oa_secret_key
        )
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return web.json_response({"error": "bad signature"}, status=401)
        if _id(data.get("app_id")) != self.settings.app_id:
            return web.json_response({"ignored": "another app"})
        event = incoming(data)
        if event is None:
            return web.json_response({"ignored": _id(data.get("event_name"))[:40]})
        opens = event.user_id if event.opens_window else None
        try:
            stored = await self._accept(store.Delivered(event.key[:128], data, opens))
        except Exception:
            log.exception("could not store a Zalo event; Zalo will deliver it again")
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
        except Exception:  # it stays in the inbox and is handled at the next start
            log.exception("a Zalo event could not be handled")

    async def _clear(self, ids: list[int]) -> None:
        """The inbox lets handled events go. Should it fail, they are handled again at the
        next start and de-duplicated then."""
        await self.db.run(lambda conn: store.handled(conn, ids))
        self._in_flight.difference_update(ids)

    async def _file(self, request: web.Request) -> web.Response:
        """A file offered by link (an export), while the link works."""
        token, now = request.match_info["token"], self.clock.now()
        found = None
        if len(token) <= 64:
            found = await self.db.run(lambda conn: store.download(conn, _token_hash(token), now))
        if found is None:
            lang = self.langs[self.default_lang]
            text = lang._(
                "This link has expired or does not exist. Ask the bot for the report again "
                "with /export."
            )
            return web.Response(status=404, text=text, headers={"Cache-Control": "no-store"})
        name, content = found
        return web.Response(
            body=content,
            content_type=_content_type(name),
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Robots-Tag": "noindex",
            },
        )

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
        self._lanes.put(job.user_id, job)

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
        messages = render(replies, lang)
        now = self.clock.now()
        async with self._slots:
            costs = await self.db.run(
                lambda conn: store.reserve(
                    conn, CHANNEL, job.user_id, self.rules, now, len(messages)
                )
            )
        for message, cost in zip(messages, costs, strict=True):
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
                    message = await self._attachment(message, lang)
                body = {"recipient": {"user_id": job.user_id}, "message": message}
                await self._send(body)
            except ZaloError as exc:
                log.error("Zalo refused a message (error %s: %s)", exc.code, exc.message)
        self.dispatcher.delivered(delivery.outbox_id)

    async def _attachment(self, item: Attachment, lang: Lang) -> dict[str, Any]:
        """The message that carries a file: the uploaded image, a link, or a note."""
        if item.image:
            try:
                uploaded = await self._with_token(
                    lambda token: self.api.upload_image(token, item.name, item.data)
                )
                return media_message(uploaded, item.name)
            except ZaloError as exc:
                log.error("Zalo refused an image (error %s: %s)", exc.code, exc.message)
        elif self.settings.public_url:
            token, now = secrets.token_urlsafe(24), self.clock.now()
            await self.db.run(
                lambda conn: store.offer_download(
                    conn, _token_hash(token), item.name, item.data, now, now + LINK_LIFETIME
                )
            )
            url = f"{self.settings.public_url}{FILES_PATH}{token}"
            return {"text": link_text(item.name, url, lang)}
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
                log.warning("Zalo call failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF)
        raise Unavailable("gave up after repeated -216 and failed refreshes")
