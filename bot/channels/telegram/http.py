"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

PTB makes every Bot API call through a `BaseRequest`; its default, `HTTPXRequest`, cost
this bot 3–4 ms of CPU per call under load (docs/PERFORMANCE.md): httpcore re-examines
every pooled connection and every waiting request whenever one changes state, and looks
for the `sniffio` module on disk on every lock it creates when that is not installed. The
bot already runs aiohttp for its web server, whose client pool hands a freed connection to
the next waiter directly. Everything above this class (Bot, ExtBot, the rate limiter, error
mapping, JSON decoding) is PTB's own.
"""

from __future__ import annotations

import re

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TOKEN_IN_URL = re.compile(r"/bot\d+:[\w-]+")


class AiohttpRequest(BaseRequest):
    """One aiohttp client session with up to `connections` connections to the Bot API."""

    def __init__(
        self,
        connections: int = 32,
        read_timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if request_data.contains_files:
                # Raw UTF-8 file names, as browsers and httpx send them: quoted ones would
                # reach people as "b%C3%A1o%20c%C3%A1o.xlsx".
                form = aiohttp.FormData(quote_fields=False)
                for key, value in request_data.json_parameters.items():
                    form.add_field(key, value)
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                data = request_data.json_parameters
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect, sock_read=read or None, connect=None
        )
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            raise TimedOut() from exc
        except aiohttp.ClientError as exc:
            # Some aiohttp errors quote the URL, and the URL holds the bot token.
            message = _TOKEN_IN_URL.sub("/bot<token>", str(exc))
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {message}") from exc
