"""Provinces and communes after the July 2025 reform (34 provinces, 3,321 communes), from the
official list packaged by vietnam-provinces, with accent-free search ("hoan kiem" finds
Phường Hoàn Kiếm)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.lang import Lang
from flows.text import fold, number

_PREFIXES = ("thanh pho ", "tinh ", "phuong ", "xa ", "dac khu ", "thi tran ")

# Names people commonly type that are not in the official list.
_PROVINCE_ALIASES = {
    "hcm": "thanh pho ho chi minh",
    "tphcm": "thanh pho ho chi minh",
    "tp hcm": "thanh pho ho chi minh",
    "sai gon": "thanh pho ho chi minh",
    "saigon": "thanh pho ho chi minh",
    "hn": "thanh pho ha noi",
}


def _short(folded: str) -> str:
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


@dataclass(frozen=True)
class Province:
    code: int
    name: str
    folded: str
    short: str


@dataclass(frozen=True)
class Commune:
    """Xã, phường or đặc khu: the lowest administrative unit since 1 July 2025."""

    code: int
    name: str
    province_code: int
    folded: str
    short: str


def is_exact(text: str, place: Province | Commune) -> bool:
    """Whether typed text is the place's whole name (with or without "xã", "phường"…),
    ignoring accents and case: then it means that place even if others also match."""
    query = fold(text)
    query = _PROVINCE_ALIASES.get(query, query) if isinstance(place, Province) else query
    return query in (place.short, place.folded)


def _rank(query: str, folded: str, short: str) -> int | None:
    """Lower is better; None when the name does not match at all."""
    if query in (short, folded):
        return 0
    if short.startswith(query) or folded.startswith(query):
        return 1
    words = short.split()
    if all(any(w.startswith(part) for w in words) for part in query.split()):
        return 2
    if query in short:
        return 3
    return None


class Gazetteer:
    """The list of provinces and communes, searchable without accents."""

    def __init__(self, provinces: list[Province], communes: list[Commune]) -> None:
        self.provinces = tuple(sorted(provinces, key=lambda p: p.code))
        self._province = {p.code: p for p in self.provinces}
        self._commune = {c.code: c for c in communes}
        self._by_province: dict[int, list[Commune]] = {}
        for commune in communes:
            self._by_province.setdefault(commune.province_code, []).append(commune)

    def province(self, code: int | None) -> Province | None:
        return self._province.get(code) if code is not None else None

    def commune(self, code: int | None) -> Commune | None:
        return self._commune.get(code) if code is not None else None

    def communes_of(self, province_code: int) -> tuple[Commune, ...]:
        return tuple(self._by_province.get(province_code, ()))

    @property
    def commune_count(self) -> int:
        return len(self._commune)

    def find_provinces(self, text: str) -> list[Province]:
        query = fold(text)
        query = _PROVINCE_ALIASES.get(query, query)
        if not query:
            return []
        ranked = [
            (r, p.short, p)
            for p in self.provinces
            if (r := _rank(query, p.folded, p.short)) is not None
        ]
        return [p for _, _, p in sorted(ranked, key=lambda x: (x[0], x[1]))]

    def find_communes(self, province_code: int, text: str) -> list[Commune]:
        """Communes of one province whose name matches, best first."""
        query = fold(text)
        if not query:
            return []
        if query.isdigit():
            found = self._commune.get(number(query, 6) or 0)
            return [found] if found and found.province_code == province_code else []
        ranked = [
            (r, c.short, c)
            for c in self._by_province.get(province_code, ())
            if (r := _rank(query, c.folded, c.short)) is not None
        ]
        return [c for _, _, c in sorted(ranked, key=lambda x: (x[0], x[1]))]


def gazetteer_from(divisions: Iterable[Mapping[str, Any]]) -> Gazetteer:
    """The gazetteer from the nested divisions of vietnam-provinces (GPL-3.0): provinces,
    each with its "wards" (communes); the shell reads the file (bot.data)."""
    provinces: list[Province] = []
    communes: list[Commune] = []
    for p in divisions:
        folded = fold(p["name"])
        provinces.append(Province(int(p["code"]), p["name"], folded, _short(folded)))
        for w in p["wards"]:
            wf = fold(w["name"])
            communes.append(Commune(int(w["code"]), w["name"], int(p["code"]), wf, _short(wf)))
    return Gazetteer(provinces, communes)


class AreaError(ValueError):
    """An area written wrongly; the message says how to write it."""


@dataclass(frozen=True)
class Area:
    """The whole deployment (both None), a province, or a commune (with its province)."""

    province: int | None = None
    commune: int | None = None

    @property
    def kind(self) -> str:
        return "commune" if self.commune else "province" if self.province else "all"

    def contains(self, other: Area) -> bool:
        """Whether `other` lies inside this area (an area contains itself)."""
        if self.commune is not None:
            return other.commune == self.commune
        if self.province is not None:
            return other.province == self.province
        return True

    def text(self) -> str:
        """The form the CLI reads: all, province:42, commune:70."""
        if self.commune is not None:
            return f"commune:{self.commune}"
        return f"province:{self.province}" if self.province is not None else "all"

    def name(self, places: Gazetteer, t: Lang) -> str:
        if self.commune is not None:
            commune = places.commune(self.commune)
            province = places.province(self.province)
            if commune and province:
                return f"{commune.name}, {province.name}"
        if self.province is not None and (province := places.province(self.province)):
            return province.name
        return t._("the whole deployment")

    @staticmethod
    def parse(text: str, places: Gazetteer) -> Area:
        """The one way an area is written, on the command line and in chat: "all" (or
        "toanquoc"), "province:42" (or "tinh:42"), "commune:70" (or "xa:70", "phuong:70"),
        codes of the 2025 list, any case, with or without accents. Raises AreaError."""
        kind, colon, code = text.strip().partition(":")
        kind = fold(kind).replace(" ", "")
        code = code.strip()
        if kind in _WHOLE and not code and not (colon and not kind):
            return Area()
        if kind not in _PROVINCE_WORDS + _COMMUNE_WORDS or not colon:
            raise AreaError(f"unknown area {text!r}: write all, province:<code> or commune:<code>")
        if not (code.isascii() and code.isdigit() and len(code) <= 9):
            raise AreaError(f"{text!r}: the code after the colon is a number, e.g. commune:70")
        number = int(code)
        if kind in _PROVINCE_WORDS:
            if places.province(number) is None:
                raise AreaError(f"there is no province with code {number}")
            return Area(province=number)
        commune = places.commune(number)
        if commune is None:
            raise AreaError(f"there is no commune with code {number}")
        return Area(province=commune.province_code, commune=number)


_WHOLE = ("", "all", "toanquoc")
_PROVINCE_WORDS = ("province", "tinh")
_COMMUNE_WORDS = ("commune", "xa", "phuong")


def parse_area(text: str, places: Gazetteer) -> Area | None:
    """`Area.parse`, or None when the text is not an area (for chat replies)."""
    try:
        return Area.parse(text, places)
    except AreaError:
        return None
