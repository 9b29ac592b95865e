"""The one web server on `PORT`: every channel's webhook, `/healthz`, and the files
offered by link (`/files/`, see bot.links)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import text

from bot.links import FileLinks
from storage.db import Database

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
        """200 when the database answers and every channel is working; 503 otherwise, with
        what is wrong (no personal data)."""
        body: dict[str, Any] = {"database": "ok"}
        healthy = True
        try:
            await self.db.run(lambda conn: conn.execute(text("SELECT 1")).scalar())
        except Exception as exc:
            body["database"] = f"error: {type(exc).__name__}"
            healthy = False
        for name, channel in self.channels.items():
            body[name] = dict(channel.health)
            healthy = healthy and bool(channel.health.get("ok"))
        body["status"] = "ok" if healthy else "failing"
        return web.json_response(body, status=200 if healthy else 503)
