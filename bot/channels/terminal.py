"""The terminal chat: try the bot with no account anywhere. Options are shown as numbers
to type; the option's words (with or without accents) work too. Files (an admin's chart or
export) are written to a folder, and the chat says where."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.dispatcher import Dispatcher
from flows.model import Event, Reply

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


async def run_terminal(
    dispatcher: Dispatcher,
    user: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    files: Path = FILES,
) -> None:
    """Read lines until end of input (Ctrl+D); each line is one message to the bot."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()

    async def send(event: Event) -> None:
        delivery = await dispatcher.handle(CHANNEL, user, event)
        saved = await asyncio.to_thread(save_files, delivery.replies, files)
        stdout.write(render(delivery.replies, saved) + "\n")
        stdout.flush()
        if delivery.outbox_id is not None:
            await dispatcher.mark_delivered([delivery.outbox_id])

    await send(Event.from_text("/start"))
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        await send(Event.from_text(line.rstrip("\r\n")))
