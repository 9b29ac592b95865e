"""Forgiving text handling: people type with or without Vietnamese accents."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, strip accents (đ → d) and punctuation, collapse spaces.

    >>> fold("  Phường Hoàn-Kiếm ")
    'phuong hoan kiem'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = _NOT_WORD.sub(" ", stripped.lower()).replace("_", " ")
    return _SPACES.sub(" ", stripped).strip()


def tidy(text: str) -> str:
    """Normalise Unicode (NFC) and collapse white space, keeping accents and case."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
