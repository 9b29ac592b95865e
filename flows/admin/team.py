"""Admins and their codes: `/admin CODE` makes the sender an admin (the code says of
what), `/admin` shows an admin their scope and commands (`/admin monthly on|off`), and
`/invite`, `/admins`, `/revoke N` manage the admins of one's own scope."""

from __future__ import annotations

from datetime import timedelta

from flows.admin.common import admin_help, not_an_admin, scoped, the_admin
from flows.codes import blocked, normalise_code, shown, usable
from flows.lang import Lang
from flows.model import (
    ADMIN,
    FOCAL_POINT,
    AdminView,
    BecomeAdmin,
    Event,
    Needs,
    NewInvite,
    RevokeAdmin,
    SetMonthly,
    Snapshot,
    World,
    WrongCode,
)
from flows.navigation import aside, too_many_attempts
from flows.text import fold
from flows.turn import Turn, command

INVITE_HOURS = 72
UNIT_CODE_DAYS = 30  # a code for units' focal points: reusable, as `cdht unit-code new`
UNIT_WORDS = ("unit", "units", "donvi", "dv")  # /invite unit: a code for units
ON_WORDS, OFF_WORDS = ("on", "bat", "co", "yes"), ("off", "tat", "khong", "no")
MONTHLY_WORDS = ("monthly", "thang", "hangthang")


def quoted_code(event: Event) -> str | None:
    """The code of `/admin CODE` (not `/admin monthly on`)."""
    words = event.args.split()
    if event.kind != "command" or event.command != "admin" or not words:
        return None
    if fold(words[0]) in MONTHLY_WORDS:
        return None
    return normalise_code(event.args) or None


def _admin_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(invite=quoted_code(event))


def _admin_help(t: Lang) -> str:
    return t._("/admin monthly on — also a summary of each month")


@command("admin", "quantri", needs=_admin_needs, help=_admin_help, help_rank=80)
def _admin(turn: Turn, args: str) -> None:
    """/admin CODE (anyone), /admin and /admin monthly on|off (admins)."""
    if quoted_code(turn.event):
        _join(turn)
    elif turn.world.admin is None:
        not_an_admin(turn)
    else:
        _status(turn, turn.world.admin, args)


def _join(turn: Turn) -> None:
    t = turn.t
    code = quoted_code(turn.event) or ""
    invite = usable(turn.world.invite, code, ADMIN, turn.world)
    if blocked(turn.world.code_attempts):
        aside(turn, too_many_attempts(turn))
    elif invite is None:
        turn.effect(WrongCode(ADMIN))
        aside(
            turn,
            t._(
                "The admin code “{code}” is not valid, was already used or has expired. "
                "Check it, or ask for a new one."
            ).format(code=code),
        )
    else:
        turn.effect(BecomeAdmin(code, invite.area, turn.lang))
        welcome = t._("You are now an admin for {scope}.").format(
            scope=invite.area.name(turn.world.places, t)
        )
        lines = [welcome, admin_help(turn)]
        draft = turn.state.get("draft") or {}
        if turn.person is None and not any(v is not None for v in draft.values()):
            # Opening the bot began a registration: an admin is not held to it.
            turn.state["screen"] = None
            turn.state.pop("draft", None)
            lines.append(t._("Send /start if you also want to register as a Learning Citizen."))
        aside(turn, "\n".join(lines))


def _status(turn: Turn, admin: AdminView, args: str) -> None:
    t = turn.t
    words = [fold(w) for w in args.split()]
    if words and words[0] in MONTHLY_WORDS:
        if len(words) > 1 and words[1] in ON_WORDS + OFF_WORDS:
            on = words[1] in ON_WORDS
            turn.effect(SetMonthly(on))
            if on:
                text = t._("On the 1st of each month you will also get a summary of the month.")
            else:
                text = t._("No more monthly summaries.")
        else:
            text = t._("Write /admin monthly on or /admin monthly off.")
        aside(turn, text)
        return
    scope = t._("You are an admin for {scope}.").format(scope=admin.area.name(turn.world.places, t))
    aside(turn, "\n".join([scope, admin_help(turn)]))


