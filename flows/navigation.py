"""Where a conversation goes when nothing more specific is asked: the current question,
the next registration step, the menu, or, for someone who only came as a focal point or an
admin, nowhere (they are not pushed into registering as a citizen)."""

from __future__ import annotations

from flows import registration
from flows.turn import SCREENS, Turn


def resume(turn: Turn) -> None:
    """Show where the person is, or start: registration for newcomers, else the menu."""
    if turn.screen in SCREENS:
        SCREENS[turn.screen].render(turn)
    elif turn.person is None:
        if turn.state.get("draft"):
            registration.next_step(turn)
        else:
            registration.begin(turn)
    else:
        turn.go("menu")


def leave(turn: Turn, back: str | None) -> None:
    """Leave a side screen (a unit's name, recognising titles) for `back`, the screen the
    person was on before, if any; else the menu or the next registration step."""
    current = turn.screen
    turn.state["screen"] = None
    if back in SCREENS and back != current:
        turn.go(back)
    elif turn.person is not None:
        turn.go("menu")
    elif turn.state.get("draft"):
        registration.next_step(turn)
    else:
        turn.say(turn.t._("Send /start if you also want to register as a Learning Citizen."))
