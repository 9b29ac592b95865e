"""The one web server on `PORT`: every channel's webhook, `/healthz`, and the files
offered by link (`/files/`, see bot.links)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from bot.links import FileLinks
from storage import health
from storage.db import Database, describe

PROCESS = f"{socket.gethostname()}:{os.getpid()}"  # which process answered /healthz

log = logging.getLogger(__name__)


class WebChannel(Protocol):
    mode: str
    health: dict[str, Any]

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
        if links is not None:
            self.app.router.add_routes(links.routes())
        for channel in self.channels.values():
            self.app.router.add_routes(channel.routes())
        self._runner: web.AppRunner | None = None

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

    async def _health(self, request: web.Request) -> web.Response:
        """200 when the database takes a write and every channel is working (receiving,
        and sends not failing); 503 otherwise, with what is wrong (no personal data). A
        SELECT is not enough: a full disk or a read-only file still answers one."""
        body: dict[str, Any] = {"process": PROCESS, "database": "ok"}
        healthy = True
        now = datetime.now(UTC)
        try:
            await self.db.run(lambda conn: health.check(conn, PROCESS, now))
        except Exception as exc:
            body["database"] = f"error: {describe(exc)}"
            healthy = False
        for name, channel in self.channels.items():
            body[name] = dict(channel.health)
            healthy = healthy and bool(channel.health.get("ok"))
        body["status"] = "ok" if healthy else "failing"
        return web.json_response(body, status=200 if healthy else 503)
