"""`cdht`: run the bot, chat in the terminal, migrate, check a criteria file, flag communes.

Every command that needs the database creates and migrates it first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.clock import SystemClock
from bot.config import Settings, SettingsError
from flows.criteria import CriteriaError, load_criteria
from flows.reminders import NudgeSchedule
from storage.db import Database

log = logging.getLogger("cdht")


async def _open_db(settings: Settings) -> Database:
    db = Database(settings.database_url)
    await db.migrate()
    return db


async def _chat(settings: Settings, user: str) -> None:
    from bot.channels.terminal import run_terminal
    from bot.core import load_core
    from bot.dispatcher import Dispatcher

    core = load_core(settings)
    db = await _open_db(settings)
    try:
        await run_terminal(Dispatcher(db, core, SystemClock()), user=user)
    finally:
        await db.dispose()


async def _serve(settings: Settings) -> int:
    """Run the configured channels and the web server until SIGINT or SIGTERM."""
    import signal

    from bot.core import load_core
    from bot.dispatcher import Dispatcher
    from bot.scheduler import Scheduler
    from bot.server import WebServer

    core = load_core(settings)
    db = await _open_db(settings)
    await db.warm_up()
    clock = SystemClock()
    dispatcher = Dispatcher(db, core, clock, {"zalo": ZALO_NUDGES})
    channels: list[tuple[str, Any]] = []
    if settings.telegram is not None:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(settings.telegram, dispatcher, core.langs, core.default_lang)
        channels.append(("telegram", telegram))
    if settings.zalo is not None:
        from bot.channels.zalo import ZaloChannel

        zalo = ZaloChannel(settings.zalo, dispatcher, core.langs, core.default_lang, clock)
        channels.append(("zalo", zalo))
    server = WebServer(db, channels, settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started: list[object] = []
    scheduler = Scheduler(dispatcher, dict(channels))
    reminders: asyncio.Task[None] | None = None
    try:
        try:
            await server.start()
        except OSError as exc:
            print(
                f"Cannot listen on port {settings.port} ({exc.strerror}). Set PORT to a free port.",
                file=sys.stderr,
            )
            return 2
        started.append(server)
        for name, channel in channels:
            started.append(channel)
            failure = await _start_channel(name, channel)
            if failure is not None:
                message, code = failure
                print(message, file=sys.stderr)
                return code
        reminders = asyncio.create_task(scheduler.run(), name="reminders")
        running = " and ".join(f"{name.title()} ({channel.mode})" for name, channel in channels)
        print(
            f"The bot is running on {running}; health at "
            f"http://{settings.host}:{server.port}/healthz. Stop with Ctrl+C.",
            flush=True,
        )
        await stop.wait()
        log.info("stopping")
        return 0
    finally:
        # The reminders and the server first: no new webhook calls (Telegram and Zalo keep
        # them and retry), and the ones being handled finish. Then the channels send what
        # is queued.
        scheduler.stop()
        if reminders is not None:
            await asyncio.gather(reminders, return_exceptions=True)
        if server in started:
            await server.stop()
        for _, channel in channels:
            if channel in started:
                await channel.stop()
        await db.dispose()


# On Zalo the first reminder comes at 20 hours, inside the free 48-hour reply window.
ZALO_NUDGES = NudgeSchedule(after=(timedelta(hours=20), timedelta(days=3), timedelta(days=7)))


async def _start_channel(name: str, channel: Any) -> tuple[str, int] | None:
    """Start one channel; on failure, the message for the operator and the exit code."""
    if name == "telegram":
        from telegram.error import BadRequest, InvalidToken, NetworkError

        try:
            await channel.start()
        except InvalidToken:
            return "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather.", 2
        except BadRequest as exc:  # e.g. a webhook URL Telegram will not use
            return f"Telegram refused the set-up: {exc.message}", 2
        except NetworkError as exc:
            return f"Cannot reach the Telegram Bot API ({exc}).", 1
        return None
    from bot.channels.zalo import SetupError

    try:
        await channel.start()
    except SetupError as exc:
        return (
            f"Zalo: no access token ({exc}). Check ZALO_APP_ID and ZALO_APP_SECRET, and set "
            "ZALO_REFRESH_TOKEN to a new refresh token from the OA authorisation.",
            2,
        )
    return None


async def _migrate(settings: Settings) -> None:
    db = await _open_db(settings)
    await db.dispose()
    print(f"Database is up to date ({db.dialect}).")


async def _flag_commune(settings: Settings, code: int, difficult: bool) -> None:
    from flows.places import load_gazetteer
    from storage import repo

    commune = load_gazetteer().commune(code)
    if commune is None:
        raise SystemExit(f"There is no commune with code {code}.")
    db = await _open_db(settings)
    try:
        now = SystemClock().now()
        await db.run(lambda conn: repo.set_commune_difficult(conn, code, difficult, now))
    finally:
        await db.dispose()
    state = (
        "uses the lower title total (difficult area)"
        if difficult
        else "uses the normal title total"
    )
    print(f"{commune.name} ({code}) now {state}.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdht", description="Learning Citizen (Công dân học tập) chatbot."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "run", help="start the bot on the configured channels (the terminal chat if none)"
    )
    chat = sub.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument(
        "--user", default="local", help="who you are in the terminal chat (default: local)"
    )
    sub.add_parser("migrate", help="create or upgrade the database")
    check = sub.add_parser("criteria-check", help="validate a criteria YAML file")
    check.add_argument("file")
    flag = sub.add_parser(
        "commune-flag", help="mark a commune as a remote/difficult/ethnic-minority area"
    )
    flag.add_argument("code", type=int, help="commune code, e.g. 70 for Phường Hoàn Kiếm")
    flag.add_argument("--off", action="store_true", help="remove the mark")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the chat readable
    # The HTTP and Bot API libraries log every request URL (it holds the bot token) and, at
    # DEBUG, the messages themselves: personal data. Never below WARNING, whatever the level.
    for name in ("httpx", "httpcore", "telegram", "aiohttp.access", "aiohttp.client"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    command = args.command or "run"
    try:
        if command == "criteria-check":
            criteria = load_criteria(args.file)
            print(
                f"{args.file}: OK ({len(criteria.groups)} groups, "
                f"{len(criteria.indicators)} indicators)."
            )
        elif command == "migrate":
            asyncio.run(_migrate(settings))
        elif command == "commune-flag":
            asyncio.run(_flag_commune(settings, args.code, not args.off))
        elif command == "chat":
            asyncio.run(_chat(settings, args.user))
        elif settings.telegram is not None or settings.zalo is not None:
            return asyncio.run(_serve(settings))
        else:  # run with no channel configured: the terminal chat
            asyncio.run(_chat(settings, "local"))
    except CriteriaError as exc:
        print(f"Criteria error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
