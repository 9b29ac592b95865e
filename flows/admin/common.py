"""What every admin command shares: reading the area a command asks about, checking it
against the admin's scope, and saying plainly when something is not allowed."""

from __future__ import annotations

from flows.model import AdminView
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


def asked_area(args: str, places: Gazetteer) -> tuple[bool, Area | None]:
    """(readable, area): the area a command's arguments name, None for none (the admin's
    own scope); readable is False when they name something that is not a place."""
    word = area_word(args)
    if word is None:
        return True, None
    area = parse_area(word, places)
    return area is not None, area


def requested_area(args: str, admin: AdminView, places: Gazetteer) -> Area | None:
    """The area a command asks about: an area word among its arguments, else the admin's
    own scope. None if the word names no place."""
    readable, area = asked_area(args, places)
    return (area or admin.area) if readable else None


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
    """The area asked about, if it is a place and inside the admin's scope (else say why)."""
    t = turn.t
    area = requested_area(args, admin, turn.world.places)
    if area is None:
        aside(
            turn,
            t._(
                "I don't know that place. Write it as tinh:CODE or xa:CODE with the code "
                "of the 2025 list, for example xa:70."
            ),
        )
        return None
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
