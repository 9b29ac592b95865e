"""Forgiving text handling: people type with or without Vietnamese accents, and what they
type is cleaned at the edge (`clean`) before anything reads or stores it."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)


# Kept from the control characters: line breaks and tabs (read as spaces where it matters).
_KEPT_CONTROLS = frozenset("\n\t")
# Unicode categories dropped from typed text: controls (NUL...), format characters (bidi
# overrides, zero-width spaces and joiners, the BOM, soft hyphens), surrogates, private use
# and unassigned code points. None of them belongs in a name or an answer; some break the
# database (NUL in PostgreSQL's JSON) or change how a name reads on screen (bidi).
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean(text: str) -> str:
    r"""Typed text as the bot keeps it: NFC, without invisible and control characters.

    >>> clean("Ng\u200buy\u202eễn\x00 An")
    'Nguyễn An'
    """
    composed = unicodedata.normalize("NFC", text)
    if composed.isprintable():  # the usual case: no character of _DROPPED's categories
        return composed
    return "".join(
        ch for ch in composed if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _DROPPED
    )


def number(text: str, max_digits: int) -> int | None:
    """Typed digits as a number: "1984", "１９８４" and "¹⁹⁸⁴" alike (see `fold`); None for
    anything else, or more than `max_digits` digits."""
    digits = fold(text).replace(" ", "")
    if digits.isascii() and digits.isdigit() and len(digits) <= max_digits:
        return int(digits)
    return None


def fold(text: str) -> str:
    """Lower-case, strip accents (đ → d) and punctuation, collapse spaces. Compatibility
    forms are read as what they look like (fullwidth and superscript digits as digits).

    >>> fold("  Phường Hoàn-Kiếm ")
    'phuong hoan kiem'
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = (
        decomposed  # no marks to strip in plain ASCII (most taps and numbers)
        if decomposed.isascii()
        else "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )
    stripped = _NOT_WORD.sub(" ", stripped.lower()).replace("_", " ")
    return _SPACES.sub(" ", stripped).strip()


def tidy(text: str) -> str:
    """`clean`, with white space collapsed; accents and case are kept."""
    return _SPACES.sub(" ", clean(text)).strip()
