"""A fake Zalo: the OA API (consultation messages) and the OAuth server (token refresh) on
127.0.0.1 (aiohttp), and followers who send signed webhook events to the bot.

It keeps each person's chat as a Zalo client shows it, checks the access token on every
call (answering error -216 once tokens are expired), treats refresh tokens as single-use,
and can inject failures (HTTP 5xx, Zalo error codes, slow answers).

Also used by bench/zalo.py, so it has no pytest dependency.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

APP_ID = "4318470961230485121"
APP_SECRET = "app-secret-XYZ"
OA_SECRET_KEY = "oa-secret-key-123"
OA_ID = "2846119702437852177"
FIRST_REFRESH_TOKEN = "refresh-0"


@dataclass
class Failure:
    path: str  # "send", "upload" or "refresh"
    status: int = 200  # HTTP status; 200 with `code` for a Zalo error
    code: int = 0
    times: int = 1
    delay: float = 0.0


@dataclass
class Call:
    path: str
    status: int
    error: int
    at: float


def sign(body: bytes, app_id: str, timestamp: str, key: str = OA_SECRET_KEY) -> str:
    return (
        "mac="
        + hashlib.sha256(app_id.encode() + body + timestamp.encode() + key.encode()).hexdigest()
    )


class FakeZalo:
    def __init__(self, record: bool = True, lifetime: int = 90000) -> None:
        self.record = record
        self.lifetime = lifetime  # seconds, reported as expires_in
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = {FIRST_REFRESH_TOKEN}
        self.token_numbers = itertools.count(1)
        self.message_ids = itertools.count(1)
        self.images: dict[str, bytes] = {}  # attachment id → the uploaded image
        self.chats: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self.failures: list[Failure] = []
        self.refreshes = 0
        self.refresh_delay = 0.0
        self.changed = asyncio.Condition()
        self.bot_idle: Any = None  # set by tests: a callable saying the bot has nothing to do
        self.on_message: Any = None  # called with the user id of each message (benchmark)
        # When events happen, as Zalo stamps them (ms): the bot's clock in tests that set it.
        self.now: Any = lambda: time.time()
        self.ticks = itertools.count()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=4 * 1024**2)  # larger images get Zalo's error
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._refresh)
        app.router.add_post("/v2.0/oa/upload/image", self._upload_image)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, path: str, **kwargs: Any) -> Failure:
        failure = Failure(path, **kwargs)
        self.failures.append(failure)
        return failure

    def expire_access_tokens(self) -> None:
        """Every access token given so far stops working (Zalo then answers -216)."""
        self.access_tokens.clear()

    def _failure(self, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.path == path and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    def _log(self, path: str, status: int, error: int) -> None:
        self.counts[f"{path} {status} {error}"] += 1
        if self.record:
            self.calls.append(Call(path, status, error, time.monotonic()))

    async def _injected(self, path: str) -> web.Response | None:
        failure = self._failure(path)
        if failure is None:
            return None
        if failure.delay:
            await asyncio.sleep(failure.delay)
        if failure.status != 200:
            self._log(path, failure.status, 0)
            return web.Response(status=failure.status, text="injected")
        if failure.code:
            self._log(path, 200, failure.code)
            return web.json_response({"error": failure.code, "message": "injected error"})
        return None

    async def _send(self, request: web.Request) -> web.Response:
        injected = await self._injected("send")
        if injected is not None:
            return injected
        if request.headers.get("access_token") not in self.access_tokens:
            self._log("send", 200, -216)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        user_id = body["recipient"]["user_id"]
        assert isinstance(user_id, str), "user ids are sent as strings"
        message = body["message"]
        payload = (message.get("attachment") or {}).get("payload") or {}
        if payload.get("template_type") == "media":  # an uploaded image
            [element] = payload["elements"]
            assert element["media_type"] == "image"
            if element["attachment_id"] not in self.images:
                self._log("send", 200, -201)
                return web.json_response({"error": -201, "message": "attachment not found"})
            assert len(message.get("text", "")) <= 2000
        else:
            text = message.get("text", "")
            assert 0 < len(text) <= 2000, f"text of {len(text)} characters"
        buttons = ((message.get("attachment") or {}).get("payload") or {}).get("buttons", [])
        assert len(buttons) <= 5
        for button in buttons:
            assert button["type"] == "oa.query.hide"
            assert 0 < len(button["title"]) <= 100 and len(button["payload"]) <= 1000
        message_id = f"m{next(self.message_ids)}"
        self.chats.setdefault(user_id, []).append({"message_id": message_id, **message})
        self._log("send", 200, 0)
        if self.on_message is not None:
            self.on_message(user_id)
        async with self.changed:
            self.changed.notify_all()
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": message_id, "user_id": user_id},
            }
        )

    async def _upload_image(self, request: web.Request) -> web.Response:
        """Multipart `file`: a JPEG or PNG of at most 1 MB, as the OA API takes."""
        injected = await self._injected("upload")
        if injected is not None:
            return injected
        if request.headers.get("access_token") not in self.access_tokens:
            self._log("upload", 200, -216)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        form = await request.post()
        field = form.get("file")
        assert isinstance(field, web.FileField), "the image comes as the multipart field file"
        data = field.file.read()
        assert field.content_type in ("image/png", "image/jpeg"), field.content_type
        assert data.startswith((b"\x89PNG", b"\xff\xd8")), "not a PNG or JPEG"
        if len(data) > 1024 * 1024:
            self._log("upload", 200, -210)
            return web.json_response({"error": -210, "message": "file is larger than 1MB"})
        attachment_id = f"img{len(self.images) + 1}"
        self.images[attachment_id] = data
        self._log("upload", 200, 0)
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"attachment_id": attachment_id}}
        )

    async def _refresh(self, request: web.Request) -> web.Response:
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        injected = await self._injected("refresh")
        if injected is not None:
            return injected
        form = await request.post()
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            self._log("refresh", 200, -14002)
            return web.json_response({"error": -14002, "error_name": "Invalid app secret"})
        token = form.get("refresh_token")
        if form.get("grant_type") != "refresh_token" or token not in self.refresh_tokens:
            self._log("refresh", 200, -14014)
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        self.refresh_tokens.discard(token)  # single-use
        n = next(self.token_numbers)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        self.refreshes += 1
        self._log("refresh", 200, 0)
        return web.json_response(
            {"access_token": access, "refresh_token": refresh, "expires_in": str(self.lifetime)}
        )


class ZaloUser:
    """A follower of the OA, who writes to it through the bot's webhook as Zalo would."""

    QUIET = 0.05  # seconds without a new message before the bot is taken to be done

    _msg_ids = itertools.count(1)

    def __init__(self, zalo: FakeZalo, webhook_url: str, user_id: str) -> None:
        self.zalo, self.webhook_url, self.id = zalo, webhook_url, user_id
        self.last_status: int | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.zalo.chats.get(self.id, [])

    @property
    def last(self) -> dict[str, Any]:
        return self.messages[-1]

    @property
    def button_message(self) -> dict[str, Any] | None:
        return next((m for m in reversed(self.messages) if _buttons(m)), None)

    def labels(self, message: dict[str, Any] | None = None) -> list[str]:
        return [b["title"] for b in _buttons(message or self.button_message or {})]

    def texts_since(self, count: int) -> list[str]:
        return [m.get("text", "") for m in self.messages[count:]]

    def images_since(self, count: int) -> list[bytes]:
        """The images the bot sent (as the person sees them), from message `count` on."""
        found = []
        for message in self.messages[count:]:
            payload = (message.get("attachment") or {}).get("payload") or {}
            for element in payload.get("elements", ()):
                found.append(self.zalo.images[element["attachment_id"]])
        return found

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def post(
        self, event: dict[str, Any], key: str = OA_SECRET_KEY, signature: str | None = None
    ) -> int:
        """POST one event to the webhook, signed; the HTTP status."""
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": signature
            or sign(body, str(event.get("app_id", "")), str(event.get("timestamp", "")), key),
        }
        return await self.post_raw(body, headers)

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> int:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.post(self.webhook_url, data=body, headers=headers) as response:
            self.last_status = response.status
            return response.status

    def event(self, name: str, **fields: Any) -> dict[str, Any]:
        # Zalo's stamps are milliseconds; under a test's fixed clock, a millisecond apart.
        stamp = str(int(self.zalo.now() * 1000) + next(self.zalo.ticks))
        event: dict[str, Any] = {
            "app_id": APP_ID,
            "user_id_by_app": f"app{self.id}",
            "event_name": name,
            "timestamp": stamp,
        }
        if name in ("follow", "unfollow"):
            event.update(oa_id=OA_ID, follower={"id": self.id}, source="oa_profile")
        else:
            event.update(sender={"id": self.id}, recipient={"id": OA_ID})
        event.update(fields)
        return event

    def text_event(self, text: str, msg_id: str | None = None) -> dict[str, Any]:
        msg_id = msg_id or f"msg{next(self._msg_ids)}-{self.id}"
        return self.event("user_send_text", message={"msg_id": msg_id, "text": text})

    async def act(self, event: dict[str, Any], wait: bool = True) -> list[str]:
        before = len(self.messages)
        status = await self.post(event)
        assert status == 200, f"webhook answered {status}"
        if wait:
            await self.settle(before)
        return self.texts_since(before)

    async def send(self, text: str, wait: bool = True) -> list[str]:
        return await self.act(self.text_event(text), wait)

    async def tap(self, label_part: str, message: dict[str, Any] | None = None) -> list[str]:
        """Tap a button: Zalo sends its payload to the OA as a (hidden) text message."""
        message = message or self.button_message
        assert message is not None, "there are no buttons to tap"
        buttons = [b for b in _buttons(message) if label_part.lower() in b["title"].lower()]
        assert buttons, f"no button with {label_part!r} in {self.labels(message)}"
        return await self.send(buttons[0]["payload"])

    async def settle(self, before: int | None = None, limit: float = 10.0) -> None:
        """Wait until the bot has replied (something new arrived, then quiet and idle)."""
        zalo, deadline = self.zalo, time.monotonic() + limit
        async with zalo.changed:
            while before is not None and len(self.messages) <= before:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not reply")
                try:
                    await asyncio.wait_for(zalo.changed.wait(), remaining)
                except TimeoutError:
                    raise TimeoutError("the bot did not reply") from None
        seen = sum(zalo.counts.values())
        while True:
            await asyncio.sleep(self.QUIET)
            total = sum(zalo.counts.values())
            if total == seen and (zalo.bot_idle is None or zalo.bot_idle()):
                return
            seen = total


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return ((message.get("attachment") or {}).get("payload") or {}).get("buttons", [])
