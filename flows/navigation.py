"""Where a conversation goes when nothing more specific is asked: the current question,
the next registration step, the menu, or, for someone who only came as a focal point or an
admin, nowhere (they are not pushed into registering as a citizen)."""

from __future__ import annotations

from flows import registration
from flows.model import Option
from flows.reminders import UNIT_ASSESS
from flows.screens import MENU
from flows.turn import SCREENS, Turn


def resume(turn: Turn) -> None:
    """Show where the person is, or start: registration for newcomers, else the menu."""
    if turn.screen in SCREENS:
        turn.show()
    elif turn.person is None and turn.world.admin is not None:
        # An admin who is not registered as a citizen: not pushed into registering (what
        # they type may be someone else's name, from a paper form).
        turn.say(
            turn.t._(
                "You are an admin: send /admin to see your commands, or /start if you also "
                "want to register as a Learning Citizen."
            )
        )
    elif turn.person is None and turn.world.unit is not None and not turn.state.get("draft"):
        # A unit's focal point who is not registered as a citizen: not pushed into it.
        turn.ask(
            turn.t._(
                "You are the focal point of “{unit}”: tap below for its self-assessment, or "
                "send /start if you also want to register as a Learning Citizen."
            ).format(unit=turn.world.unit.name),
            [Option(UNIT_ASSESS, turn.t._("Self-assess the unit"))],
        )
    elif turn.person is None:
        if turn.state.get("draft"):
            registration.next_step(turn)
        else:
            registration.begin(turn)
    else:
        turn.go(MENU)


def leave(turn: Turn, back: str | None) -> None:
    """Leave a side screen (a unit's name, recognising titles) for `back`, the screen the
    person was on before, if any; else the menu or the next registration step."""
    current = turn.screen
    turn.state["screen"] = None
    admin_unregistered = turn.world.admin is not None and turn.person is None
    if back in SCREENS and back != current and not (admin_unregistered and back.startswith("reg.")):
        turn.go(back)
    elif turn.person is not None:
        turn.go(MENU)
    elif turn.state.get("draft") and turn.world.admin is None:
        registration.next_step(turn)
    else:  # (an admin is not pushed into registering: they may be entering someone else's)
        turn.say(turn.t._("Send /start if you also want to register as a Learning Citizen."))


def with_current(turn: Turn, text: str) -> None:
    """Say something, then show the current question again (or start; but an admin who
    has not begun registering as a citizen is not pushed into it)."""
    if turn.screen in SCREENS:
        turn.again(text, kind="text")
    elif turn.world.admin is not None and turn.person is None and not turn.state.get("draft"):
        turn.say(text)
    else:
        turn.say(text)
        resume(turn)


def aside(turn: Turn, text: str) -> None:
    """An answer on the side (an admin's command), then the current question again if
    there is one; nobody is pushed into registering by it."""
    if turn.screen in SCREENS:
        turn.again(text, kind="text")
    else:
        turn.say(text)


def too_many_attempts(turn: Turn) -> str:
    return turn.t._(
        "Too many wrong codes were tried. For safety, please try again in an hour, and "
        "check the code with whoever gave it to you."
    )
