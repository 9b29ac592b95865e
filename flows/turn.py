"""The machinery every screen shares: one Turn is one step of one conversation.

A screen is a render function (what the person sees) plus handlers for a chosen option,
typed text or a shared contact. Rendering is a pure function of the state, so the same
question can always be asked again after unexpected input, and the options a person may
type or tap are known without remembering what was sent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flows.lang import Lang
from flows.model import (
    AssessmentView,
    Effect,
    Event,
    Option,
    Outcome,
    Profile,
    Reply,
    Snapshot,
    World,
)
from flows.reminders import reminders_on, unfinished
from flows.text import fold


@dataclass(frozen=True)
class Screen:
    render: Callable[[Turn], None]
    on_option: Callable[[Turn, str], None] | None = None
    on_text: Callable[[Turn, str], None] | None = None
    on_contact: Callable[[Turn, str], None] | None = None


SCREENS: dict[str, Screen] = {}


def screen(
    name: str, **handlers: Any
) -> Callable[[Callable[[Turn], None]], Callable[[Turn], None]]:
    """Register a screen: decorate its render function, pass its handlers."""

    def register(render: Callable[[Turn], None]) -> Callable[[Turn], None]:
        SCREENS[name] = Screen(render, **handlers)
        return render

    return register


class Turn:
    """Scratch space for one step: the state being built, replies and effects."""

    def __init__(self, snapshot: Snapshot, world: World, event: Event) -> None:
        self.snapshot, self.world, self.event = snapshot, world, event
        self.state: dict[str, Any] = copy.deepcopy(dict(snapshot.state))
        self.state.setdefault("lang", world.default_lang)
        self.state.setdefault("prompt", 0)
        self.person: Profile | None = snapshot.person
        self.assessment: AssessmentView | None = snapshot.assessment
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    # --- reading ---

    @property
    def t(self) -> Lang:
        return self.world.langs.get(self.state["lang"]) or self.world.langs[self.world.default_lang]

    @property
    def lang(self) -> str:
        return self.state["lang"]

    @property
    def screen(self) -> str | None:
        return self.state.get("screen")

    # --- writing ---

    def say(self, text: str) -> None:
        self.replies.append(Reply("text", text))

    def ask(
        self, text: str, options: list[Option] | tuple[Option, ...] = (), kind: str | None = None
    ) -> None:
        """Show a question; its options carry the current prompt number."""
        self.replies.append(
            Reply(
                kind or ("options" if options else "text"),
                text,
                tuple(options),
                self.state["prompt"],
            )
        )

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    def go(self, name: str) -> None:
        """Move to a screen and show it. A new prompt number makes earlier buttons stale."""
        self.state["screen"] = name
        self.state["prompt"] = int(self.state.get("prompt", 0)) + 1
        SCREENS[name].render(self)

    def again(self, why: str, kind: str = "notice") -> None:
        """Explain why the input was not taken, then ask the same question again (same
        prompt: its buttons still work). kind="text" for a message that is not a refusal."""
        self.replies.append(Reply(kind, why))
        if self.screen in SCREENS:
            SCREENS[self.screen].render(self)

    def current_options(self) -> tuple[Option, ...]:
        """The options of the current screen, found by rendering it into a scratch list."""
        if self.screen not in SCREENS:
            return ()
        kept, self.replies = self.replies, []
        try:
            SCREENS[self.screen].render(self)
            return next((r.options for r in reversed(self.replies) if r.options), ())
        finally:
            self.replies = kept

    def outcome(self) -> Outcome:
        after = Snapshot(self.state, self.person, self.assessment)
        nudge = unfinished(after) is not None and reminders_on(self.state)
        return Outcome(self.state, tuple(self.replies), tuple(self.effects), nudge)


def match_option(text: str, options: tuple[Option, ...]) -> Option | None:
    """Typed text as a choice: its number in the list ("2"), or its words with or without
    accents ("nu" for "Nữ"), or an unambiguous start of them."""
    folded = fold(text)
    if not folded:
        return None
    if folded.isdigit():
        index = int(folded) - 1
        return options[index] if 0 <= index < len(options) else None
    labels = [(fold(o.label), o) for o in options]
    exact = [o for label, o in labels if label == folded]
    if exact:
        return exact[0]
    starts = [o for label, o in labels if label.startswith(folded)]
    if len(starts) == 1 and len(folded) >= 2:
        return starts[0]
    return None
