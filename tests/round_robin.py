"""A round-robin reverse proxy on 127.0.0.1, as nginx or Caddy would sit in front of
several bot processes: each request goes to the next backend in turn; a backend that
refuses the connection (a process down) is skipped for the next one, and a request cut
off half-way (a process killed while handling it) is answered 502, which makes Telegram
deliver the update again."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class RoundRobin:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends  # e.g. ["http://127.0.0.1:8081", ...]
        self._next = itertools.cycle(range(len(backends)))
        self.served: Counter[str] = Counter()  # requests answered, per backend
        self.cut: Counter[str] = Counter()  # requests cut off half-way (answered 502)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=2 * 1024**2)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        for _ in self.backends:
            backend = self.backends[next(self._next)]
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as resp:
                    answer = await resp.read()
                    self.served[backend] += 1
                    return web.Response(
                        status=resp.status,
                        body=answer,
                        content_type=resp.content_type,
                        charset=resp.charset,
                    )
            except aiohttp.ClientConnectorError:
                continue  # not listening: the next one (nginx's proxy_next_upstream error)
            except (aiohttp.ClientError, TimeoutError):
                self.cut[backend] += 1
                return web.Response(status=502, text="the backend went away")
        return web.Response(status=502, text="no backend is up")
