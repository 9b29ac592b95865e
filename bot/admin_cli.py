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
from flows.lang import LANGUAGES, N_, Lang, Problem
from flows.localtime import LOCAL_TZ, local_day


def add_parsers(sub: Any, t: Lang) -> None:
    scope_help = t._('all, province:<code>, commune:<code>, or a name (e.g. "Hoàn Kiếm")')
    year_help = t._("the campaign year (default: the current one)")
    lang_help = t._("vi or en (default: CDHT_LANGUAGE)")
    admin = sub.add_parser("admin", help=t._("admins: invite, list, revoke"))
    actions = admin.add_subparsers(dest="action", required=True)
    invite = actions.add_parser("invite", help=t._("a one-time code that makes someone an admin"))
    invite.add_argument("--scope", required=True, help=scope_help)
    invite.add_argument("--hours", type=int, default=72, help=t._("valid for this many hours (72)"))
    listing = actions.add_parser("list", help=t._("the admins (inside a scope)"))
    listing.add_argument("--scope", default="all", help=scope_help)
    revoke = actions.add_parser("revoke", help=t._("remove an admin"))
    revoke.add_argument("id", type=int, help=t._("the number shown by `cdht admin list`"))

    digest = sub.add_parser("digest", help=t._("print the admins' digest for a scope"))
    digest.add_argument("--scope", required=True, help=scope_help)
    digest.add_argument("--chart", help=t._("also write the chart to this PNG file"))
    digest.add_argument("--monthly", action="store_true", help=t._("the past month's summary"))
    digest.add_argument("--year", type=int, help=year_help)
    digest.add_argument("--lang", choices=LANGUAGES, help=lang_help)

    export = sub.add_parser("export", help=t._("write the report for a scope as .xlsx or .csv"))
    export.add_argument("--scope", required=True, help=scope_help)
    export.add_argument("--out", required=True, help=t._("FILE.xlsx or FILE.csv"))
    export.add_argument(
        "--names",
        action="store_true",
        help=t._(
            "the commune's named list for its recognition decision (names, phones, points; "
            "--scope one commune, --out FILE.xlsx)"
        ),
    )
    export.add_argument("--year", type=int, help=year_help)
    export.add_argument("--lang", choices=LANGUAGES, help=lang_help)

    poster = sub.add_parser(
        "poster", help=t._("print posters with QR codes that open the bot in a commune")
    )
    which = poster.add_mutually_exclusive_group(required=True)
    which.add_argument("--commune", help=t._("the commune, by name or code (one page)"))
    which.add_argument("--province", help=t._("the province, by name or code (a page per commune)"))
    poster.add_argument(
        "--out", required=True, help=t._("FILE.pdf (or FILE.png for one commune's page)")
    )

    imports = sub.add_parser(
        "import", help=t._("enter paper forms from a spreadsheet (the template's rows)")
    )
    imports.add_argument("file", nargs="?", help=t._("the filled-in FILE.xlsx"))
    imports.add_argument("--scope", help=t._("the commune of the forms, by name or code"))
    imports.add_argument(
        "--template", metavar="FILE.xlsx", help=t._("write the empty template to fill in")
    )
    imports.add_argument(
        "--partial",
        action="store_true",
        help=t._("write the rows without mistakes even if others have some"),
    )
    imports.add_argument("--year", type=int, help=year_help)

    target = sub.add_parser("target", help=t._("set a commune's population and targets"))
    target.add_argument("--commune", type=int, required=True, help=t._("the commune's code"))
    target.add_argument("--adults", type=int, help=t._("adults living in the commune"))
    target.add_argument("--officials", type=int, help=t._("officials working in the commune"))
    target.add_argument("--adults-pct", type=int, help=t._("target for adults, percent (40)"))
    target.add_argument("--officials-pct", type=int, help=t._("target for officials, percent (60)"))
    target.add_argument(
        "--households", type=int, help=t._("households in the commune (learning families' target)")
    )


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
            "poster": _poster,
            "import": _import,
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

    t = core.langs[settings.language]
    now = SystemClock().now()
    if args.action == "invite":
        area = area_named(args.scope, core.places)
        if not 1 <= args.hours <= 24 * 30:
            raise Problem(N_("--hours must be between 1 and 720"))
        code = new_code()
        until = now + timedelta(hours=args.hours)
        await db.run(lambda conn: invites.new_invite(conn, code, ADMIN, area, now, until))
        print(
            t._(
                "Admin code for {area}: {code}\n"
                "  single use, valid until {until} (Vietnam time).\n"
                "  The new admin sends to the bot, in any channel: /admin {code}"
            ).format(area=area.name(core.places, t), code=shown(code), until=t.datetime(until))
        )
    elif args.action == "list":
        area = area_named(args.scope, core.places)
        found = await db.run(lambda conn: store.admins(conn, area))
        if not found:
            print(t._("No admins yet. Invite one with: cdht admin invite --scope province:42"))
        for a in found:
            who = t._("registered citizen") if a.name else t._("not registered as a citizen")
            since = t.date(a.since.astimezone(LOCAL_TZ)) if a.since else ""
            print(
                t._("#{id}  {area} · {channel} · {who} · since {since}").format(
                    id=a.id,
                    area=a.area.name(core.places, t),
                    channel=a.channel,
                    who=who,
                    since=since,
                )
            )
    else:
        if not await db.run(lambda conn: store.revoke_admin(conn, args.id)):
            print(t._("There is no admin #{id}.").format(id=args.id), file=sys.stderr)
            return 1
        print(t._("Admin #{id} removed.").format(id=args.id))
    return 0


