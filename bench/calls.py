"""Work per event, counted rather than timed: function calls per event through the dispatcher.

    make bench-calls      # or: .venv/bin/python -m bench.calls [--citizens 50] [--top 15]

Wall-clock figures on a shared 2-core machine swing by 15% or more from one run to the
next, which hides a change of a few percent in the code's own cost. This counts instead:
CITIZENS citizens, one after another, each registering and completing an assessment
(the same 22 messages as `make bench`) through `Dispatcher.handle` on a fresh SQLite file,
and every Python function call and built-in call made meanwhile, in every thread (the
database's threads included), divided by the number of events. The same figure on two
versions of the code says which does more work per message, whatever the machine's load.

`--plain` runs the same conversations without counting, for a tool that counts machine
instructions instead: `valgrind --tool=callgrind .venv/bin/python -m bench.calls --plain`
with `--citizens 30` and `--citizens 0`; the difference divided by 660 events.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from types import FrameType
from typing import Any

from bench.dispatcher import script
from bot.clock import SystemClock
from bot.config import Settings
from bot.core import load_core
from bot.dispatcher import Dispatcher
from flows.model import Event
from storage.db import Database

CITIZENS = 50
EVENTS_EACH = len(script(0))


class CallCounter:
    """A profile hook for every thread: counts calls while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event not in ("call", "c_call"):
            return
        if event == "call":
            code = frame.f_code
            name = f"{code.co_name} ({_short(code.co_filename)})"
        else:
            name = f"{getattr(arg, '__qualname__', arg)} (built-in)"
        with self._lock:
            self.calls[name] += 1


def _short(path: str) -> str:
    root = str(Path(__file__).resolve().parent.parent) + "/"
    if path.startswith(root):
        return path[len(root) :]
    return path.rsplit("site-packages/", 1)[-1].rsplit("/lib/python", 1)[-1]


async def run(citizens: int, counter: CallCounter | None) -> None:
    core = load_core(Settings(campaign_year=2026))
    with TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'calls.sqlite3'}")
        await db.migrate()
        dispatcher = Dispatcher(db, core, SystemClock())
        for line in script(99_999):  # warm up: caches, prepared statements, threads
            await dispatcher.handle("bench", "warm-up", Event.from_text(line))
        if counter is not None:
            counter.on = True
        for n in range(citizens):
            for line in script(n):
                await dispatcher.handle("bench", f"citizen-{n}", Event.from_text(line))
        if counter is not None:
            counter.on = False
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=CITIZENS)
    parser.add_argument("--top", type=int, default=15, help="most called functions to list")
    parser.add_argument("--plain", action="store_true", help="run without counting")
    args = parser.parse_args()
    if args.plain:
        asyncio.run(run(args.citizens, None))
        return
    counter = CallCounter()
    threading.setprofile(counter)  # threads started from now on (the database's)
    sys.setprofile(counter)
    try:
        asyncio.run(run(args.citizens, counter))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    events = args.citizens * EVENTS_EACH
    total = sum(counter.calls.values())
    print(f"{args.citizens} citizens, {events} events: {total / events:,.1f} calls per event")
    for name, calls in counter.calls.most_common(args.top):
        print(f"{calls / events:9.2f}  {name}")


if __name__ == "__main__":
    main()
