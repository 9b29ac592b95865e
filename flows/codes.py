"""Codes that give someone a role (an admin's single-use code, the code focal points of
units register with): how they are read, when one may be used, and the limit on wrong
attempts. Codes are long (bot.codes makes them: 12 characters, 60 bits) and wrong attempts
are limited per account and overall, so guessing one is hopeless; an unknown code and a
used or expired one get the same answer, so trying tells nothing.

A learning family's code (flows.family) is shorter, 8 characters (40 bits: a household's
members type it), and only lets someone join the family; its wrong guesses have their own
overall limit (storage counts them by kind), so they never hold up an admin's code."""

from __future__ import annotations

from datetime import timedelta

from flows.model import CodeAttempts, InviteView, Role, World

MAX_LENGTH = 16  # characters kept of what is typed (codes have 12)
ATTEMPTS_WINDOW = timedelta(hours=1)
ATTEMPTS_PER_ACCOUNT = 5  # wrong codes an account may try in the window
# ... and everyone together: enough for a province's busy hour, and at that rate guessing a
# 12-character code would take longer than anyone lives. (A flood of wrong codes can hold
# every code up for the rest of the hour: the price of the ceiling.)
ATTEMPTS_OVERALL = 1000


def normalise_code(text: str) -> str:
    """Codes are read forgivingly: any case, with or without spaces and dashes."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())[:MAX_LENGTH]


def shown(code: str) -> str:
    """A code as printed for people, in groups of four: K7QX-M2PA-R9TD (typed with or
    without the dashes)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def blocked(attempts: CodeAttempts) -> bool:
    """Too many wrong codes were tried lately: no code is looked at until the hour is up."""
    return attempts.mine >= ATTEMPTS_PER_ACCOUNT or attempts.overall >= ATTEMPTS_OVERALL


def usable(invite: InviteView | None, code: str, role: Role, world: World) -> InviteView | None:
    """The invite if `code` names one for `role` that can be used now, else None (unknown,
    for another role, revoked, expired, or a single-use code used already)."""
    if invite is None or invite.code != code or invite.role != role:
        return None
    if invite.revoked or invite.expires_at <= world.now:
        return None
    if role == "admin" and invite.uses:
        return None
    return invite
