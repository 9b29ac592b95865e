"""The one web server on `PORT`: every channel's webhook, `/healthz`, and the files
offered by link (`/files/`, see bot.links)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from bot.dispatcher import PROCESS
from bot.links import FileLinks
from storage import health
from storage.db import Database, describe

WRITE_CHECK_EVERY = 2.0  # seconds

log = logging.getLogger(__name__)


class WebChannel(Protocol):
    mode: str
    health: dict[str, Any]

    @property
    def queued(self) -> int: ...

    def routes(self) -> list[web.RouteDef]: ...


class WebServer:
    def __init__(
        self,
        db: Database,
        channels: Iterable[tuple[str, WebChannel]],
        host: str = "0.0.0.0",
        port: int = 8080,
        links: FileLinks | None = None,
    ) -> None:
        self.db, self.channels = db, dict(channels)
        self.host, self.port = host, port
        self.app = web.Application(client_max_size=1024**2)
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/readyz", self._ready)
        self.ready = False  # set once every channel has started (see bot.cli)
        if links is not None:
            self.app.router.add_routes(links.routes())
        for channel in self.channels.values():
            self.app.router.add_routes(channel.routes())
        self._runner: web.AppRunner | None = None
        # When, what the write check said, and the outbox: replies waiting, oldest (s).
        self._checked: tuple[float, str, dict[str, Any]] | None = None

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0, which picks a free one)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("web server on %s:%s (/healthz)", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _database(self) -> tuple[str, dict[str, Any]]:
        """ "ok" if the database takes a write now, and how far behind sending is (all
        processes: replies waiting and the age of the oldest, in seconds). Kept
        WRITE_CHECK_EVERY seconds, so that asking often (a load balancer, a flood) costs
        the writer little."""
        now = time.monotonic()
        if self._checked is not None and now - self._checked[0] < WRITE_CHECK_EVERY:
            return self._checked[1], self._checked[2]
        at = datetime.now(UTC)
        lag: dict[str, Any] = {}
        try:
            waiting, oldest = await self.db.urgent(lambda conn: health.check(conn, PROCESS, at))
            answer = "ok"
            lag = {"waiting": waiting, "oldest_seconds": round(oldest or 0.0, 1)}
        except Exception as exc:
            answer = f"error: {describe(exc)}"
        self._checked = (now, answer, lag)
        return answer, lag

    async def _ready(self, request: web.Request) -> web.Response:
        """For a reverse proxy in front of several processes: 200 when this process has
        started its channels and the database takes a write; 503 otherwise. Unlike
        /healthz it does not fail when Telegram or Zalo does (that fails every process at
        once, and the proxy would then have none to send the webhooks to)."""
        database, _ = await self._database()
        if not self.ready:
            return web.json_response({"process": PROCESS, "status": "starting"}, status=503)
        ok = database == "ok"
        body = {"process": PROCESS, "database": database, "status": "ok" if ok else "failing"}
        return web.json_response(body, status=200 if ok else 503)

    async def _health(self, request: web.Request) -> web.Response:
        """200 when the database takes a write and every channel is working (receiving,
        and sends not failing); 503 otherwise, with what is wrong (no personal data). A
        SELECT is not enough: a full disk or a read-only file still answers one. Says which
        process answered, how many replies wait to be sent across all processes and how
        old the oldest is ("outbox"), and how many each channel has queued here."""
        database, lag = await self._database()
        body: dict[str, Any] = {"process": PROCESS, "database": database, "outbox": lag}
        healthy = database == "ok"
        for name, channel in self.channels.items():
            body[name] = {**channel.health, "queued_here": channel.queued}
            healthy = healthy and bool(channel.health.get("ok"))
        body["status"] = "ok" if healthy else "failing"
        return web.json_response(body, status=200 if healthy else 503)
