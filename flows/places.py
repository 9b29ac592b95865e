"""Provinces and communes after the July 2025 reform (34 provinces, 3,321 communes), from the
official list packaged by vietnam-provinces, with accent-free search ("hoan kiem" finds
Phường Hoàn Kiếm)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flows.text import fold

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
            found = self._commune.get(int(query))
            return [found] if found and found.province_code == province_code else []
        ranked = [
            (r, c.short, c)
            for c in self._by_province.get(province_code, ())
            if (r := _rank(query, c.folded, c.short)) is not None
        ]
        return [c for _, _, c in sorted(ranked, key=lambda x: (x[0], x[1]))]


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Read the official list shipped by vietnam-provinces (GPL-3.0)."""
    if path is None:
        from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

        path = Path(NESTED_DIVISIONS_JSON_PATH)
    data = json.loads(path.read_text(encoding="utf-8"))
    provinces: list[Province] = []
    communes: list[Commune] = []
    for p in data:
        folded = fold(p["name"])
        provinces.append(Province(int(p["code"]), p["name"], folded, _short(folded)))
        for w in p["wards"]:
            wf = fold(w["name"])
            communes.append(Commune(int(w["code"]), w["name"], int(p["code"]), wf, _short(wf)))
    return Gazetteer(provinces, communes)
