"""Focal points of units (đầu mối đơn vị) register for reminders of reporting deadlines.

An admin hands out a code for an area (`cdht unit-code new --area commune:70`); the focal
point sends `/donvi CODE` (or opens the deep link `?start=dv-CODE`), names the unit, and
from then on gets the reminders of deadlines for focal points in that area. `/donvi off`
stops them. Codes are read forgivingly: any case, with or without spaces and dashes.
"""

from __future__ import annotations

from flows.codes import blocked, normalise_code, usable
from flows.model import (
    FOCAL_POINT,
    Event,
    Needs,
    Option,
    RemoveRecipient,
    SaveRecipient,
    Snapshot,
    World,
    WrongCode,
)
from flows.navigation import leave, too_many_attempts, with_current
from flows.places import Area
from flows.reminders import UNIT_ASSESS
from flows.screens import UNIT_NAME, UNIT_SCREENS
from flows.text import fold, tidy
from flows.turn import SCREENS, Turn, command, screen
from flows.unit_assessment import open_menu

DEEP_LINK_PREFIX = "dv-"
MAX_UNIT = 120
OFF_WORDS = ("off", "tat", "huy", "stop", "dung")


def quoted_code(event: Event) -> str | None:
    """The invite code an event quotes: `/donvi CODE` or `/start dv-CODE`; the shell
    looks it up (see `_needs`) and hands it in as `World.invite`."""
    if event.kind != "command":
        return None
    args = event.args.strip()
    if event.command == "unit":
        word = args.split()[0] if args else ""
        if not word or fold(word) in OFF_WORDS:
            return None
        return normalise_code(word) or None
    if event.command == "start" and args.lower().startswith(("dv-", "dv_")):
        return normalise_code(args[3:]) or None
    return None


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(invite=quoted_code(event), unit=True)


@command("unit", "donvi", "daumoi", "focalpoint", needs=_needs)
def _unit(turn: Turn, args: str) -> None:
    """/donvi: say whether I am a focal point; /donvi off; /donvi CODE."""
    t = turn.t
    unit = turn.state.get("unit")
    word = fold(args).strip()
    if not word:
        if turn.world.unit is not None:
            if _reminders_off(turn):
                turn.say(
                    t._(
                        "Your reminders are off: send /reminders on to get the reminders of "
                        "reporting deadlines."
                    )
                )
            open_menu(turn)
            return
        text = t._(
            "Focal points of units get reminders of reporting deadlines and self-assess "
            "their unit here. Send /unit followed by the code your commune or province gave "
            "you, for example: /unit K7QX-M2PA-R9TD"
        )
        with_current(turn, text)
    elif word in OFF_WORDS:
        if unit:
            turn.effect(RemoveRecipient(FOCAL_POINT))
            del turn.state["unit"]
            if turn.screen in UNIT_SCREENS:  # its self-assessment is no longer theirs
                turn.state["screen"] = turn.state.pop("unit_back", None)
            text = t._(
                "You are no longer the focal point of “{unit}”: no more deadline reminders "
                "or self-assessment for it."
            ).format(unit=unit["name"])
        else:
            text = t._("You are not registered as the focal point of a unit.")
        with_current(turn, text)
    else:
        use_invite(turn)


def use_invite(turn: Turn) -> None:
    """The event quotes a code: ask for the unit's name if the code is good."""
    t = turn.t
    code = quoted_code(turn.event) or ""
    found = turn.world.invite
    invite = usable(found, code, FOCAL_POINT, turn.world)
    if blocked(turn.world.code_attempts):
        with_current(turn, too_many_attempts(turn))
    elif invite is None and (found is None or found.role != FOCAL_POINT):
        turn.effect(WrongCode(FOCAL_POINT))
        with_current(
            turn,
            t._(
                "The code “{code}” is not valid. Check it, or ask your commune or province "
                "for the code for units."
            ).format(code=code),
        )
    elif invite is None:  # a unit's code that ran out: saying so helps, and is no secret
        turn.effect(WrongCode(FOCAL_POINT))
        with_current(
            turn,
            t._(
                "The code “{code}” is no longer valid. Ask your commune or province for a new one."
            ).format(code=code),
        )
    else:
        if turn.screen in UNIT_SCREENS:  # those of the unit being left: back to before
            turn.state["back"] = turn.state.pop("unit_back", None)
        elif turn.screen not in (UNIT_NAME,):
            turn.state["back"] = turn.screen
        area = invite.area
        turn.state["unit_invite"] = {
            "key": invite.key,
            "province": area.province,
            "commune": area.commune,
        }
        turn.go(UNIT_NAME)


def _invited_area(turn: Turn) -> Area:
    invite = turn.state["unit_invite"]
    return Area(invite["province"], invite["commune"])


def _on_name(turn: Turn, text: str) -> None:
    t = turn.t
    name = tidy(text)
    if len(name) > MAX_UNIT or sum(ch.isalpha() for ch in name) < 2:
        turn.again(
            t._("Please type the name of your unit, at most {max} characters.").format(max=MAX_UNIT)
        )
        return
    area = _invited_area(turn)
    invited = turn.state.pop("unit_invite")
    turn.effect(
        SaveRecipient(
            FOCAL_POINT,
            area,
            name,
            turn.lang,
            code=invited.get("code"),
            invite_key=invited.get("key"),
        )
    )
    turn.state["unit"] = {"name": name, "province": area.province, "commune": area.commune}
    if _reminders_off(turn):
        done = t._(
            "Done: you are the focal point of “{unit}” ({area}). Your reminders are off, so "
            "you will not be reminded of reporting deadlines until you send /reminders on."
        )
    else:
        done = t._(
            "Done: you will get reminders of reporting deadlines for “{unit}” ({area}). "
            "Send /unit off if you are no longer its focal point."
        )
    then = t._("Send /unit to self-assess your unit by the learning-unit criteria.")
    text = done.format(unit=name, area=area.name(turn.world.places, t)) + "\n" + then
    back = turn.state.pop("back", None)
    if back in SCREENS and not _untouched_registration(turn, back):
        turn.say(text)
        leave(turn, back)
    else:  # came for the unit: its self-assessment next, not registering as a citizen
        turn.state["screen"] = None
        turn.ask(text, [Option(UNIT_ASSESS, t._("Self-assess the unit"))])


def _untouched_registration(turn: Turn, back: str) -> bool:
    """The screen to go back to is the first question of a registration nobody began
    answering (a chat that opened with /start): not worth going back to."""
    draft = turn.state.get("draft") or {}
    return back.startswith("reg.") and not any(draft.values())


def _reminders_off(turn: Turn) -> bool:
    """Whether the person turned reminders off (/reminders off): then none is promised."""
    return turn.state.get("reminders") is False


def _on_cancel(turn: Turn, option: str) -> None:
    turn.state.pop("unit_invite", None)
    turn.say(turn.t._("Cancelled: you are not registered as a focal point."))
    _leave(turn)


def _leave(turn: Turn) -> None:
    """Back to what the person was doing."""
    leave(turn, turn.state.pop("back", None))


@screen(UNIT_NAME, on_option=_on_cancel, on_text=_on_name)
def _ask_name(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "You are registering as the focal point of a unit in {area}, to get reminders "
            "of reporting deadlines. What is the name of your unit? For example: "
            "Trường THCS Kim Liên"
        ).format(area=_invited_area(turn).name(turn.world.places, t)),
        [Option("cancel", t._("Cancel"))],
    )
