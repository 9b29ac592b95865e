"""The machinery every screen and command shares: one Turn is one step of one conversation.

A screen is a render function (what the person sees) plus handlers for a chosen option,
typed text or a shared contact. Rendering is a pure function of the state and the world:
it never navigates and never changes the state, so the same question can always be asked
again after unexpected input, and the options a person may type or tap are known without
remembering what was sent. A screen that can stop making sense (an admin's rights revoked
while they decide on someone) says so with `valid`, and `on_invalid` leads away from it:
that is checked before any input is handled and whenever the screen is entered.

A command is a function of the turn and its arguments, registered with its name, the other
words people may type for it (Vietnamese, without accents) and, for admins, a line of
help. Screens and commands that read data beyond the conversation declare it with `needs`;
the shell looks it up and hands it in through the `World`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flows.commands import add_words
from flows.lang import Lang
from flows.model import (
    AssessmentView,
    ConversationState,
    Effect,
    Event,
    Needs,
    Option,
    Outcome,
    Profile,
    Reply,
    ReplyKind,
    Snapshot,
    World,
)
from flows.reminders import reminders_on, unfinished
from flows.text import fold, number

NeedsOf = Callable[[Snapshot, Event, World], Needs]


@dataclass(frozen=True)
class Screen:
    render: Callable[[Turn], None]
    on_option: Callable[[Turn, str], None] | None = None
    on_text: Callable[[Turn, str], None] | None = None
    on_contact: Callable[[Turn, str], None] | None = None
    # What the screen reads beyond the conversation, to render or to handle input.
    needs: NeedsOf | None = None
    # Whether it can be shown now; if not, `on_invalid` says why and goes elsewhere.
    valid: Callable[[Turn], bool] | None = None
    on_invalid: Callable[[Turn], None] | None = None


@dataclass(frozen=True)
class Command:
    run: Callable[[Turn, str], None]  # the turn and the command's arguments
    needs: NeedsOf | None = None
    admin: bool = False  # for admins only: anyone else is told so, and nothing is read
    # A line for admins' list of commands (flows.admin.common.admin_help), and where in it.
    help: Callable[[Lang], str] | None = None
    help_rank: int = 50


SCREENS: dict[str, Screen] = {}
COMMAND_HANDLERS: dict[str, Command] = {}


def screen(
    name: str, **handlers: Any
) -> Callable[[Callable[[Turn], None]], Callable[[Turn], None]]:
    """Register a screen: decorate its render function, pass its handlers."""

    def register(render: Callable[[Turn], None]) -> Callable[[Turn], None]:
        if name in SCREENS:
            raise ValueError(f"screen {name!r} is registered twice")
        SCREENS[name] = Screen(render, **handlers)
        return render

    return register


def command(
    name: str,
    *aliases: str,
    needs: NeedsOf | None = None,
    admin: bool = False,
    help: Callable[[Lang], str] | None = None,
    help_rank: int = 50,
) -> Callable[[Callable[[Turn, str], None]], Callable[[Turn, str], None]]:
    """Register the handler of /name, also typed as any of `aliases`."""

    def register(run: Callable[[Turn, str], None]) -> Callable[[Turn, str], None]:
        if name in COMMAND_HANDLERS:
            raise ValueError(f"command {name!r} is registered twice")
        add_words(name, aliases)
        COMMAND_HANDLERS[name] = Command(run, needs, admin, help, help_rank)
        return run

    return register


class Turn:
    """Scratch space for one step: the state being built, replies and effects."""

    def __init__(self, snapshot: Snapshot, world: World, event: Event) -> None:
        self.snapshot, self.world, self.event = snapshot, world, event
        self.state: ConversationState = _copied(snapshot.state)
        self.state.setdefault("lang", world.default_lang)
        self.state.setdefault("prompt", 0)
        self.person: Profile | None = snapshot.person
        self.assessment: AssessmentView | None = snapshot.assessment
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    # --- reading ---

    @property
    def t(self) -> Lang:
        return self.world.langs.get(self.lang) or self.world.langs[self.world.default_lang]

    @property
    def lang(self) -> str:
        return self.state.get("lang") or self.world.default_lang

    @property
    def screen(self) -> str | None:
        return self.state.get("screen")

    @property
    def prompt(self) -> int:
        return int(self.state.get("prompt", 0))

    # --- writing ---

    def say(self, text: str) -> None:
        self.replies.append(Reply("text", text))

    def ask(
        self,
        text: str,
        options: list[Option] | tuple[Option, ...] = (),
        kind: ReplyKind | None = None,
    ) -> None:
        """Show a question; its options carry the current prompt number."""
        self.replies.append(
            Reply(kind or ("options" if options else "text"), text, tuple(options), self.prompt)
        )

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    def go(self, name: str) -> None:
        """Move to a screen and show it. A new prompt number makes earlier buttons stale.
        A screen that cannot be shown now leads elsewhere (its `on_invalid`)."""
        self.state["screen"] = name
        self.state["prompt"] = self.prompt + 1
        if not self.leave_if_invalid():
            SCREENS[name].render(self)

    def show(self) -> None:
        """Show the current screen again (it is valid: checked when entered, and before
        each input)."""
        if self.screen in SCREENS and not self.leave_if_invalid():
            SCREENS[self.screen].render(self)

    def again(self, why: str, kind: ReplyKind = "notice") -> None:
        """Explain why the input was not taken, then ask the same question again (same
        prompt: its buttons still work). kind="text" for a message that is not a refusal."""
        self.replies.append(Reply(kind, why))
        self.show()

    def leave_if_invalid(self) -> bool:
        """If the current screen cannot be shown now, go where its `on_invalid` leads (it
        says why) and return True."""
        current = SCREENS.get(self.screen or "")
        if current is None or current.valid is None or current.valid(self):
            return False
        if current.on_invalid is None:  # pragma: no cover - registered together
            raise TypeError(f"screen {self.screen!r} has `valid` but no `on_invalid`")
        current.on_invalid(self)
        return True

    def current_options(self) -> tuple[Option, ...]:
        """The options of the current screen, found by rendering it on a copy of the turn:
        whatever rendering does, this turn is left as it was."""
        if self.screen not in SCREENS:
            return ()
        scratch = Turn.__new__(Turn)  # this turn's fields, with its own state and lists
        scratch.__dict__.update(self.__dict__, state=_copied(self.state), replies=[], effects=[])
        SCREENS[self.screen].render(scratch)
        return next((r.options for r in reversed(scratch.replies) if r.options), ())

    def outcome(self) -> Outcome:
        after = Snapshot(self.state, self.person, self.assessment)
        nudge = unfinished(after) is not None and reminders_on(self.state)
        return Outcome(self.state, tuple(self.replies), tuple(self.effects), nudge)


def _copied(value: Any) -> Any:
    """A deep copy of JSON-shaped data (the state is saved as JSON): a few times faster
    than `copy.deepcopy`, which it replaces on every step."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind is tuple:
        return tuple(_copied(item) for item in value)
    return value  # str, int, float, bool, None: not changed in place


def match_option(text: str, options: tuple[Option, ...]) -> Option | None:
    """Typed text as a choice: its number in the list ("2"), or its words with or without
    accents ("nu" for "Nữ"), or an unambiguous start of them."""
    folded = fold(text)
    if not folded:
        return None
    if folded.isdigit():
        index = (number(folded, 3) or 0) - 1
        return options[index] if 0 <= index < len(options) else None
    labels = [(fold(o.label), o) for o in options]
    exact = [o for label, o in labels if label == folded]
    if exact:
        return exact[0]
    starts = [o for label, o in labels if label.startswith(folded)]
    if len(starts) == 1 and len(folded) >= 2:
        return starts[0]
    return None
