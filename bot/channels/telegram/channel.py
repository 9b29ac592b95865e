"""The Telegram channel: updates in (long polling or webhook), Bot API calls out.
No ConversationHandler and no state here beyond what makes the chat look right (which
message has live buttons, which tap was taken last), and which may be forgotten at a
restart.

Receiving. Each update becomes one `Event` with the update id as its event id, so an update
that arrives twice (a webhook retry, a poll after a crash) is processed once. The webhook
answers 200 after the dispatcher has committed the event (a few milliseconds) and before
anything is sent, so a crash after the 200 loses no answer; when the database is
unavailable it answers 503 and Telegram delivers the update again. Polling confirms a
batch to Telegram (the next getUpdates offset) only up to the first update that was not
committed, and asks again from there after a pause.

Sending. Replies go out through one queue per chat, in order, paced by `pacing.Throttle`
(overall and per-chat message rates), retried on 429 (after `retry_after`), on 5xx and on
timeouts (with backoff; a send waits long for its answer, as one resent after a timeout
may arrive twice). A 403 means the person blocked the bot: the account is marked
unreachable, the rest of its queue is dropped, and nothing is retried. A tapped button is
answered at once (by webhook, inside the HTTP answer to Telegram); if the tap was taken,
its message is edited to show the choice without buttons. Answers committed but never sent
(the process stopped in between, or Telegram failed longer than the retries) go out when
the channel starts again, and while it runs (the outbox is read again every little while,
backing off for each answer, until it is sent).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from telegram import (
    BotCommand,
    CallbackQuery,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.channels.base import ChannelSetupError
from bot.channels.lanes import Lanes
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.pacing import Throttle, retry_after_seconds
from bot.channels.telegram.render import (
    MAX_CAPTION,
    MAX_TEXT,
    chosen_label,
    inline_keyboard,
    is_long,
    lang_of_user,
    parse_callback_data,
    tap_notice,
)
from bot.channels.text import merge_replies, split_text, utf16_len, with_numbered_list
from bot.config import TelegramSettings
from bot.dispatcher import Delivery, Dispatcher
from bot.logs import failed
from bot.paper_files import MAX_UPLOAD
from flows.conversation import command_descriptions
from flows.lang import Lang
from flows.model import Event, Reply
from flows.text import clean
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

T = TypeVar("T")

# do_api_request on a method PTB wraps warns "Please use 'Bot.send_message'": deliberate
# here (see TelegramChannel._send_text), so only those two warnings are silenced.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText)'",
    category=PTBUserWarning,
)


class Blocked(Exception):
    """Telegram answered 403: the person blocked the bot (or deleted their account)."""


@dataclass
class _Job:
    chat_id: int
    user_id: str
    delivery: Delivery
    query: CallbackQuery | None = None
    answered: bool = False  # the tap was answered in the webhook's response


def remember(recent: OrderedDict[int, T], chat_id: int, value: T, keep: int = 100_000) -> None:
    """Per-chat display state, bounded: the chats heard from longest ago are forgotten."""
    recent[chat_id] = value
    recent.move_to_end(chat_id)
    while len(recent) > keep:
        recent.popitem(last=False)


class TelegramChannel:
    """Owns the PTB Application. `routes()` gives the webhook route for the web server;
    `start()` / `stop()` run it."""

    POLL_TIMEOUT = 25  # seconds a getUpdates long poll waits for news
    MAX_ATTEMPTS = 6  # per API call, for 5xx and timeouts
    FIRST_BACKOFF = 0.5
    MAX_BACKOFF = 30.0
    STOP_GRACE = 10.0  # seconds to finish sending on shutdown
    UNSENT_EVERY = 15.0  # seconds between looks for answers that were not sent
    UNSENT_AFTER = timedelta(seconds=90)  # ... at least this old (a live send is quicker)
    MAX_PAUSE = 30.0  # seconds, at most, between polls while the database is unavailable

    def __init__(
        self,
        settings: TelegramSettings,
        dispatcher: Dispatcher,
        langs: Mapping[str, Lang],
        default_lang: str,
        read_timeout: float = 60.0,
    ) -> None:
        self.settings, self.dispatcher = settings, dispatcher
        self.langs, self.default_lang = langs, default_lang
        base = settings.api_base_url
        self._requests = (
            # A send that Telegram answers slowly may still be delivered: better to wait
            # for its answer than to send it again after a short timeout.
            AiohttpRequest(connections=32, read_timeout=read_timeout),
            AiohttpRequest(connections=1, read_timeout=min(read_timeout, 10.0)),  # getUpdates
        )
        self.app = (
            Application.builder()
            .token(settings.token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .updater(None)  # polling and the webhook are ours: see the module docstring
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .rate_limiter(Throttle(settings.max_per_second, settings.max_per_chat_per_second))
            .build()
        )
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self.mode = "webhook" if settings.webhook_url else "polling"
        self._lanes: Lanes[int, _Job] = Lanes(self._send_job, "sending to a chat")
        self._live: OrderedDict[int, int] = OrderedDict()  # chat → message with live buttons
        # chat → (message, button) of the last tap taken, to recognise a double tap
        self._taken: OrderedDict[int, tuple[int, str | None]] = OrderedDict()
        self._reply_keyboard: set[int] = set()  # chats showing the share-phone keyboard
        self._poller: asyncio.Task[None] | None = None
        self._offset: int | None = None
        self._in_batch = False
        self._answer_in_response: dict[int, dict[str, Any] | None] = {}  # webhook update → call
        self._stopping = asyncio.Event()
        self._unsaved: set[int] = set()  # updates the database could not take: not confirmed
        self._queued: set[int] = set()  # outbox rows queued or being sent by this process
        self._resender: asyncio.Task[None] | None = None
        self._failing: str | None = None  # sends failing after every retry, since when
        self._receiving = False
        self._initialized = False  # webhooks that come before (the port opens first) wait
        self.health: dict[str, Any] = {"mode": self.mode, "ok": False}

    @property
    def idle(self) -> bool:
        """No polled batch being processed and nothing waiting to be sent."""
        return not self._in_batch and not self._lanes.busy

    @property
    def queued(self) -> int:
        """Messages waiting to be sent or being sent: the scheduler tops this up, never
        more, so reminders go out at the channel's pace and few wait in memory."""
        return self._lanes.size

    # --- lifecycle ---

    def routes(self) -> list[web.RouteDef]:
        if self.mode != "webhook":
            return []
        return [web.post(self.settings.webhook_path, self._webhook)]

    async def start(self) -> None:
        """Check the token (getMe), publish the command menus, then poll or set the
        webhook. Raises ChannelSetupError when Telegram rejects the token or the set-up,
        or cannot be reached."""
        try:
            await self._start()
        except InvalidToken as exc:
            raise ChannelSetupError(
                "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather."
            ) from exc
        except BadRequest as exc:  # e.g. a webhook URL Telegram will not use
            raise ChannelSetupError(f"Telegram refused the set-up: {exc.message}") from exc
        except NetworkError as exc:
            raise ChannelSetupError(f"Cannot reach the Telegram Bot API ({exc}).", 1) from exc

    async def _start(self) -> None:
        await self.app.initialize()
        self._initialized = True
        bot = self.app.bot
        log.info("Telegram bot @%s (%s mode)", bot.username, self.mode)
        await self._set_commands()
        self._receiving = True
        self.health.update(bot=bot.username, since=time.time())
        self._update_health()
        await self._resend_unsent(timedelta(0))
        self._resender = asyncio.create_task(self._resend_while_running(), name="tg-unsent")
        if self.mode == "webhook":
            await self._with_retries(
                lambda: bot.set_webhook(
                    self.settings.webhook_url,
                    secret_token=self.settings.webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            )
        else:
            await self._with_retries(lambda: bot.delete_webhook(drop_pending_updates=False))
            self._poller = asyncio.create_task(self._poll(), name="telegram-poll")

    async def stop(self) -> None:
        self._stopping.set()
        if self._resender is not None:
            self._resender.cancel()
            await asyncio.gather(self._resender, return_exceptions=True)
        if self._poller is not None:
            if not self._in_batch:  # waiting for news: stop now; else finish the batch first
                self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            if self._offset is not None:  # confirm the last batch, so it is not sent again
                try:
                    await self.app.bot.get_updates(offset=self._offset, timeout=0, limit=1)
                except TelegramError as exc:
                    log.info("could not confirm the last updates (%s); they will be deduped", exc)
        await self._lanes.finish(self.STOP_GRACE)
        await self.dispatcher.flush()
        await self.app.shutdown()
        for request in self._requests:  # also when start() failed half-way, before PTB knew
            await request.shutdown()

    async def _resend_unsent(self, older_than: timedelta) -> None:
        """Answers committed but not sent (the process stopped in between, or Telegram
        failed for longer than the retries) go out now, unless already queued here."""
        pending = await self.dispatcher.unsent(CHANNEL, older_than, skip=self._queued)
        resent, on_its_way = 0, []
        for external_id, delivery in pending:
            if delivery.outbox_id in self._queued or self.dispatcher.sent_but_not_recorded(
                delivery.outbox_id
            ):
                on_its_way.append(delivery.outbox_id or 0)
                continue  # on its way, or sent and being recorded
            if external_id.lstrip("-").isdigit():
                self._enqueue(_Job(int(external_id), external_id, delivery))
                resent += 1
        await self.dispatcher.release(on_its_way)
        if resent:
            log.info("sending %d answers that were not sent before", resent)

    async def _resend_while_running(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.UNSENT_EVERY)
            try:
                await self._resend_unsent(self.UNSENT_AFTER)
            except DatabaseUnavailable:
                pass  # logged once by the database; tried again at the next look
            except Exception as exc:
                failed(log, "could not look for answers not sent; trying again later", exc)

    def _update_health(self) -> None:
        self.health.update(
            ok=self._receiving and self._failing is None,
            sending="ok" if self._failing is None else f"failing since {self._failing}",
        )

    async def _set_commands(self) -> None:
        for code, lang in self.langs.items():
            commands = [BotCommand(name, text[:256]) for name, text in command_descriptions(lang)]
            language = None if code == self.default_lang else code
            try:
                await self.app.bot.set_my_commands(commands, language_code=language)
            except TelegramError as exc:  # a menu is a nicety: never keep the bot from starting
                log.warning("setMyCommands (%s) failed: %s", code, exc)

    # --- receiving ---

    async def _poll(self) -> None:
        bot, backoff = self.app.bot, 1.0
        while not self._stopping.is_set():
            try:
                updates = await bot.get_updates(
                    offset=self._offset,
                    timeout=self.POLL_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except InvalidToken:
                log.error("Telegram no longer accepts the bot token; polling stopped")
                self._receiving = False
                self.health.update(error="invalid token")
                self._update_health()
                return
            except (Conflict, NetworkError, RetryAfter) as exc:
                # Conflict: another process polls with this token, or a webhook is set.
                log.warning("getUpdates failed (%s); trying again in %.0f s", exc, backoff)
                self._receiving = False
                self.health.update(error=type(exc).__name__)
                self._update_health()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF)
                continue
            self._receiving = True
            self.health.update(last_poll=time.time(), error=None)
            self._update_health()
            if not updates:
                backoff = 1.0
                continue
            self._in_batch = True
            try:
                unsaved = await self._process_batch(updates)
            finally:
                self._in_batch = False
            if not unsaved:
                backoff = 1.0
                self._offset = updates[-1].update_id + 1
                continue
            # Confirm only what was committed; the rest comes again after a pause (the
            # updates after the first one not taken too: they are recognised as seen).
            self._offset = min(unsaved)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.MAX_PAUSE)

    async def _process_batch(self, updates: tuple[Update, ...]) -> set[int]:
        """Each chat's updates in order; different chats at the same time. Returns the ids
        of updates the database could not take (and of the chat's ones after them)."""
        by_chat: dict[int, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            by_chat.setdefault(chat.id if chat else -update.update_id, []).append(update)
        unsaved: set[int] = set()

        async def in_order(batch: list[Update]) -> None:
            for n, update in enumerate(batch):
                await self.app.process_update(update)
                if update.update_id in self._unsaved:
                    self._unsaved.discard(update.update_id)
                    unsaved.update(u.update_id for u in batch[n:])
                    return  # the chat's next updates wait, to keep their order

        await asyncio.gather(*(in_order(b) for b in by_chat.values()))
        return unsaved

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.settings.webhook_secret.encode()):
            return web.Response(status=403, text="wrong secret token")
        if not self._initialized:  # still starting (behind a proxy, traffic may come now)
            return web.Response(status=503, text="starting", headers={"Retry-After": "2"})
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:  # anything PTB cannot read as an update
            log.warning("webhook: rejected a malformed update (%s)", type(exc).__name__)
            return web.Response(status=400, text="malformed update")
        self._receiving = True
        self.health.update(last_update=time.time())
        self._update_health()
        self._answer_in_response[update.update_id] = None
        try:
            await self.app.process_update(update)  # committed before Telegram hears 200
        finally:
            answer = self._answer_in_response.pop(update.update_id, None)
        if update.update_id in self._unsaved:
            self._unsaved.discard(update.update_id)
            # Not committed: Telegram keeps the update and delivers it again.
            return web.Response(status=503, text="not saved", headers={"Retry-After": "5"})
        return web.json_response(answer) if answer else web.Response(text="ok")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            failed(log, "Telegram update failed", context.error)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if update.my_chat_member is not None:
            try:
                await self._membership(update)
            except DatabaseUnavailable:
                self._unsaved.add(update.update_id)  # not confirmed: it comes again
            return
        if chat.type != ChatType.PRIVATE:
            await self._group(update)
            return
        query = update.callback_query
        tapped = query.message.message_id if query and isinstance(query.message, Message) else None
        taken = (tapped, query.data) if query is not None and tapped is not None else None
        if query is not None and taken is not None and self._taken.get(chat.id) == taken:
            # The same button again, on a question whose answer was just taken (a double
            # tap, before the buttons went away): nothing to say, nothing to ask again.
            await self._answer_query(query, None)
            return
        event = self._event(update)
        if event is None:
            return
        if event.kind == "file":
            event = await self._with_file(update, event)
        try:
            delivery = await self.dispatcher.handle(CHANNEL, str(user.id), event)
        except DatabaseUnavailable:
            self._unsaved.add(update.update_id)  # not confirmed: it comes again
            return
        answered = False
        if taken is not None and delivery.taken:
            remember(self._taken, chat.id, taken)
        if query is not None and update.update_id in self._answer_in_response:
            # Webhook: the tap is answered in the HTTP response to Telegram (a Bot API
            # feature), one call fewer per tap than answerCallbackQuery on its own.
            answer: dict[str, Any] = {
                "method": "answerCallbackQuery",
                "callback_query_id": query.id,
            }
            if (toast := tap_notice(delivery)) is not None:
                answer["text"] = toast
            self._answer_in_response[update.update_id] = answer
            answered = True
        self._enqueue(_Job(chat.id, str(user.id), delivery, query, answered))

    def _event(self, update: Update) -> Event | None:
        event_id = str(update.update_id)
        query = update.callback_query
        if query is not None:
            prompt, option = parse_callback_data(query.data)
            return Event("option", option=option, prompt=prompt, event_id=event_id)
        message = update.message
        if message is None:
            return None
        if message.contact is not None:
            own = message.contact.user_id is not None and message.contact.user_id == (
                message.from_user.id if message.from_user else None
            )
            return Event(
                "contact",
                phone=message.contact.phone_number,
                contact_is_own=own,
                event_id=event_id,
                sent_at=message.date,
            )
        if message.text is not None:
            return Event.from_text(message.text, event_id=event_id, sent_at=message.date)
        document = message.document
        if (
            document is not None
            and (document.file_name or "").lower().endswith(".xlsx")
            and (document.file_size or 0) <= MAX_UPLOAD
        ):  # a spreadsheet of paper forms (an admin's): fetched before it is handled
            return Event(
                "file",
                text=clean(message.caption or ""),
                file_name=document.file_name,
                event_id=event_id,
                sent_at=message.date,
            )
        return Event("unsupported", event_id=event_id)  # photo, sticker, voice, location...

    async def _with_file(self, update: Update, event: Event) -> Event:
        """The event with the sent file's bytes; "unsupported" if it cannot be fetched."""
        message = update.message
        document = message.document if message is not None else None
        if document is None:  # pragma: no cover - a file event has one
            return Event("unsupported", event_id=event.event_id)
        try:
            sent = await self.app.bot.get_file(document.file_id)
            data = bytes(await sent.download_as_bytearray())
        except TelegramError as exc:
            log.warning("could not fetch a file sent in chat (%s)", type(exc).__name__)
            return Event("unsupported", event_id=event.event_id)
        return replace(event, file_data=data)

    async def _membership(self, update: Update) -> None:
        change = update.my_chat_member
        assert change is not None
        status = change.new_chat_member.status
        if change.chat.type == ChatType.PRIVATE:
            if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
                # The person blocked the bot: don't wait for a failed send to find out.
                await self.dispatcher.mark_unreachable(CHANNEL, str(change.from_user.id))
            return
        if status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
            await self._group(update)

    async def _group(self, update: Update) -> None:
        """In a group the bot only says where to find it, and only when addressed."""
        message, query, chat = (
            update.effective_message,
            update.callback_query,
            update.effective_chat,
        )
        command = (message.text or "").split(maxsplit=1)[0] if message is not None else ""
        _, at, bot_name = command.partition("@")
        addressed = (
            update.my_chat_member is not None
            or query is not None
            or (command.startswith("/") and (not at or bot_name == self.app.bot.username))
        )
        if not addressed or chat is None:
            return
        user = update.effective_user
        t = lang_of_user(user.language_code if user else None, self.langs, self.default_lang)
        text = t._(
            "I only talk in private chats, so that your answers stay private. "
            "Write to me here: {link}"
        ).format(link=f"https://t.me/{self.app.bot.username}")
        try:
            if query is not None:
                await self.app.bot.answer_callback_query(query.id)
            await self._with_retries(lambda: self.app.bot.send_message(chat.id, text))
        except (TelegramError, Blocked) as exc:  # removed from the group meanwhile, say
            log.info("could not answer in a group: %s", type(exc).__name__)

    # --- sending ---

    def push(self, external_id: str, delivery: Delivery) -> None:
        """Send replies that answer no update (reminders), in the chat's queue."""
        if external_id.lstrip("-").isdigit():
            self._enqueue(_Job(int(external_id), external_id, delivery))

    def _enqueue(self, job: _Job) -> None:
        outbox_id = job.delivery.outbox_id
        if outbox_id is not None:
            if job.delivery.duplicate and outbox_id in self._queued:
                return  # the same answer is on its way already
            self._queued.add(outbox_id)
        self._lanes.put(job.chat_id, job)

    async def _send_job(self, chat_id: int, job: _Job) -> None:
        try:
            sent = False
            async with self.dispatcher.turn(CHANNEL, job.user_id, job.delivery) as turn:
                self._show(chat_id, turn.view)
                try:
                    for delivery in turn.due:  # the chat's earlier replies not sent, then this
                        own = delivery is job.delivery
                        sent |= await self._deliver(
                            job if own else _Job(chat_id, job.user_id, delivery)
                        )
                    if job.query is not None and not any(d is job.delivery for d in turn.due):
                        await self._tap_seen(chat_id, job)  # its answer went out elsewhere
                finally:
                    if turn.view is not None:
                        turn.view = self._shown(chat_id)
            if sent and self._failing is not None:
                log.warning("Sending on Telegram works again (failing since %s)", self._failing)
                self._failing = None
                self._update_health()
        except Blocked:
            log.info("a person blocked the bot; their account is marked unreachable")
            for dropped in self._lanes.drop(chat_id):
                self._queued.discard(dropped.delivery.outbox_id or 0)
            self._live.pop(chat_id, None)
            await self.dispatcher.mark_unreachable(CHANNEL, job.user_id)
        except (NetworkError, RetryAfter) as exc:
            # Given up after the retries: the answer stays in the outbox as not sent, and
            # is tried again while the bot runs. Logged when sending starts failing.
            if self._failing is None:
                self._failing = time.strftime("%Y-%m-%d %H:%M:%S")
                log.error("Sending on Telegram fails (%s); the answers are kept and retried", exc)
                self._update_health()
        finally:
            self._queued.discard(job.delivery.outbox_id or 0)

    async def _tap_seen(self, chat_id: int, job: _Job) -> None:
        """A tap whose answer another process sent (it came with the next message of the
        chat): the tap is still answered, and the choice shown on the question."""
        query, delivery = job.query, job.delivery
        assert query is not None
        if not job.answered:
            await self._answer_query(query, tap_notice(delivery))
        if delivery.taken and tap_notice(delivery) is None:
            await self._show_choice(chat_id, query)

    def _show(self, chat_id: int, view: dict[str, Any] | None) -> None:
        """What the chat shows, as the last process that sent to it left it (several
        processes send to one chat in turn): the message whose buttons are live, and
        whether the share-phone keyboard is up."""
        if view is None:
            return
        live = view.get("live")
        if isinstance(live, int):
            remember(self._live, chat_id, live)
        else:
            self._live.pop(chat_id, None)
        if view.get("phone_keyboard"):
            self._reply_keyboard.add(chat_id)
        else:
            self._reply_keyboard.discard(chat_id)

    def _shown(self, chat_id: int) -> dict[str, Any]:
        view: dict[str, Any] = {}
        if (live := self._live.get(chat_id)) is not None:
            view["live"] = live
        if chat_id in self._reply_keyboard:
            view["phone_keyboard"] = True
        return view

    async def _deliver(self, job: _Job) -> bool:
        """Send a job's replies; False if there was nothing to send."""
        delivery, query = job.delivery, job.query
        replies = list(delivery.replies)
        if delivery.duplicate and delivery.delivered:
            return False  # sent the first time round
        side: list[asyncio.Task[Any]] = []
        if query is not None:
            tapped = query.message.message_id if isinstance(query.message, Message) else None
            if tapped is not None and self._live.get(job.chat_id) == tapped:
                del self._live[job.chat_id]  # its buttons go with the answer or stay stale
            toast = tap_notice(delivery)
            if not job.answered:
                side.append(asyncio.create_task(self._answer_query(query, toast)))
            if toast is not None:  # shown with the answer to the tap, not as a message
                replies.remove(next(r for r in replies if r.kind == "notice"))
            elif delivery.taken:  # show the choice, take the buttons away
                side.append(asyncio.create_task(self._show_choice(job.chat_id, query)))
        lang = self.langs.get(delivery.lang or "") or self.langs[self.default_lang]
        merged = merge_replies(replies, MAX_TEXT)
        try:
            for n, reply in enumerate(merged):
                try:
                    await self._send(job.chat_id, reply, lang, side)
                except (NetworkError, RetryAfter):
                    if n:  # some went out: only the rest is kept to be sent again
                        await self.dispatcher.keep_unsent(delivery.outbox_id, tuple(merged[n:]))
                    raise
        finally:
            await asyncio.gather(*side, return_exceptions=True)
        self.dispatcher.delivered(delivery.outbox_id)
        return True

    async def _answer_query(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await self.app.bot.answer_callback_query(query.id, text=text)
        except BadRequest as exc:  # e.g. "query is too old" after a restart: harmless
            log.debug("answerCallbackQuery: %s", exc)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    async def _show_choice(self, chat_id: int, query: CallbackQuery) -> None:
        message = query.message
        if not isinstance(message, Message):
            return  # too old for Telegram to show us: nothing to edit
        label = chosen_label(query)
        text = message.text or ""
        if label:
            text = split_text(text, MAX_TEXT - utf16_len(label) - 10)[0] + f"\n\n✓ {label}"
        try:
            args = {"chat_id": chat_id, "message_id": message.message_id, "text": text or "✓"}
            await self._with_retries(  # raw, like _send_text: the answer is not needed
                lambda: self.app.bot.do_api_request("editMessageText", api_kwargs=args)
            )
        except BadRequest as exc:  # not modified, or too old to edit
            log.debug("editMessageText: %s", exc)
        except TelegramError as exc:
            log.info("could not show the choice: %s", exc)

    async def _retire_buttons(self, chat_id: int, old: int) -> None:
        """Take the buttons off the last question that still has them (answered by typing),
        so only the current question can be tapped."""
        try:
            await self.app.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=old, reply_markup=None
            )
        except TelegramError as exc:
            log.debug("editMessageReplyMarkup: %s", exc)

    async def _send(
        self, chat_id: int, reply: Reply, lang: Lang, side: list[asyncio.Task[Any]]
    ) -> None:
        bot = self.app.bot
        if reply.kind == "file":
            data = reply.file_data or b""
            try:
                await self._with_retries(
                    lambda: bot.send_document(
                        chat_id,
                        InputFile(data, filename=reply.file_name),
                        caption=reply.text[:MAX_CAPTION] or None,
                    )
                )
            except BadRequest as exc:  # would fail again the same way: skip this file
                log.error("Telegram refused a file (%s)", exc)
            return
        if reply.options and reply.kind != "ask_phone" and is_long(reply):
            reply = with_numbered_list(reply, lang)
        parts = split_text(reply.text, MAX_TEXT)
        markup: Any = None
        if reply.kind == "ask_phone":
            share = KeyboardButton("📱 " + lang._("Share my phone number"), request_contact=True)
            markup = ReplyKeyboardMarkup(
                [[share], *([KeyboardButton(o.label)] for o in reply.options)],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
        elif reply.options:
            markup = inline_keyboard(reply)
            old = self._live.pop(chat_id, None)
            if old is not None:
                side.append(asyncio.create_task(self._retire_buttons(chat_id, old)))
        if chat_id in self._reply_keyboard and reply.kind != "ask_phone":
            # Take the share-phone keyboard away with the first message that can carry it.
            self._reply_keyboard.discard(chat_id)
            if markup is None:
                markup = ReplyKeyboardRemove()
            else:
                head, sep, tail = parts[-1].rpartition("\n\n")
                if sep:
                    parts[-1:] = [head, tail]
                await self._send_text(chat_id, parts.pop(0), ReplyKeyboardRemove())
                if not parts:
                    parts = ["…"]
        for part in parts[:-1]:
            await self._send_text(chat_id, part, None)
        sent = await self._send_text(chat_id, parts[-1], markup)
        if reply.kind == "ask_phone":
            self._reply_keyboard.add(chat_id)
        elif reply.options and sent is not None:
            remember(self._live, chat_id, sent)

    async def _send_text(self, chat_id: int, text: str, markup: Any) -> int | None:
        """Send one message; its id. Through `do_api_request`, which hands back Telegram's
        JSON as it is: turning each answer into a Message object was a fifth of the bot's
        CPU time under load, and only the id is needed."""
        args: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup is not None:
            args["reply_markup"] = markup
        try:
            sent = await self._with_retries(
                lambda: self.app.bot.do_api_request("sendMessage", api_kwargs=args)
            )
        except BadRequest as exc:  # would fail again the same way: skip this message
            log.error("Telegram refused a message (%s)", exc)
            return None
        return sent.get("message_id") if isinstance(sent, dict) else None

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        """5xx and timeouts: try again with backoff. 403: Blocked. Others: raised."""
        backoff = self.FIRST_BACKOFF
        for attempt in range(1, self.MAX_ATTEMPTS + 1):
            try:
                return await call()
            except Forbidden as exc:
                raise Blocked() from exc
            except BadRequest:
                raise
            except RetryAfter as exc:  # the throttle already waited MAX_RETRY_AFTER times
                if attempt == self.MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(retry_after_seconds(exc) + 0.1)
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                if attempt == self.MAX_ATTEMPTS:
                    raise
                log.info("Telegram call failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF)
        raise AssertionError("unreachable")  # pragma: no cover
