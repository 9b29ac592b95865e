"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp), and the people who use it.

It answers the Bot API methods the bot calls (getMe, getUpdates, setWebhook, sendMessage,
editMessageText, answerCallbackQuery...), keeps each chat's messages the way a Telegram
client would show them, and hands updates to the bot the way Telegram does: by getUpdates
while no webhook is set, otherwise by POSTing them to the webhook with the secret token.
Failures (429, 5xx, 403) and slow answers can be injected per method.

Also used by bench/telegram.py, so it has no pytest dependency.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "link_preview_options"}
SENDS = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
IN_WEBHOOK_ANSWER = "in webhook answer: "  # prefix in `counts` for those methods
BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "CDHT", "username": "cdht_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class Failure:
    method: str
    status: int
    times: int = 1
    retry_after: int | None = None
    description: str = "injected failure"
    chat_id: int | None = None
    delay: float = 0.0  # seconds before answering (longer than the bot waits: a timeout)


@dataclass
class WebhookDelivery:
    update_id: int
    status: int
    seconds: float


@dataclass
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: itertools.count = field(default_factory=lambda: itertools.count(1))


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token", record: bool = True) -> None:
        self.token = token
        self.record = record  # the benchmark turns the call log off
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()  # calls per method, also when not recording
        self.chats: dict[int, Chat] = {}
        self.pending: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1000)
        self.callback_ids = itertools.count(1)
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.failures: list[Failure] = []
        self.delays: dict[str, float] = {}
        self.redeliver_every = 0.2  # seconds between deliveries of an update not taken
        self.redeliver_for = 30.0  # ... for this long
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.answered: dict[str, str | None] = {}  # callback query id → toast text
        self.files: dict[str, bytes] = {}  # file id → what a person sent (getFile serves it)
        self.changed = asyncio.Condition()
        self.on_bot_message: Any = None  # callback(chat_id, method) for the benchmark
        self.bot_idle: Any = None  # () -> bool: the bot under test says it has nothing to do
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.closing = False
        # Telegram's limit on messages per second over all chats, when set (benchmarks): a
        # token bucket of `cap` tokens refilled at `cap` per second; a message finding it
        # empty is refused with 429 (retry_after 1) and counted in `over_cap`.
        self.cap: float | None = None
        # While set (and not yet set free), sends wait before Telegram takes them: see hold().
        self._gate: asyncio.Event | None = None
        self.over_cap = 0
        self._cap_tokens = 0.0
        self._cap_stamp: float | None = None

    # --- server ---

    async def start(self) -> str:
        app = web.Application(client_max_size=50 * 1024**2)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self.url

    async def stop(self) -> None:
        self.closing = True
        async with self.changed:
            self.changed.notify_all()  # end long polls now rather than at their timeout
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def hold(self) -> None:
        """Hold the sends that come from now on, until `release()`: a test that kills the
        bot while nothing is in flight (a message Telegram took whose answer did not reach
        the bot before it died cannot be known to have arrived, and is sent again)."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        """Let the held sends through; those whose sender died are dropped unseen."""
        if self._gate is not None:
            self._gate.set()
            self._gate = None

    def fail(self, method: str, status: int, **kwargs: Any) -> Failure:
        failure = Failure(method, status, **kwargs)
        self.failures.append(failure)
        return failure

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        if self._gate is not None and method in SENDS:
            await self._gate.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # its sender died meanwhile: never taken
        call = Call(method, params, time.monotonic())
        self.counts[method] += 1
        if self.record:
            self.calls.append(call)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        for failure in self.failures:
            wanted_chat = failure.chat_id is None or params.get("chat_id") == failure.chat_id
            if failure.method == method and failure.times > 0 and wanted_chat:
                failure.times -= 1
                call.status = failure.status
                if failure.delay:
                    await asyncio.sleep(failure.delay)
                extra = {"retry_after": failure.retry_after} if failure.retry_after else None
                return self._error(failure.status, failure.description, extra)
        if self.cap and method in ("sendMessage", "sendDocument") and not self._take_cap():
            self.over_cap += 1
            call.status = 429
            return self._error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(404, f"Not Found: method {method} is not faked")
        try:
            result = await handler(params)
        except _ApiError as exc:
            call.status = exc.status
            return self._error(exc.status, exc.description)
        async with self.changed:
            self.changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _take_cap(self) -> bool:
        now = time.monotonic()
        if self._cap_stamp is None:
            self._cap_tokens = self.cap or 0.0
        else:
            self._cap_tokens = min(
                self.cap or 0.0, self._cap_tokens + (now - self._cap_stamp) * (self.cap or 0.0)
            )
        self._cap_stamp = now
        if self._cap_tokens < 1:
            return False
        self._cap_tokens -= 1
        return True

    @staticmethod
    def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "data": value.file.read()}
            elif key in JSON_FIELDS:
                params[key] = json.loads(value)
            elif key in ("chat_id", "message_id", "offset", "limit", "timeout"):
                params[key] = int(value)
            else:
                params[key] = value
        return params

    # --- Bot API methods ---

    async def _api_getMe(self, params: dict) -> dict:
        return BOT_USER

    async def _api_setMyCommands(self, params: dict) -> bool:
        self.commands[params.get("language_code")] = params["commands"]
        return True

    async def _api_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict) -> bool:
        self.webhook = {"url": params["url"], "secret": params.get("secret_token", "")}
        return True

    async def _api_getUpdates(self, params: dict) -> list:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        if offset:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout", 0))
        async with self.changed:
            while not self.pending and time.monotonic() < deadline and not self.closing:
                try:
                    await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        return self.pending[: int(params.get("limit", 100))]

    async def _api_sendMessage(self, params: dict) -> dict:
        text = params.get("text", "")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params["chat_id"], text=text, markup=params.get("reply_markup"))

    async def _api_sendDocument(self, params: dict) -> dict:
        document = params["document"]
        return self._bot_message(
            params["chat_id"],
            document={
                "file_id": f"doc{len(self.calls)}",
                "file_unique_id": f"u{len(self.calls)}",
                "file_name": document["filename"],
                "file_size": len(document["data"]),
            },
            caption=params.get("caption"),
        )

    async def _api_getFile(self, params: dict) -> dict:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}.xlsx",
        }

    async def _file(self, request: web.Request) -> web.Response:
        """A file's bytes, as https://api.telegram.org/file/bot<token>/<file_path>."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".xlsx")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    async def _api_editMessageText(self, params: dict) -> dict:
        message = self._message(params)
        same_markup = message.get("reply_markup") == params.get("reply_markup")
        if message.get("text") == params["text"] and same_markup:
            raise _ApiError(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        self._set_markup(message, params.get("reply_markup"))
        self._notify(params["chat_id"], "editMessageText")
        return message

    async def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        message = self._message(params)
        self._set_markup(message, params.get("reply_markup"))
        self._notify(params["chat_id"], "editMessageReplyMarkup")
        return message

    async def _api_answerCallbackQuery(self, params: dict) -> bool:
        self.answered[params["callback_query_id"]] = params.get("text")
        return True

    # --- chats ---

    def chat(self, chat_id: int, type: str = "private", title: str | None = None) -> Chat:
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id, type, title)
        return self.chats[chat_id]

    def _chat_json(self, chat: Chat) -> dict:
        data: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.title:
            data["title"] = chat.title
        return data

    def _bot_message(self, chat_id: int, markup: dict | None = None, **content: Any) -> dict:
        content = {k: v for k, v in content.items() if v is not None}
        message = self.user_message(chat_id, BOT_USER, **content)
        self._set_markup(message, markup)
        self._notify(chat_id, "sendMessage")
        return message

    def _notify(self, chat_id: int, method: str) -> None:
        if self.on_bot_message is not None:
            self.on_bot_message(chat_id, method)

    @staticmethod
    def _set_markup(message: dict, markup: dict | None) -> None:
        # Only inline keyboards belong to a message; a reply keyboard is the chat's.
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        if markup and ("keyboard" in markup or "remove_keyboard" in markup):
            message["_chat_keyboard"] = markup

    def _message(self, params: dict) -> dict:
        chat = self.chats.get(params["chat_id"])
        message = chat.messages.get(params["message_id"]) if chat else None
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def user_message(self, chat_id: int, user: dict, **content: Any) -> dict:
        """A new message in a chat, from a person (or from the bot, with BOT_USER)."""
        chat = self.chat(chat_id)
        message = {
            "message_id": next(chat.next_id),
            "from": user,
            "chat": self._chat_json(chat),
            "date": int(time.time()),
            **content,
        }
        chat.messages[message["message_id"]] = message
        return message

    # --- updates ---

    async def push(self, update: dict[str, Any]) -> WebhookDelivery | None:
        """Give an update to the bot as Telegram would."""
        update.setdefault("update_id", next(self.update_ids))
        if self.webhook is None:
            async with self.changed:
                self.pending.append(update)
                self.changed.notify_all()
            return None
        delivery = await self.post_webhook(update, secret=self.webhook["secret"])
        # Telegram keeps an update the webhook did not take (5xx) and delivers it again.
        give_up = time.monotonic() + self.redeliver_for
        while delivery.status >= 500 and time.monotonic() < give_up:
            await asyncio.sleep(self.redeliver_every)
            delivery = await self.post_webhook(update, secret=self.webhook["secret"])
        return delivery

    async def post_webhook(
        self, update: Any, secret: str | None = None, raw: bytes | None = None
    ) -> WebhookDelivery:
        assert self.webhook is not None and self._session is not None
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(update).encode()
        started = time.monotonic()
        async with self._session.post(self.webhook["url"], data=body, headers=headers) as resp:
            answer = await resp.read()
        update_id = update.get("update_id", -1) if isinstance(update, dict) else -1
        delivery = WebhookDelivery(update_id, resp.status, time.monotonic() - started)
        self.webhook_deliveries.append(delivery)
        if resp.status == 200 and resp.content_type == "application/json":
            await self._method_in_response(json.loads(answer))
        return delivery

    async def _method_in_response(self, params: dict[str, Any]) -> None:
        """Telegram runs a Bot API method given in the answer to a webhook call."""
        method = params.pop("method")
        self.counts[f"{IN_WEBHOOK_ANSWER}{method}"] += 1
        if self.record:
            self.calls.append(
                Call(method, {**params, "in_webhook_response": True}, time.monotonic())
            )
        await getattr(self, f"_api_{method}")(params)


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


