"""What every channel is to the rest of the bot (Telegram, Zalo, the terminal chat): it is
started and stopped, may serve routes on the web server, is handed replies that answer no
message (reminders, digests, decisions) and says how it is doing."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from bot.dispatcher import Delivery


class ChannelSetupError(Exception):
    """The channel cannot start until the operator fixes something (a token refused, a
    webhook address Telegram will not use, a network that does not reach the API). The
    message says what, for the operator; the exit code is the command's."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Channel(Protocol):
    mode: str  # how it receives: "polling", "webhook", "terminal"
    health: dict[str, Any]  # for /healthz: "ok" and what is wrong, no personal data

    @property
    def queued(self) -> int:
        """Messages waiting to be sent: the scheduler tops this up, never more."""
        ...

    def routes(self) -> list[web.RouteDef]: ...

    async def start(self) -> None:
        """Start receiving and sending; raises ChannelSetupError if it cannot."""
        ...

    async def stop(self) -> None: ...

    def push(self, external_id: str, delivery: Delivery) -> None:
        """Send replies that answer no message, in the person's queue."""
        ...
