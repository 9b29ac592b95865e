"""`cdht`: run the bot, chat in the terminal, migrate, check a criteria file, flag communes.

Every command that needs the database creates and migrates it first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot import admin_cli
from bot.app import open_db
from bot.clock import SystemClock
from bot.config import Settings, SettingsError
from bot.data import load_criteria
from bot.i18n import load_langs
from flows.criteria import CriteriaError
from flows.lang import LANGUAGES, N_, Lang, Problem
from flows.localtime import LOCAL_TZ
from flows.reminders import NudgeSchedule
from storage.db import DatabaseUnavailable

log = logging.getLogger("cdht")


async def _chat(settings: Settings, user: str) -> None:
    from bot.channels.terminal import run_terminal
    from bot.core import load_core
    from bot.dispatcher import Dispatcher

    core = load_core(settings)
    db = await open_db(settings)
    try:
        await run_terminal(Dispatcher(db, core, SystemClock()), user=user)
    finally:
        await db.dispose()


async def _serve(settings: Settings) -> int:
    """Run the configured channels and the web server until SIGINT or SIGTERM."""
    import signal

    from bot.channels.base import Channel, ChannelSetupError
    from bot.core import load_core
    from bot.dispatcher import Dispatcher
    from bot.links import FileLinks
    from bot.scheduler import Scheduler
    from bot.server import WebServer

    core = load_core(settings)
    t = core.langs[settings.language]
    db = await open_db(settings)
    await db.warm_up()
    clock = SystemClock()
    dispatcher = Dispatcher(db, core, clock, {"zalo": ZALO_NUDGES})
    public_url = settings.zalo.public_url if settings.zalo else ""
    links = FileLinks(db, clock, core.langs[core.default_lang], public_url)
    channels: dict[str, Channel] = {}
    if settings.telegram is not None:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(
            settings.telegram, dispatcher, core.langs, core.default_lang
        )
    if settings.zalo is not None:
        from bot.channels.zalo import ZaloChannel

        channels["zalo"] = ZaloChannel(
            settings.zalo, dispatcher, core.langs, core.default_lang, clock, links
        )
    server = WebServer(db, channels.items(), settings.host, settings.port, links)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started: list[object] = []
    scheduler = Scheduler(db, clock, core, channels, dispatcher.schedules, settings.digest_at)
    dispatcher.on_news = scheduler.wake  # a citizen to tell: don't wait for the next minute
    reminders: asyncio.Task[None] | None = None
    try:
        try:
            await server.start()
        except OSError as exc:
            print(
                t._("Cannot listen on port {port} ({why}). Set PORT to a free port.").format(
                    port=settings.port, why=exc.strerror
                ),
                file=sys.stderr,
            )
            return 2
        started.append(server)
        for channel in channels.values():
            started.append(channel)
            try:
                await channel.start()
            except ChannelSetupError as exc:
                print(exc, file=sys.stderr)
                return exc.exit_code
        server.ready = True  # /readyz: the proxy may send webhooks here
        reminders = asyncio.create_task(scheduler.run(), name="reminders")
        running = t._(" and ").join(f"{name.title()} ({ch.mode})" for name, ch in channels.items())
        print(
            t._("The bot is running on {channels}; health at {url}. Stop with Ctrl+C.").format(
                channels=running, url=f"http://{settings.host}:{server.port}/healthz"
            ),
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
        for channel in channels.values():
            if channel in started:
                await channel.stop()
        await dispatcher.give_back_turns()  # the other processes may send to them at once
        await db.dispose()


# On Zalo the first reminder comes at 20 hours, inside the free 48-hour reply window.
ZALO_NUDGES = NudgeSchedule(after=(timedelta(hours=20), timedelta(days=3), timedelta(days=7)))


async def _migrate(settings: Settings, t: Lang) -> None:
    db = await open_db(settings)
    await db.dispose()
    print(t._("Database is up to date ({dialect}).").format(dialect=db.dialect))


async def _stats(settings: Settings, t: Lang, action: str) -> None:
    from storage import tallies

    db = await open_db(settings)
    try:
        start = time.perf_counter()
        written = await db.run(tallies.rebuild)
    finally:
        await db.dispose()
    print(
        t._("The counters were counted again from the records: {rows} rows in {seconds} s.").format(
            rows=t.number(sum(written.values())),
            seconds=t.number(round(time.perf_counter() - start, 1)),
        )
    )


async def _flag_commune(settings: Settings, t: Lang, code: int, difficult: bool) -> None:
    from bot.data import load_gazetteer
    from storage import communes

    commune = load_gazetteer().commune(code)
    if commune is None:
        raise Problem(N_("there is no commune with code {number}"), number=code)
    db = await open_db(settings)
    try:
        now = SystemClock().now()
        await db.run(lambda conn: communes.set_commune_difficult(conn, code, difficult, now))
    finally:
        await db.dispose()
    if difficult:
        text = t._("{commune} ({code}) now uses the lower title total (difficult area).")
    else:
        text = t._("{commune} ({code}) now uses the normal title total.")
    print(text.format(commune=commune.name, code=code))


async def _deadline(settings: Settings, t: Lang, args: argparse.Namespace) -> int:
    """cdht deadline add|list|cancel."""
    from bot.data import load_gazetteer
    from flows.deadlines import Deadline, check_not_past, parse_due, parse_offsets, parse_time
    from flows.localtime import local_day
    from flows.places import Area
    from storage import deadlines

    places = load_gazetteer()
    if args.action == "add":
        day, month, year = parse_due(args.due)
        title = {"vi": args.title.strip()}
        if args.title_en:
            title["en"] = args.title_en.strip()
        deadline = Deadline(
            title=title,
            day=day,
            month=month,
            year=year,
            area=Area.parse(args.area, places),
            audience=args.audience,
            offsets=parse_offsets(args.offsets),
            at=parse_time(args.at),
        )
        check_not_past(deadline, local_day(SystemClock().now()))
    db = await open_db(settings)
    try:
        now = SystemClock().now()
        if args.action == "add":
            new_id = await db.run(lambda conn: deadlines.add(conn, deadline, now))
            print(
                t._("Deadline {id} added: {deadline}").format(
                    id=new_id, deadline=_deadline_line(deadline, places, now, t)
                )
            )
        elif args.action == "cancel":
            gone = await db.run(lambda conn: deadlines.cancel(conn, args.id, now))
            if gone is None:
                print(t._("There is no active deadline {id}.").format(id=args.id), file=sys.stderr)
                return 1
            print(
                t._("Deadline {id} cancelled: no more reminders of “{title}”.").format(
                    id=args.id, title=gone.title_in(t.code)
                )
            )
        else:
            found = await db.run(deadlines.active)
            if not found:
                print(t._("No deadlines. Add one with: cdht deadline add --title … --due 31/10"))
            for deadline in found:
                print(f"{deadline.id:>4}  {_deadline_line(deadline, places, now, t)}")
    finally:
        await db.dispose()
    return 0


def _deadline_line(deadline: Any, places: Any, now: Any, t: Lang) -> str:
    from flows.admin.deadlines import audience_text
    from flows.localtime import local_day

    due = deadline.next_due(local_day(now))
    when = t._("every year") if deadline.yearly else t._("once")
    upcoming = t._("next {date}").format(date=t.date(due)) if due else t._("passed")
    return t._(
        "{due} ({when}, {upcoming}) · {audience} · {area} · reminders {days} days before at "
        "{at} · {title}"
    ).format(
        due=deadline.due_text(),
        when=when,
        upcoming=upcoming,
        audience=audience_text(t, deadline.audience),
        area=deadline.area.name(places, t),
        days=",".join(str(d) for d in deadline.offsets),
        at=f"{deadline.at:%H:%M}",
        title=deadline.title_in(t.code),
    )


async def _unit_code(settings: Settings, t: Lang, args: argparse.Namespace) -> int:
    """cdht unit-code new|list|cancel: the codes focal points of units register with."""
    from bot.codes import new_code
    from bot.data import load_gazetteer
    from flows import units
    from flows.codes import normalise_code, shown
    from flows.model import FOCAL_POINT
    from flows.places import Area
    from storage import invites

    places = load_gazetteer()
    area = Area.parse(args.area, places) if args.action == "new" else None
    db = await open_db(settings)
    try:
        now = SystemClock().now()
        if args.action == "new":
            assert area is not None  # read above for "new"
            code = new_code()
            until = now + timedelta(days=args.days)
            await db.run(lambda conn: invites.new_invite(conn, code, FOCAL_POINT, area, now, until))
            print(
                t._(
                    "Code for focal points of units in {area}: {code}\n"
                    "  valid until {until}, for any number of units.\n"
                    "  In chat they send: /donvi {code}\n"
                    "  Telegram link (QR): {link}"
                ).format(
                    area=area.name(places, t),
                    code=shown(code),
                    until=t.date(until.astimezone(LOCAL_TZ)),
                    link=f"https://t.me/<bot>?start={units.DEEP_LINK_PREFIX}{code}",
                )
            )
        elif args.action == "cancel":
            code = normalise_code(args.code)
            if not await db.run(lambda conn: invites.revoke_invite(conn, code, now)):
                print(
                    t._("There is no valid code {code}.").format(code=shown(code)), file=sys.stderr
                )
                return 1
            print(
                t._("Code {code} cancelled: it no longer registers anyone.").format(
                    code=shown(code)
                )
            )
        else:
            found = await db.run(lambda conn: invites.invites(conn, now))
            if not found:
                print(t._("No valid codes. Make one with: cdht unit-code new --area commune:70"))
            print(t._("(Codes are kept as hashes: each is listed by its first two letters.)"))
            for invite in found:
                print(
                    t._("{code}  {area} · until {until} · used {n} times").format(
                        code=invite.code,
                        area=invite.area.name(places, t),
                        until=t.date(invite.expires_at.astimezone(LOCAL_TZ)),
                        n=invite.uses,
                    )
                )
    finally:
        await db.dispose()
    return 0


def _parser(t: Lang) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdht", description=t._("Learning Citizen (Công dân học tập) chatbot.")
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "run", help=t._("start the bot on the configured channels (the terminal chat if none)")
    )
    chat = sub.add_parser("chat", help=t._("chat with the bot in this terminal"))
    chat.add_argument(
        "--user", default="local", help=t._("who you are in the terminal chat (default: local)")
    )
    sub.add_parser("migrate", help=t._("create or upgrade the database"))
    stats = sub.add_parser("stats", help=t._("the counters behind the admins' numbers"))
    stats_actions = stats.add_subparsers(dest="action", required=True)
    stats_actions.add_parser(
        "rebuild", help=t._("count them again from the records (they are kept up to date)")
    )
    check = sub.add_parser("criteria-check", help=t._("validate a criteria YAML file"))
    check.add_argument("file")
    flag = sub.add_parser(
        "commune-flag", help=t._("mark a commune as a remote/difficult/ethnic-minority area")
    )
    flag.add_argument("code", type=int, help=t._("commune code, e.g. 70 for Phường Hoàn Kiếm"))
    flag.add_argument("--off", action="store_true", help=t._("remove the mark"))
    deadline = sub.add_parser("deadline", help=t._("reporting deadlines and their reminders"))
    actions = deadline.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help=t._("add a deadline"))
    add.add_argument("--title", required=True, help=t._("what is due, in Vietnamese"))
    add.add_argument("--title-en", default="", help=t._("the title in English (optional)"))
    add.add_argument(
        "--due", required=True, help=t._("day/month (every year) or day/month/year (once)")
    )
    add.add_argument(
        "--area", default="all", help=t._("all (default), province:<code> or commune:<code>")
    )
    add.add_argument(
        "--audience",
        default="citizens",
        choices=["citizens", "focal_points", "admins"],
        help=t._(
            "citizens who have not submitted this year's self-scoring (default), focal "
            "points of units, or admins of the area"
        ),
    )
    add.add_argument(
        "--offsets",
        default="7,3,1,0",
        help=t._("days before the due date to remind (0: on the day)"),
    )
    add.add_argument("--at", default="08:00", help=t._("time of the reminders, Vietnam time"))
    actions.add_parser("list", help=t._("the active deadlines"))
    cancel = actions.add_parser("cancel", help=t._("stop a deadline's reminders"))
    cancel.add_argument("id", type=int, help=t._("the number shown by `cdht deadline list`"))
    code = sub.add_parser(
        "unit-code", help=t._("codes with which focal points of units register for reminders")
    )
    code_actions = code.add_subparsers(dest="action", required=True)
    new = code_actions.add_parser("new", help=t._("make a code for an area"))
    new.add_argument("--area", required=True, help=t._("all, province:<code> or commune:<code>"))
    new.add_argument("--days", type=int, default=30, help=t._("valid for this many days (30)"))
    code_actions.add_parser("list", help=t._("the codes still valid"))
    revoke = code_actions.add_parser("cancel", help=t._("cancel a code"))
    revoke.add_argument("code")
    admin_cli.add_parsers(sub, t)
    return parser


def _operator_lang() -> Lang:
    """The operator's language for the command line: CDHT_LANGUAGE, from the environment
    or .env as the settings read it (vi by default; an unknown one is reported by the
    settings, after the arguments are read)."""
    from dotenv import dotenv_values

    dotenv = dotenv_values(".env") if os.path.isfile(".env") else {}
    code = (os.environ.get("CDHT_LANGUAGE") or dotenv.get("CDHT_LANGUAGE") or "vi").strip().lower()
    return load_langs()[code if code in LANGUAGES else "vi"]


def main(argv: Sequence[str] | None = None) -> int:
    t = _operator_lang()
    args = _parser(t).parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(t._("Configuration error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the chat readable
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # a line per glyph in a PDF
    # The HTTP and Bot API libraries log every request URL (it holds the bot token) and, at
    # DEBUG, the messages themselves: personal data. Never below WARNING, whatever the level.
    for name in ("httpx", "httpcore", "telegram", "aiohttp.access", "aiohttp.client"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    command = args.command or "run"
    try:
        if command == "criteria-check":
            criteria = load_criteria(args.file)
            print(
                t._("{file}: OK ({groups} groups, {indicators} indicators).").format(
                    file=args.file,
                    groups=len(criteria.groups),
                    indicators=len(criteria.indicators),
                )
            )
        elif command == "migrate":
            asyncio.run(_migrate(settings, t))
        elif command == "stats":
            asyncio.run(_stats(settings, t, args.action))
        elif command == "commune-flag":
            asyncio.run(_flag_commune(settings, t, args.code, not args.off))
        elif command == "deadline":
            return asyncio.run(_deadline(settings, t, args))
        elif command == "unit-code":
            return asyncio.run(_unit_code(settings, t, args))
        elif command in ("admin", "digest", "export", "import", "poster", "target"):
            return asyncio.run(admin_cli.run(settings, args))
        elif command == "chat":
            asyncio.run(_chat(settings, args.user))
        elif settings.telegram is not None or settings.zalo is not None:
            return asyncio.run(_serve(settings))
        else:  # run with no channel configured: the terminal chat
            asyncio.run(_chat(settings, "local"))
    except CriteriaError as exc:
        print(t._("Criteria error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(t._("The database is not available: {problem}").format(problem=exc), file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be read or written
        where = f" ({exc.filename})" if exc.filename else ""
        problem = f"{exc.strerror or exc}{where}"
        print(t._("Error: {problem}").format(problem=problem), file=sys.stderr)
        return 2
    except ValueError as exc:  # a deadline, area or date written wrongly
        problem = exc.text(t) if isinstance(exc, Problem) else str(exc)
        print(t._("Error: {problem}").format(problem=problem), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
