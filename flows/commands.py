"""The words people type for each command: "/thongke" is `stats`. Filled as the modules of
`flows` register their commands (`flows.turn.command(name, aliases=...)`); importing
`flows` imports them all, so the table is complete whenever an event is read."""

from __future__ import annotations

WORDS: dict[str, str] = {}  # what may be typed after "/" → the command's name


def add_words(name: str, aliases: tuple[str, ...]) -> None:
    for word in (name, *aliases):
        if WORDS.setdefault(word, name) != name:
            raise ValueError(f"/{word} is taken by /{WORDS[word]}")


def command_named(word: str) -> str | None:
    """The command a typed word names (any case), if any."""
    return WORDS.get(word.lower())
