"""The few Zalo OA Open API calls the bot needs (send a message, upload an image, refresh
the token), on aiohttp, and the access token.

Zalo answers HTTP 200 with `{"error": <code>, "message": ...}`; 0 means success. The access
token lives about 25 hours; the refresh token is single-use: every refresh returns a new
one that must be stored, and spending one twice (two processes refreshing at once) locks
the OA out until someone authorises the app again. So tokens live in the database, and a
refresh happens under a lease there (one process refreshes, the others wait for it) and
under an asyncio lock here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy.engine import Connection

from bot.clock import Clock
from bot.config import ZaloSettings
from bot.sealing import Sealer, derived_key, is_sealed
from storage import zalo as store
from storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TOKEN_EXPIRED = -216  # "Access token is invalid": refresh and try again


class ZaloError(Exception):
    """Zalo answered with an error code (the request itself got through)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code, self.message = code, message


class Unavailable(Exception):
    """Zalo could not be reached or answered 5xx/429: worth trying again later."""


class TokenUnavailable(Exception):
    """No usable access token (the last refresh failed); `reason` says why."""


class ZaloApi:
    """HTTP calls to the OA API and the OAuth server. Never logs tokens or message texts."""

    def __init__(self, settings: ZaloSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32),
                timeout=self._timeout,
                json_serialize=_dumps,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().request(method, url, **kwargs) as response:
                if response.status >= 500 or response.status == 429:
                    raise Unavailable(f"HTTP {response.status}")
                if response.status >= 400:
                    raise ZaloError(response.status, f"HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Unavailable(type(exc).__name__) from exc
        if not isinstance(data, dict):
            raise Unavailable("answer is not a JSON object")
        return data

    async def _oa(self, path: str, access_token: str, **kwargs: Any) -> dict[str, Any]:
        """POST to the OA API; the answer's `data` when Zalo says it worked, else
        ZaloError."""
        answer = await self._call(
            "POST",
            f"{self.settings.api_base_url}{path}",
            headers={"access_token": access_token},
            **kwargs,
        )
        code = _code(answer.get("error", 0))
        if code != 0:
            raise ZaloError(code, str(answer.get("message", ""))[:200])
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    async def send(self, access_token: str, message: dict[str, Any]) -> str:
        """POST a consultation (customer-service) message; returns Zalo's message id."""
        data = await self._oa("/v3.0/oa/message/cs", access_token, json=message)
        return str(data.get("message_id", ""))

    async def upload_image(self, access_token: str, name: str, data: bytes) -> str:
        """Upload a PNG or JPEG (at most 1 MB) for a media message; returns its attachment
        id."""
        form = aiohttp.FormData()
        kind = "image/jpeg" if name.lower().endswith((".jpg", ".jpeg")) else "image/png"
        form.add_field("file", data, filename=name, content_type=kind)
        answer = await self._oa("/v2.0/oa/upload/image", access_token, data=form)
        attachment = str(answer.get("attachment_id") or "")
        if not attachment:
            raise ZaloError(-1, "no attachment id in the answer")
        return attachment

    async def refresh(self, refresh_token: str) -> tuple[str, str, int]:
        """Trade the refresh token for a new access token and a new refresh token; returns
        them with the access token's lifetime in seconds."""
        data = await self._call(
            "POST",
            f"{self.settings.oauth_base_url}/v4/oa/access_token",
            data={
                "app_id": self.settings.app_id,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            headers={"secret_key": self.settings.app_secret},
        )
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not access or not refresh:
            code = _code(data.get("error", -1)) or -1
            reason = data.get("error_name") or data.get("error_description") or data.get("message")
            raise ZaloError(code, str(reason or "no token in the answer")[:200])
        try:
            lifetime = int(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600
        return str(access), str(refresh), lifetime


def _code(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ZaloTokens:
    """The current access token, refreshed before it expires and when Zalo says it has
    (error -216), by one process at a time."""

    REFRESH_BEFORE = timedelta(minutes=30)
    LEASE = timedelta(seconds=60)  # longer than a refresh call can take
    # Seconds before trying a failed refresh again: shorter than a message's retries (about
    # 15 s), so a message waiting for a token sees at least one more attempt.
    RETRY_AFTER_FAILURE = 10.0
    WAIT_STEP = 0.25  # seconds between looks while another process refreshes

    def __init__(self, db: Database, api: ZaloApi, clock: Clock) -> None:
        self.db, self.api, self.clock = db, api, clock
        settings = api.settings
        self.sealer = Sealer(
            settings.secret_key or derived_key(settings.app_secret, settings.oa_secret_key)
        )
        configured = settings.refresh_token
        self._seed = hashlib.sha256(configured.encode()).hexdigest() if configured else ""
        self._lock = asyncio.Lock()
        self._cached: store.Tokens | None = None
        self._failed_at: float | None = None
        self.error: str | None = None  # why the last refresh failed, for /healthz
        self.refreshes = 0

    async def _load(self) -> store.Tokens | None:
        configured, now = self.api.settings.refresh_token, self.clock.now()
        sealed = self.sealer.seal(configured) if configured else ""
        seal = self.sealer.seal

        def load(conn: Connection) -> store.Tokens | None:
            tokens = store.load_tokens(conn, CHANNEL, self._seed, sealed, now)
            if tokens is not None and not all(
                is_sealed(t) for t in (tokens.access_token, tokens.refresh_token) if t
            ):  # stored before tokens were sealed: sealed now
                store.reseal(conn, CHANNEL, seal(tokens.access_token), seal(tokens.refresh_token))
            return tokens

        stored = await self.db.run(load)
        tokens = None
        if stored is not None:
            tokens = dataclasses.replace(
                stored,
                access_token=self.sealer.open(stored.access_token),
                refresh_token=self.sealer.open(stored.refresh_token),
            )
        self._cached = tokens
        return tokens

    def _fresh(self, tokens: store.Tokens | None) -> bool:
        return (
            tokens is not None
            and bool(tokens.access_token)
            and tokens.expires_at - self.clock.now() > self.REFRESH_BEFORE
        )

    async def access_token(self) -> str:
        """A token good for a while yet; refreshes first if needed. Raises
        TokenUnavailable when there is none and refreshing fails."""
        if self._fresh(self._cached):
            assert self._cached is not None
            return self._cached.access_token
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """Get a new access token, unless someone already replaced `stale` (the token Zalo
        just refused) or, with stale=None, the stored token is still fresh."""
        async with self._lock:
            deadline = time.monotonic() + self.LEASE.total_seconds()
            while True:
                tokens = await self._load()
                if tokens is None:
                    self.error = "no refresh token: set ZALO_REFRESH_TOKEN"
                    raise TokenUnavailable(self.error)
                replaced = stale is not None and tokens.access_token not in ("", stale)
                if replaced or (stale is None and self._fresh(tokens)):
                    return tokens.access_token
                if (
                    self._failed_at is not None
                    and time.monotonic() - self._failed_at < self.RETRY_AFTER_FAILURE
                ):
                    raise TokenUnavailable(self.error or "the last refresh failed")
                claimed = await self._claim()
                if claimed:
                    return await self._refresh_claimed(tokens)
                if time.monotonic() > deadline:
                    raise TokenUnavailable("another process is refreshing the token")
                await asyncio.sleep(self.WAIT_STEP)  # another process refreshes: wait for it
                stale = stale if stale is not None else tokens.access_token

    async def _claim(self) -> bool:
        now = self.clock.now()
        return await self.db.run(lambda conn: store.claim_refresh(conn, CHANNEL, now, self.LEASE))

    async def _refresh_claimed(self, tokens: store.Tokens) -> str:
        try:
            access, refresh, lifetime = await self.api.refresh(tokens.refresh_token)
        except (ZaloError, Unavailable) as exc:
            self._failed_at = time.monotonic()
            self.error = f"refresh failed: {exc}"
            log.error(
                "Zalo access token refresh failed (%s). The bot cannot answer on Zalo until it "
                "works; if Zalo refused the refresh token, authorise the app again and set "
                "ZALO_REFRESH_TOKEN.",
                exc,
            )
            now = self.clock.now()
            error = self.error
            await self.db.run(lambda conn: store.refresh_failed(conn, CHANNEL, error, now))
            raise TokenUnavailable(self.error) from exc
        now = self.clock.now()
        expires_at = now + timedelta(seconds=lifetime)
        # Stored before anything else: the old refresh token is spent now.
        sealed_access, sealed_refresh = self.sealer.seal(access), self.sealer.seal(refresh)
        await self.db.run(
            lambda conn: store.save_refreshed(
                conn, CHANNEL, sealed_access, sealed_refresh, expires_at, now
            )
        )
        self._cached = store.Tokens(access, refresh, expires_at, None, None)
        self._failed_at, self.error = None, None
        self.refreshes += 1
        log.info("Zalo access token refreshed; valid until %s", _iso(expires_at))
        return access


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="minutes")
