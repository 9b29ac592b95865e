"""The terminal chat: try the bot with no account anywhere. Options are shown as numbers
to type; the option's words (with or without accents) work too."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.dispatcher import Dispatcher
from flows.model import Event, Reply

CHANNEL = "terminal"


def render(replies: tuple[Reply, ...] | list[Reply]) -> str:
    lines: list[str] = []
    for reply in replies:
        lines.append(reply.text)
        for number, option in enumerate(reply.options, start=1):
            lines.append(f"  {number}. {option.label}")
        if reply.file_name:
            lines.append(f"[{reply.file_name}]")
        lines.append("")
    return "\n".join(lines)


async def run_terminal(
    dispatcher: Dispatcher,
    user: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Read lines until end of input (Ctrl+D); each line is one message to the bot."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()

    async def send(event: Event) -> None:
        delivery = await dispatcher.handle(CHANNEL, user, event)
        stdout.write(render(delivery.replies) + "\n")
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
