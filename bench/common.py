"""Helpers the benchmarks share."""

from __future__ import annotations


def letters(n: int) -> str:
    """A name part from a number (names may not contain digits): 0 → "A", 27 → "Bb"."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word = chr(ord("a") + digit) + word
        if n == 0:
            return word.capitalize()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