def _invite_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(fresh_code=True)


def _invite_help(t: Lang) -> str:
    return t._(
        "/invite — a code for another admin in your area (/invite unit: a code for the "
        "focal points of learning units)"
    )


@command(
    "invite",
    "moi",
    "moiquantri",
    needs=_invite_needs,
    admin=True,
    help=_invite_help,
    help_rank=60,
)
def _invite(turn: Turn, args: str) -> None:
    t = turn.t
    first, _, rest = args.strip().partition(" ")
    if fold(first).replace(" ", "") in UNIT_WORDS:
        _unit_code(turn, rest)
        return
    area = scoped(turn, the_admin(turn), args)
    if area is None:
        return
    code = turn.world.fresh_code
    expires = turn.world.now + timedelta(hours=INVITE_HOURS)
    turn.effect(NewInvite(code, ADMIN, area, expires))
    aside(
        turn,
        t._(
            "A code for a new admin for {scope}: {code}\nIt can be used once, until {until}. "
            "The new admin sends: /admin {code}"
        ).format(
            scope=area.name(turn.world.places, t), code=shown(code), until=t.datetime(expires)
        ),
    )


def _unit_code(turn: Turn, args: str) -> None:
    """A reusable code with which the focal points of the area's units register."""
    t = turn.t
    area = scoped(turn, the_admin(turn), args)
    if area is None:
        return
    if area.province is None:
        aside(
            turn,
            t._(
                "Units register with a province or a commune: write /invite unit followed by "
                "its name, for example: /invite unit Lai Châu"
            ),
        )
        return
    code = turn.world.fresh_code
    expires = turn.world.now + timedelta(days=UNIT_CODE_DAYS)
    turn.effect(NewInvite(code, FOCAL_POINT, area, expires))
    aside(
        turn,
        t._(
            "A code for the focal points of learning units in {scope}: {code}\nAny number "
            "of units can use it until {until}. Each focal point sends: /unit {code}\nThen "
            "they get the reporting deadlines and self-assess their unit in the chat."
        ).format(
            scope=area.name(turn.world.places, t), code=shown(code), until=t.datetime(expires)
        ),
    )


def _admins_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(admins=True)


def _admin_line(turn: Turn, a: AdminView, me: AdminView) -> str:
    t = turn.t
    who = a.name or t._("{channel} account").format(channel=a.channel.capitalize())
    since = t.date(a.since) if a.since else ""
    you = t._(" (you)") if a.id == me.id else ""
    return f"#{a.id} {who}{you} — {a.area.name(turn.world.places, t)} — {since}"


def _admins_help(t: Lang) -> str:
    return t._("/admins — the admins in your area; /revoke NUMBER removes one")


@command(
    "admins",
    "dsquantri",
    "danhsachquantri",
    needs=_admins_needs,
    admin=True,
    help=_admins_help,
    help_rank=70,
)
def _list_admins(turn: Turn, args: str) -> None:
    t = turn.t
    admin = the_admin(turn)
    lines = [t._("Admins for {scope}:").format(scope=admin.area.name(turn.world.places, t))]
    lines += [_admin_line(turn, a, admin) for a in turn.world.admins]
    lines.append(t._("/revoke NUMBER removes one; /invite makes a code for a new one."))
    aside(turn, "\n".join(lines))


@command("revoke", "thuhoi", "huyquyen", needs=_admins_needs, admin=True)
def _revoke(turn: Turn, args: str) -> None:
    t = turn.t
    admin = the_admin(turn)
    digits = args.strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
        aside(turn, t._("Write /revoke and the admin's number from /admins."))
        return
    number = int(digits)
    target = next((a for a in turn.world.admins if a.id == number), None)
    if number == admin.id:
        text = t._("You cannot remove yourself; another admin for your area can.")
    elif target is None:
        text = t._("There is no admin #{n} in your area. /admins lists them.").format(n=number)
    else:
        turn.effect(RevokeAdmin(number, admin.area))
        text = t._("Admin #{n} is no longer an admin.").format(n=number)
    aside(turn, text)
