"""The terminal chat: try the bot with no account anywhere. Options are shown as numbers
to type; the option's words (with or without accents) work too. Files (an admin's chart or
export) are written to a folder, and the chat says where."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from bot.dispatcher import Delivery, Dispatcher
from flows.model import Event, Reply
from storage.db import DatabaseUnavailable

CHANNEL = "terminal"
FILES = Path("data") / "files"  # where files sent in the chat are written


def render(
    replies: tuple[Reply, ...] | list[Reply], saved: Mapping[str, Path] | None = None
) -> str:
    """Replies as text; a file as the path it was saved to (`saved`), else its name."""
    lines: list[str] = []
    for reply in replies:
        if reply.text:
            lines.append(reply.text)
        for number, option in enumerate(reply.options, start=1):
            lines.append(f"  {number}. {option.label}")
        if reply.file_name:
            lines.append(f"[{(saved or {}).get(reply.file_name, reply.file_name)}]")
        lines.append("")
    return "\n".join(lines)


def save_files(replies: tuple[Reply, ...] | list[Reply], folder: Path) -> dict[str, Path]:
    """Write the replies' files into `folder`; where each went, by file name."""
    saved: dict[str, Path] = {}
    for reply in replies:
        if reply.file_name and reply.file_data is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(reply.file_name).name
            path.write_bytes(reply.file_data)
            saved[reply.file_name] = path
    return saved


class TerminalChannel:
    """One person chatting in this terminal: each line read is one message to the bot.
    Started like any channel; `finished` is set when input ends (Ctrl+D). Replies that
    answer no message are printed as they come (the scheduler does not run here, since
    nobody can be written to while the chat is closed)."""

    mode = "terminal"

    def __init__(
        self,
        dispatcher: Dispatcher,
        user: str = "local",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        files: Path = FILES,
    ) -> None:
        self.dispatcher, self.user, self.files = dispatcher, user, files
        self.stdin, self.stdout = stdin or sys.stdin, stdout or sys.stdout
        self.health: dict[str, Any] = {"mode": self.mode, "ok": True}
        self.finished = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return 0

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="terminal")

    async def stop(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.dispatcher.flush()

    def push(self, external_id: str, delivery: Delivery) -> None:
        if external_id == self.user:
            self._show(delivery.replies, {})

    def _show(self, replies: tuple[Reply, ...], saved: Mapping[str, Path]) -> None:
        self.stdout.write(render(replies, saved) + "\n")
        self.stdout.flush()

    async def _send(self, event: Event) -> None:
        pause, told = 1.0, False
        while True:
            try:
                delivery = await self.dispatcher.handle(CHANNEL, self.user, event)
                break
            except DatabaseUnavailable:  # what was typed is kept: tried again until saved
                if not told:
                    core = self.dispatcher.core
                    t = core.langs[core.default_lang]
                    waiting = t._(
                        "(The database is not available right now. Your message is kept and "
                        "sent again as soon as it is.)"
                    )
                    self.stdout.write(waiting + "\n")
                    self.stdout.flush()
                    told = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
        saved = await asyncio.to_thread(save_files, delivery.replies, self.files)
        self._show(delivery.replies, saved)
        if delivery.outbox_id is not None:
            await self.dispatcher.mark_delivered([delivery.outbox_id])

    async def _read(self) -> None:
        """Read lines until end of input; each line is one message to the bot."""
        try:
            interactive = self.stdin.isatty()
            await self._send(Event.from_text("/start"))
            while True:
                if interactive:
                    self.stdout.write("> ")
                    self.stdout.flush()
                line = await asyncio.to_thread(self.stdin.readline)
                if not line:
                    break
                await self._send(Event.from_text(line.rstrip("\r\n")))
        finally:
            self.finished.set()


async def run_terminal(
    dispatcher: Dispatcher,
    user: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    files: Path = FILES,
) -> None:
    """Chat in the terminal until end of input (Ctrl+D)."""
    channel = TerminalChannel(dispatcher, user, stdin, stdout, files)
    await channel.start()
    try:
        await channel.finished.wait()
        if channel._reader is not None:
            await channel._reader  # an error while chatting is raised here, not swallowed
    finally:
        await channel.stop()
