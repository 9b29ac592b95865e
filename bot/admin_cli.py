"""The operators' side of admins: `cdht admin invite|list|revoke`, `cdht digest`,
`cdht export` and `cdht target`. The chat commands do the same for admins in chat; both
read the numbers through bot.reports, so they agree."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.config import Settings
from flows.lang import LANGUAGES
from flows.localtime import local_day

SCOPE_HELP = 'all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")'


def add_parsers(sub: Any) -> None:
    admin = sub.add_parser("admin", help="admins: invite, list, revoke")
    actions = admin.add_subparsers(dest="action", required=True)
    invite = actions.add_parser("invite", help="a one-time code that makes someone an admin")
    invite.add_argument(
        "--scope",
        required=True,
        help='all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")',
    )
    invite.add_argument("--hours", type=int, default=72, help="valid for this many hours (72)")
    listing = actions.add_parser("list", help="the admins (inside a scope)")
    listing.add_argument(
        "--scope",
        default="all",
        help='all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")',
    )
    revoke = actions.add_parser("revoke", help="remove an admin")
    revoke.add_argument("id", type=int, help="the number shown by `cdht admin list`")

    digest = sub.add_parser("digest", help="print the admins' digest for a scope")
    digest.add_argument(
        "--scope",
        required=True,
        help='all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")',
    )
    digest.add_argument("--chart", help="also write the chart to this PNG file")
    digest.add_argument("--monthly", action="store_true", help="the past month's summary")
    digest.add_argument("--year", type=int, help="the campaign year (default: the current one)")
    digest.add_argument("--lang", choices=LANGUAGES, help="vi or en (default: CDHT_LANGUAGE)")

    export = sub.add_parser("export", help="write the report for a scope as .xlsx or .csv")
    export.add_argument(
        "--scope",
        required=True,
        help='all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")',
    )
    export.add_argument("--out", required=True, help="FILE.xlsx or FILE.csv")
    export.add_argument("--year", type=int, help="the campaign year (default: the current one)")
    export.add_argument("--lang", choices=LANGUAGES, help="vi or en (default: CDHT_LANGUAGE)")

    target = sub.add_parser("target", help="set a commune's population and targets")
    target.add_argument("--commune", type=int, required=True, help="the commune's code")
    target.add_argument("--adults", type=int, help="adults living in the commune")
    target.add_argument("--officials", type=int, help="officials working in the commune")
    target.add_argument("--adults-pct", type=int, help="target for adults, percent (40)")
    target.add_argument("--officials-pct", type=int, help="target for officials, percent (60)")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_db
    from bot.core import load_core

    core = load_core(settings)
    db = await open_db(settings)
    try:
        handler = {
            "admin": _admin,
            "digest": _digest,
            "export": _export,
            "target": _target,
        }[args.command]
        return await handler(settings, args, core, db)
    finally:
        await db.dispose()


async def _admin(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from bot.codes import new_code
    from flows.codes import shown
    from flows.model import ADMIN
    from flows.places import area_named
    from storage import admin as store
    from storage import invites

    t = core.langs["en"]
    now = SystemClock().now()
    if args.action == "invite":
        area = area_named(args.scope, core.places)
        if not 1 <= args.hours <= 24 * 30:
            raise ValueError("--hours must be between 1 and 720")
        code = new_code()
        until = now + timedelta(hours=args.hours)
        await db.run(lambda conn: invites.new_invite(conn, code, ADMIN, area, now, until))
        print(
            f"Admin code for {area.name(core.places, t)}: {shown(code)}\n"
            f"  single use, valid until {t.datetime(until)} (Vietnam time).\n"
            f"  The new admin sends to the bot, in any channel: /admin {shown(code)}"
        )
    elif args.action == "list":
        area = area_named(args.scope, core.places)
        found = await db.run(lambda conn: store.admins(conn, area))
        if not found:
            print("No admins yet. Invite one with: cdht admin invite --scope province:42")
        for a in found:
            who = "registered citizen" if a.name else "not registered as a citizen"
            since = t.date(a.since) if a.since else ""
            print(f"#{a.id}  {a.area.name(core.places, t)} · {a.channel} · {who} · since {since}")
    else:
        if not await db.run(lambda conn: store.revoke_admin(conn, args.id)):
            print(f"There is no admin #{args.id}.", file=sys.stderr)
            return 1
        print(f"Admin #{args.id} removed.")
    return 0


def _checked_year(year: int | None, current: int) -> int | None:
    """--year, if given, between the campaign's first year and the current one."""
    from flows.admin.common import FIRST_YEAR

    if year is not None and not FIRST_YEAR <= year <= current:
        raise ValueError(f"--year {year}: the campaign years are {FIRST_YEAR} to {current}")
    return year


def _lang(settings: Settings, args: argparse.Namespace, core: Any) -> Any:
    return core.langs[args.lang or settings.language]


async def _digest(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from bot import reports
    from flows.digest import digest_text
    from flows.places import area_named

    area = area_named(args.scope, core.places)
    t = _lang(settings, args, core)
    day = local_day(SystemClock().now())
    year = core.year_of(reports.looked_back_on(day, args.monthly))  # as the morning digest
    year = _checked_year(args.year, core.year(SystemClock().now())) or year
    digest = await db.read(lambda conn: reports.load_digest(conn, area, year, day, args.monthly))
    print(digest_text(digest, core.places, core.criteria, t, cli=True))
    if args.chart:
        await asyncio.to_thread(Path(args.chart).write_bytes, reports.chart_png(digest, core, t))
        print(f"\nChart written to {args.chart}")
    return 0


async def _export(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from bot import reports
    from flows.places import area_named
    from storage import admin as store

    area = area_named(args.scope, core.places)
    out = Path(args.out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise ValueError(f"--out {args.out}: the file name must end in .xlsx or .csv")
    t = _lang(settings, args, core)
    now = SystemClock().now()
    day, year = local_day(now), _checked_year(args.year, core.year(now)) or core.year(now)
    digest = await db.read(lambda conn: reports.load_digest(conn, area, year, day))
    if out.suffix.lower() == ".csv":
        blob = reports.export_csv(digest, core, t)
    else:
        points = await db.read(lambda conn: store.indicator_points(conn, area, year))
        blob = reports.export_xlsx(digest, points, core, t)
    await asyncio.to_thread(out.write_bytes, blob)
    print(f"Report for {area.name(core.places, t)} written to {out}")
    return 0


async def _target(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from flows.places import Area
    from storage import admin as store

    area = Area.parse(f"commune:{args.commune}", core.places)
    changes = {
        key: value
        for key in ("adults", "officials", "adults_pct", "officials_pct")
        if (value := getattr(args, key)) is not None
    }
    if not changes:
        raise ValueError(
            "give at least one of --adults, --officials, --adults-pct, --officials-pct"
        )
    for key, value in changes.items():
        if value < 0 or (key.endswith("_pct") and value > 100):
            raise ValueError(f"--{key.replace('_', '-')} {value} is out of range")
    now = SystemClock().now()
    await db.run(lambda conn: store.set_target(conn, area, changes, now))
    t = core.langs["en"]
    what = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changes.items())
    print(f"Saved for {area.name(core.places, t)}: {what}")
    return 0
