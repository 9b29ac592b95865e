"""What every admin command shares: reading the area a command asks about, checking it
against the admin's scope, and saying plainly when something is not allowed."""

from __future__ import annotations

from dataclasses import dataclass

from flows.model import AdminView, World
from flows.navigation import aside
from flows.places import Area, Gazetteer, parse_area
from flows.text import fold
from flows.turn import COMMAND_HANDLERS, Turn

WHOLE_WORDS = ("all", "toanquoc")


def area_word(args: str) -> str | None:
    """The word of a command's arguments that names an area ("xa:70", "tinh:1", "all")."""
    for word in args.split():
        if ":" in word or fold(word) in WHOLE_WORDS:
            return word
    return None


# Words of a command's arguments that are not a place ("/baocao csv Hoàn Kiếm").
OTHER_WORDS = frozenset(("csv", "xlsx", "excel"))
SHOWN = 5  # places listed when a name means several
FIRST_YEAR = 2022  # the campaign's first year of self-assessments (QĐ 677/QĐ-TTg, 2022)


@dataclass(frozen=True)
class Asked:
    """The place a command's arguments ask about. `area` None and no `name`: the admin's
    own scope. A code ("xa:70") gives `area` (None if no such place: not `readable`); a
    name ("thach dai", "Phường Hoàn Kiếm") gives the places it can mean, best first."""

    readable: bool = True
    area: Area | None = None
    name: str = ""
    options: tuple[tuple[Area, ...], ...] = ()  # tiers, best first (Gazetteer.areas_named)
    year: int | None = None  # a campaign year asked for ("/congnhan 2026"); None: this one


def _year(word: str) -> int | None:
    """A word that is a year (2000-2099); other numbers are codes ("2320": Xã Tân An)."""
    if word.isascii() and word.isdigit() and len(word) == 4 and 2000 <= int(word) <= 2099:
        return int(word)
    return None


def year_readable(question: Asked, world: World) -> bool:
    """Whether the year asked for (if any) is one of the campaign's: else nothing is read
    and the handler says why (campaign_year)."""
    year = question.year
    return year is None or FIRST_YEAR <= year <= world.campaign_year


def asked_year(args: str) -> int | None:
    """The year among a command's arguments, if any (without looking up any place)."""
    return next((y for w in args.split() if (y := _year(w)) is not None), None)


def asked(args: str, places: Gazetteer) -> Asked:
    words = args.split()
    year = asked_year(args)
    # A bare number that is not a year is a code: "2320" as "xa:2320" (or "tinh:42").
    words = [
        (f"tinh:{w}" if places.province(int(w)) and not places.commune(int(w)) else f"xa:{w}")
        if w.isascii() and w.isdigit() and _year(w) is None and len(w) <= 6
        else w
        for w in words
        if _year(w) is None
    ]
    word = area_word(" ".join(words))
    if word is not None:
        area = parse_area(word, places)
        return Asked(area is not None, area, year=year)
    name = " ".join(w for w in words if fold(w) not in OTHER_WORDS)
    if not name:
        return Asked(year=year)
    return Asked(name=name, options=places.areas_named(name), year=year)


def campaign_year(turn: Turn, args: str) -> int | None:
    """The campaign year a command asks about (the current one if none), or None after
    saying why it cannot be: before the campaign's first year, or still to come."""
    year = asked_year(args)  # (a name among the arguments is scoped()'s to look up)
    if year is None:
        return turn.world.campaign_year
    if FIRST_YEAR <= year <= turn.world.campaign_year:
        return year
    aside(
        turn,
        turn.t._(
            "There are no self-assessments for {year}: the years are {first} to {last}. For "
            "example: {example}."
        ).format(
            year=year,
            first=FIRST_YEAR,
            last=turn.world.campaign_year,
            example=turn.world.campaign_year - 1,
        ),
    )
    return None


def in_scope(options: tuple[tuple[Area, ...], ...], scope: Area) -> list[Area]:
    """Of the places a name can mean, those inside an admin's scope, from the best tier
    that has any ("hoan kiem" is Phường Hoàn Kiếm, not also what Quận Hoàn Kiếm became)."""
    for tier in options:
        if mine := [a for a in tier if scope.contains(a)]:
            return mine
    return []


def one_in_scope(options: tuple[tuple[Area, ...], ...], scope: Area) -> Area | None:
    """The place a name means within `scope`, if it means exactly one there. The shell
    (bot.preload) reads by this too, so both find the same place."""
    mine = in_scope(options, scope)
    return mine[0] if len(mine) == 1 else None


def not_an_admin(turn: Turn) -> None:
    t = turn.t
    aside(
        turn,
        t._(
            "This command is for admins of the campaign. If you were given an admin "
            "code, send /admin followed by it."
        ),
    )


def out_of_scope(turn: Turn, admin: AdminView) -> None:
    t = turn.t
    aside(
        turn,
        t._("That is outside your scope: you are an admin for {scope}.").format(
            scope=admin.area.name(turn.world.places, t)
        ),
    )


def scoped(turn: Turn, admin: AdminView, args: str) -> Area | None:
    """The area asked about, if it is one place inside the admin's scope (else say why:
    never the whole scope's figures in silence)."""
    t, places = turn.t, turn.world.places
    question = asked(args, places)
    if question.name:
        mine = in_scope(question.options, admin.area)
        if len(mine) == 1:
            return mine[0]
        if mine:
            listed = "; ".join(f"{a.name(places, t)} ({a.text_vi()})" for a in mine[:SHOWN])
            more = len(mine) - SHOWN
            aside(
                turn,
                t._(
                    "Several places in your area match “{name}”: {places}{more}. Write more "
                    "of the name, or the code, for example {code}."
                ).format(
                    name=question.name[:40],
                    places=listed,
                    more=t._(" and {n} more").format(n=more) if more > 0 else "",
                    code=mine[0].text_vi(),
                ),
            )
        elif question.options:
            out_of_scope(turn, admin)
        else:
            aside(
                turn,
                t._(
                    "I know no commune, ward or province called “{name}”. Write its name, "
                    "today's or the one before the 2025 merger, with or without accents, "
                    "or its code: for example Hoàn Kiếm, or xa:70."
                ).format(name=question.name[:40]),
            )
        return None
    if not question.readable:
        aside(
            turn,
            t._(
                "I don't know that place. Write it as tinh:CODE or xa:CODE with the code "
                "of the 2025 list, for example xa:70."
            ),
        )
        return None
    area = question.area or admin.area
    if not admin.area.contains(area):
        out_of_scope(turn, admin)
        return None
    return area


def the_admin(turn: Turn) -> AdminView:
    """The admin whose command this is (admin commands run only for admins)."""
    if turn.world.admin is None:
        raise LookupError("an admin command ran for someone who is not an admin")
    return turn.world.admin


def admin_help(turn: Turn) -> str:
    """What an admin can do: each admin command's own line of help, in their order."""
    t = turn.t
    helped = sorted(
        (c for c in COMMAND_HANDLERS.values() if c.help is not None), key=lambda c: c.help_rank
    )
    lines = [t._("Every morning at 07:00 I send you the numbers for your area. Commands:")]
    lines += [c.help(t) for c in helped if c.help is not None]
    return "\n".join(lines)
