"""Random codes the bot hands out (an admin's invite, the code focal points of units
register with): randomness belongs to the shell, like the clock. Codes avoid letters and
digits that are confused when read aloud and typed again (0/O, 1/I). Twelve of 32
characters are 60 bits: with wrong attempts limited (flows.codes), guessing is hopeless.
They are shown in groups of four (flows.codes.shown)."""

from __future__ import annotations

import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