def _checked_year(year: int | None, current: int) -> int | None:
    """--year, if given, between the campaign's first year and the current one."""
    from flows.admin.common import FIRST_YEAR

    if year is not None and not FIRST_YEAR <= year <= current:
        raise Problem(
            N_("--year {year}: the campaign years are {first} to {last}"),
            year=year,
            first=FIRST_YEAR,
            last=current,
        )
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
    digest = await db.read(
        lambda conn: reports.load_digest(conn, area, year, day, args.monthly, lines=False)
    )
    print(digest_text(digest, core.places, core.criteria, t, cli=True))
    if args.chart:
        await asyncio.to_thread(Path(args.chart).write_bytes, reports.chart_png(digest, core, t))
        print("\n" + t._("Chart written to {file}").format(file=args.chart))
    return 0


async def _export(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from bot import reports
    from flows.places import area_named
    from storage import admin as store

    area = area_named(args.scope, core.places)
    out = Path(args.out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise Problem(N_("--out {file}: the file name must end in .xlsx or .csv"), file=args.out)
    t = _lang(settings, args, core)
    now = SystemClock().now()
    day, year = local_day(now), _checked_year(args.year, core.year(now)) or core.year(now)
    if args.names:
        commune = area.commune
        if commune is None or out.suffix.lower() != ".xlsx":
            raise Problem(N_("--names: give one commune as --scope and a FILE.xlsx as --out"))
        listed = await db.read(lambda conn: store.named_list(conn, commune, year))
        blob = reports.names_xlsx(listed, area, year, day, core, t)
        await asyncio.to_thread(out.write_bytes, blob)
        print(
            t._("Named list of {area} ({n} people) written to {file}").format(
                area=area.name(core.places, t), n=len(listed), file=out
            )
        )
        return 0
    digest = await db.read(lambda conn: reports.load_digest(conn, area, year, day))
    if out.suffix.lower() == ".csv":
        blob = reports.export_csv(digest, core, t)
    else:
        points = await db.read(lambda conn: store.indicator_points(conn, area, year))
        blob = reports.export_xlsx(digest, points, core, t)
    await asyncio.to_thread(out.write_bytes, blob)
    print(
        t._("Report for {area} written to {file}").format(area=area.name(core.places, t), file=out)
    )
    return 0


async def _target(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from flows.places import Area
    from storage import admin as store

    area = Area.parse(f"commune:{args.commune}", core.places)
    changes = {
        key: value
        for key in ("adults", "officials", "adults_pct", "officials_pct", "households")
        if (value := getattr(args, key)) is not None
    }
    if not changes:
        raise Problem(
            N_(
                "give at least one of --adults, --officials, --adults-pct, --officials-pct, "
                "--households"
            )
        )
    for key, value in changes.items():
        if value < 0 or (key.endswith("_pct") and value > 100):
            raise Problem(
                N_("--{option} {value} is out of range"), option=key.replace("_", "-"), value=value
            )
    now = SystemClock().now()
    await db.run(lambda conn: store.set_target(conn, area, changes, now))
    t = core.langs[settings.language]
    words = {
        "adults": t._("adults"),
        "officials": t._("officials"),
        "adults_pct": t._("target for adults (%)"),
        "officials_pct": t._("target for officials (%)"),
        "households": t._("households"),
    }
    what = ", ".join(f"{words[k]} {v}" for k, v in changes.items())
    print(t._("Saved for {area}: {what}").format(area=area.name(core.places, t), what=what))
    return 0


async def _poster(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    from bot import posters
    from flows.places import area_named

    t = core.langs[settings.language]
    text = (args.commune if args.commune is not None else args.province or "").strip()
    if not text:
        raise Problem(N_("write the commune's or province's name or code"))
    if text.isascii() and text.isdigit():  # a bare code: --commune 70, --province 42
        text = f"{'commune' if args.commune else 'province'}:{text}"
    area = _province_named(text, core.places) if args.province else None
    area = area or area_named(text, core.places)
    if args.commune and area.commune is None:
        raise Problem(N_("--commune {text}: that is a province; use --province"), text=args.commune)
    if area.province is None:
        raise Problem(N_("posters are made for a commune or a province, not the whole country"))
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".png") or (suffix == ".png" and area.commune is None):
        raise Problem(
            N_("--out {file}: write FILE.pdf (FILE.png only for one commune)"), file=args.out
        )
    if not out.parent.is_dir():  # said before minutes of drawing, not after
        raise Problem(N_("--out {file}: there is no folder {folder}"), file=out, folder=out.parent)
    if not core.posters.any:
        raise Problem(
            N_("nothing to put on a poster: set {what}"),
            what=t._(" or ").join(posters.missing(core.posters, t)),
        )
    places = core.places
    one = places.commune(area.commune) if area.commune is not None else None
    communes = [one] if one else places.communes_of(area.province)
    if suffix == ".png":
        blob = posters.poster_png(communes[0], places, core.posters, t)
    else:
        blob = await asyncio.to_thread(posters.poster_pdf, communes, places, core.posters, t)
    await asyncio.to_thread(out.write_bytes, blob)
    if area.commune is not None:
        done = t._("Poster for {area} written to {file}.")
    else:
        done = t._("Posters for {area} written to {file}: {n} pages, one per commune.")
    print(done.format(area=area.name(places, t), file=out, n=len(communes)))
    for what in posters.missing(core.posters, t):
        print(t._("Not on the poster, as it is not set: {what}").format(what=what))
    return 0


async def _import(settings: Settings, args: argparse.Namespace, core: Any, db: Any) -> int:
    """cdht import: the template, or a filled-in sheet of paper forms for one commune."""
    from bot import paper_files
    from flows import paper
    from flows.places import area_named
    from storage import paper as store

    t = core.langs[settings.language]
    if args.template:
        out = Path(args.template)
        if out.suffix.lower() != ".xlsx":
            raise Problem(N_("--template {file}: the file name must end in .xlsx"), file=out)
        blob = paper_files.template_xlsx(core.criteria, t)
        await asyncio.to_thread(out.write_bytes, blob)
        print(
            t._(
                "Template written to {file}: one row per person on the sheet “{sheet}”; the "
                "sheet “{guide}” explains the columns and numbers every question's options."
            ).format(file=out, sheet=paper_files.SHEET, guide=t._("Guide"))
        )
        return 0
    if not args.file or not args.scope:
        raise Problem(
            N_("write cdht import FILE.xlsx --scope COMMUNE, or cdht import --template FILE.xlsx")
        )
    text = args.scope.strip()
    area = area_named(f"commune:{text}" if text.isascii() and text.isdigit() else text, core.places)
    if area.commune is None:
        raise Problem(
            N_('--scope {text}: the forms of one commune at a time, e.g. --scope "Hoàn Kiếm"'),
            text=args.scope,
        )
    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        raise Problem(N_("{file}: the file must be the template, filled in (.xlsx)"), file=path)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise Problem(N_("there is no file {file}"), file=path) from None
    rows = await asyncio.to_thread(paper_files.read_bytes, data)
    if rows is None:
        raise Problem(
            N_("{file} is not an Excel workbook the bot can read: save it as .xlsx"), file=path
        )
    now = SystemClock().now()
    year = _checked_year(args.year, core.year(now)) or core.year(now)
    forms, errors = paper.read_forms(rows, core.criteria, local_day(now).year)
    refused = len({e.row for e in errors})
    if errors and not args.partial:
        print(
            t._(
                "Nothing was written: {n} rows have mistakes. Fix them and import the file "
                "again (or add --partial to write the other rows now):"
            ).format(n=refused),
            file=sys.stderr,
        )
        for error in errors:
            print("  " + error.text(t), file=sys.stderr)
        return 1
    done = await db.run(
        lambda conn: store.import_forms(conn, forms, area, year, core.criteria, None, now)
    )
    print(
        t._(
            "{area}, {year}: {added} added, {updated} updated, {unchanged} already up to "
            "date, {refused} refused."
        ).format(
            area=area.name(core.places, t),
            year=year,
            added=done.added,
            updated=done.updated,
            unchanged=done.unchanged,
            refused=refused,
        )
    )
    if done.own:
        print(
            t._("{n} of them registered themselves in chat: what they entered is kept.").format(
                n=done.own
            )
        )
    for error in errors:
        print("  " + error.text(t))
    return 1 if errors else 0


def _province_named(text: str, places: Any) -> Any:
    """--province by a province's name, today's or one merged in 2025 ("Hà Giang" is in
    Tuyên Quang now), when the name means one province; else None (read as any place)."""
    from flows.places import Area
    from flows.text import fold

    name = fold(text).removeprefix("tinh ").removeprefix("thanh pho ")
    codes = {p.code for p in places.find_provinces(name) if p.folded.endswith(name)}
    if not codes:
        codes = {f.code for f in places.find_former_provinces(name) if f.folded.endswith(name)}
    return Area(province=codes.pop()) if len(codes) == 1 else None