class FakeUser:
    """A person in a private chat with the bot."""

    QUIET = 0.08  # seconds without news from the bot that mean it has finished replying

    def __init__(
        self, tg: FakeTelegram, user_id: int, first_name: str = "Hoa", language: str = "vi"
    ) -> None:
        self.tg, self.id = tg, user_id
        self.user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        self.chat = tg.chat(user_id)
        self.last_delivery: WebhookDelivery | None = None

    # --- what the person sees ---

    @property
    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.chat.messages.values() if m["from"]["is_bot"]]

    @property
    def last(self) -> dict[str, Any]:
        return self.bot_messages[-1]

    @property
    def keyboard_message(self) -> dict[str, Any] | None:
        """The latest message that still has buttons under it."""
        with_buttons = [m for m in self.bot_messages if "reply_markup" in m]
        return with_buttons[-1] if with_buttons else None

    @property
    def chat_keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard shown in place of the phone's keyboard, if any."""
        for message in reversed(self.bot_messages):
            if "_chat_keyboard" in message:
                markup = message["_chat_keyboard"]
                return None if markup.get("remove_keyboard") else markup
        return None

    def buttons(self, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        message = message or self.keyboard_message
        if not message or "reply_markup" not in message:
            return []
        return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]

    def labels(self, message: dict[str, Any] | None = None) -> list[str]:
        return [b["text"] for b in self.buttons(message)]

    def texts_since(self, count: int) -> list[str]:
        return [m.get("text", m.get("caption", "")) for m in self.bot_messages[count:]]

    # --- what the person does ---

    async def _act(self, update: dict[str, Any], wait: bool) -> list[str]:
        before = len(self.bot_messages)
        self.last_delivery = await self.tg.push(update)
        if wait:
            await self.settle(before)
        return self.texts_since(before)

    async def settle(self, before: int | None = None, limit: float = 10.0) -> None:
        """Wait until the bot has replied (something new arrived, then quiet)."""
        tg, deadline = self.tg, time.monotonic() + limit
        seen = len(tg.calls)
        async with tg.changed:
            while before is not None and len(self.bot_messages) <= before:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not reply")
                try:
                    await asyncio.wait_for(tg.changed.wait(), remaining)
                except TimeoutError:
                    raise TimeoutError("the bot did not reply") from None
            seen = len(tg.calls)
        while True:
            await asyncio.sleep(self.QUIET)
            if len(tg.calls) == seen and (tg.bot_idle is None or tg.bot_idle()):
                return
            seen = len(tg.calls)

    async def send(self, text: str, wait: bool = True) -> list[str]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        message = self.tg.user_message(self.id, self.user, **content)
        return await self._act({"message": message}, wait)

    async def send_content(self, wait: bool = True, **content: Any) -> list[str]:
        message = self.tg.user_message(self.id, self.user, **content)
        return await self._act({"message": message}, wait)

    async def send_document(self, name: str, data: bytes, caption: str = "") -> list[str]:
        """Send a file, as a person does from the attachment menu."""
        file_id = f"file{len(self.tg.files) + 1}"
        self.tg.files[file_id] = data
        document = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": name,
            "file_size": len(data),
            "mime_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return await self.send_content(**content)

    async def share_contact(self, phone: str = "+84912345678", own: bool = True) -> list[str]:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": self.id if own else self.id + 1,
        }
        return await self.send_content(contact=contact)

    async def tap(self, label_part: str, message: dict[str, Any] | None = None) -> list[str]:
        message = message or self.keyboard_message
        assert message is not None, "there are no buttons to tap"
        matches = [b for b in self.buttons(message) if label_part.lower() in b["text"].lower()]
        assert matches, f"no button with {label_part!r} in {self.labels(message)}"
        return await self.tap_data(matches[0]["callback_data"], message)

    async def tap_data(
        self, data: str, message: dict[str, Any] | None = None, wait: bool = True
    ) -> list[str]:
        message = message or self.keyboard_message
        assert message is not None
        self.last_query_id = str(next(self.tg.callback_ids))
        query = {
            "id": self.last_query_id,
            "from": self.user,
            "message": {k: v for k, v in message.items() if not k.startswith("_")},
            "chat_instance": f"ci{self.id}",
            "data": data,
        }
        return await self._act({"callback_query": query}, wait)

    def toast(self) -> str | None:
        """The notice shown for the last tapped button."""
        return self.tg.answered.get(self.last_query_id)
