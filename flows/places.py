"""Provinces and communes after the July 2025 reform (34 provinces, 3,321 communes), from the
official list packaged by vietnam-provinces, with accent-free search ("hoan kiem" finds
Phường Hoàn Kiếm); and the names people still use, those of before the reform (10,040
communes, wards and towns, 696 districts, 63 provinces), each with the 2025 commune(s) or
province it became part of, from flows/old_communes.csv (made from vietnamadminunits by
tools/old_communes.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flows.lang import N_, Lang, Problem
from flows.text import fold, number

_PREFIXES = (
    "thanh pho ",
    "tinh ",
    "phuong ",
    "xa ",
    "dac khu ",
    "thi tran ",
    "thi xa ",
    "huyen ",
    "quan ",
)

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


@dataclass(frozen=True)
class Former:
    """A commune, ward or town of before 1 July 2025, or a district (the level was abolished
    then), by the name people still use, and the 2025 communes it became part of, in the
    province it is in now (the default first where it was split)."""

    name: str  # "Xã Thạch Đài", "Huyện Thạch Hà"
    district: str  # the old district of a commune; "" for a district itself
    province_code: int  # the 2025 province
    communes: tuple[int, ...]
    folded: str
    short: str

    @property
    def is_district(self) -> bool:
        return not self.district


@dataclass(frozen=True)
class FormerProvince:
    """A province of before 1 July 2025 that was merged into another, by its old name."""

    name: str
    code: int  # the 2025 province it became part of
    folded: str
    short: str


@dataclass(frozen=True)
class Found:
    """What a typed commune name matches in a province: 2025 communes and old names (each
    best first, with how well it matched: 0 the whole name, 1 its start, 2 the start of
    each word, 3 part of it) and the communes the old names became part of."""

    communes: list[Commune] = field(default_factory=list)
    formers: list[Former] = field(default_factory=list)
    commune_ranks: list[int] = field(default_factory=list)
    former_ranks: list[int] = field(default_factory=list)

    def choices(self) -> list[int]:
        """The 2025 communes to offer, best match first and without repeats: a commune
        named in full, then those an old name typed in full became part of, and so on;
        at the same match, a 2025 name before an old one."""
        ranked: list[tuple[int, int, int, int]] = []
        for n, c in enumerate(self.communes):
            ranked.append((self._rank(self.commune_ranks, n), 0, n, c.code))
        for n, former in enumerate(self.formers):
            for code in former.communes:
                ranked.append((self._rank(self.former_ranks, n), 1, n, code))
        return list(dict.fromkeys(code for *_, code in sorted(ranked)))

    @staticmethod
    def _rank(ranks: list[int], n: int) -> int:
        return ranks[n] if n < len(ranks) else 0


def short_name(name: str) -> str:
    """A place's name without accents, case or its kind ("Phường Hà Huy Tập" → "ha huy
    tap"), as the search compares names."""
    return _short(fold(name))


def is_exact(text: str, place: Province | Commune | Former | FormerProvince) -> bool:
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


P = TypeVar("P", Province, Commune, FormerProvince)


def _ranked(query: str, places: Iterable[P]) -> list[tuple[int, P]]:
    """The places whose name matches `query` (folded) with how well, best first and by
    name; places of the same rank and name stay in their order."""
    found = [(r, p) for p in places if (r := _rank(query, p.folded, p.short)) is not None]
    return sorted(found, key=lambda rp: (rp[0], rp[1].short))


class Gazetteer:
    """The list of provinces and communes, searchable without accents."""

    def __init__(
        self,
        provinces: list[Province],
        communes: list[Commune],
        formers: Iterable[Former] = (),
        former_provinces: Iterable[FormerProvince] = (),
    ) -> None:
        self.provinces = tuple(sorted(provinces, key=lambda p: p.code))
        self._province = {p.code: p for p in self.provinces}
        self._commune = {c.code: c for c in communes}
        self._by_province: dict[int, list[Commune]] = {}
        for commune in communes:
            self._by_province.setdefault(commune.province_code, []).append(commune)
        self._formers: dict[int, list[Former]] = {}
        for former in formers:
            self._formers.setdefault(former.province_code, []).append(former)
        names = {p.short for p in self.provinces}
        self.former_provinces = tuple(p for p in former_provinces if p.short not in names)

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
        return [p for _, p in _ranked(query, self.provinces)]

    def find_former_provinces(self, text: str) -> list[FormerProvince]:
        """Provinces merged into others in 2025 whose old name matches, best first."""
        query = fold(text)
        if not query or _short(query + " x") == "x":  # "tinh" alone
            return []
        return [p for _, p in _ranked(query, self.former_provinces)]

    def search(self, province_code: int, text: str) -> Found:
        """The one search of a commune by name, for every place a commune is named: the
        2025 communes of the province that match and the old names (communes, wards, towns,
        districts; a commune also with its old district: "phuong 1 quan 5") that match,
        best first. Old names are given when they are the whole name typed, or when no
        2025 name matches by its start ("ba" lists communes, not every old name beginning
        with Ba). An old name that is also the name of the 2025 commune it became part of
        is left out: the commune itself is in the list. A kind alone ("xa", "huyen")
        matches nothing."""
        query = fold(text)
        if not query or _short(query + " x") == "x":
            return Found()
        if query.isdigit():
            return Found(self.find_communes(province_code, text))
        communes = _ranked(query, self._by_province.get(province_code, ()))
        best = communes[0][0] if communes else None
        ranked = []
        for former in self._formers.get(province_code, ()):
            r = _rank(query, former.folded, former.short)
            if r is None and former.district:  # "phuong 1 quan 5": with its old district
                district = fold(former.district)
                r = _rank(query, f"{former.folded} {district}", f"{former.short} {district}")
                r = r if r is not None and r <= 1 else None  # the whole name, or its start
            if r is None or (r > 0 and best is not None and best <= 1):
                continue
            if len(former.communes) == 1 and (
                (same := self._commune.get(former.communes[0])) and same.short == former.short
            ):
                continue
            ranked.append((r, former.is_district, former.short, former.district, former))
        ranked.sort(key=lambda x: x[:4])
        return Found(
            [c for _, c in communes],
            [f for *_, f in ranked],
            [r for r, _ in communes],
            [r for r, *_ in ranked],
        )

    def areas_named(self, text: str, partly: bool = True) -> tuple[tuple[Area, ...], ...]:
        """What a place named by an admin can mean, in tiers, best first (an admin takes
        the first tier with a place in their scope): a province by its whole name; the
        communes `search` finds in every province: a 2025 commune or an old commune named
        in full (the one it became part of); an old district named in full (the communes
        it became); partial matches (unless not `partly`)."""
        provinces = [p for p in self.find_provinces(text) if is_exact(text, p)]
        tiers: list[list[Area]] = [[Area(p.code) for p in provinces], [], [], []]
        for province in self.provinces:
            found = self.search(province.code, text)
            for c, r in zip(found.communes, found.commune_ranks, strict=False):
                tiers[1 if r == 0 else 3].append(Area(province.code, c.code))
            for former, r in zip(found.formers, found.former_ranks, strict=False):
                tier = 3 if r > 0 else 2 if former.is_district else 1
                tiers[tier].extend(Area(province.code, code) for code in former.communes)
        if not partly:
            tiers[3] = []
        return tuple(tuple(dict.fromkeys(tier)) for tier in tiers if tier)

    def find_communes(self, province_code: int, text: str) -> list[Commune]:
        """Communes of one province whose name matches, best first."""
        query = fold(text)
        if not query:
            return []
        if query.isdigit():
            found = self._commune.get(number(query, 6) or 0)
            return [found] if found and found.province_code == province_code else []
        return [c for _, c in _ranked(query, self._by_province.get(province_code, ()))]


def gazetteer_from(divisions: Iterable[Mapping[str, Any]]) -> Gazetteer:
    """The gazetteer from the nested divisions of vietnam-provinces (GPL-3.0): provinces,
    each with its "wards" (communes); the shell reads the file (bot.data)."""
    provinces: list[Province] = []
    communes: list[Commune] = []
    for p in divisions:
        # Some names of the list have a double space ("Phường  Buôn Ma Thuột"): shown
        # with one.
        name = " ".join(p["name"].split())
        folded = fold(name)
        provinces.append(Province(int(p["code"]), name, folded, _short(folded)))
        for w in p["wards"]:
            ward = " ".join(w["name"].split())
            wf = fold(ward)
            communes.append(Commune(int(w["code"]), ward, int(p["code"]), wf, _short(wf)))
    return Gazetteer(provinces, communes)


def with_formers(places: Gazetteer, table: str) -> Gazetteer:
    """The gazetteer with the old names of flows/old_communes.csv (its text): communes,
    districts (each with every 2025 commune its communes went to, the most common first)
    and provinces merged into others."""
    lines = (line for line in table.splitlines() if line and not line.startswith("#"))
    formers: list[Former] = []
    districts: dict[tuple[int, str], dict[int, int]] = {}
    old_provinces: dict[str, int] = {}
    for row in csv.DictReader(lines):
        province = int(row["new_province"])
        codes = tuple(int(c) for c in row["new_communes"].split())
        district = row["old_district"]
        if row["old_commune"]:
            folded = fold(row["old_commune"])
            formers.append(
                Former(row["old_commune"], district, province, codes, folded, _short(folded))
            )
        tally = districts.setdefault((province, district), {})
        for code in codes:
            tally[code] = tally.get(code, 0) + 1
        old_provinces.setdefault(row["old_province"], province)
    for (province, district), tally in districts.items():
        codes = tuple(sorted(tally, key=lambda c: -tally[c]))
        folded = fold(district)
        formers.append(Former(district, "", province, codes, folded, _short(folded)))
    former_provinces = []
    for name, code in old_provinces.items():
        folded = fold(name)
        former_provinces.append(FormerProvince(name, code, folded, _short(folded)))
    communes = [c for p in places.provinces for c in places.communes_of(p.code)]
    return Gazetteer(list(places.provinces), communes, formers, former_provinces)


class AreaError(Problem):
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

    def text_vi(self) -> str:
        """The form an admin types in chat: xa:70, tinh:42 (or all)."""
        if self.commune is not None:
            return f"xa:{self.commune}"
        return f"tinh:{self.province}" if self.province is not None else "all"

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
            raise AreaError(
                N_("unknown area “{text}”: write all, province:<code> or commune:<code>"),
                text=text,
            )
        if not (code.isascii() and code.isdigit() and len(code) <= 9):
            raise AreaError(
                N_("“{text}”: the code after the colon is a number, e.g. commune:70"), text=text
            )
        number = int(code)
        if kind in _PROVINCE_WORDS:
            if places.province(number) is None:
                raise AreaError(N_("there is no province with code {number}"), number=number)
            return Area(province=number)
        commune = places.commune(number)
        if commune is None:
            raise AreaError(N_("there is no commune with code {number}"), number=number)
        return Area(province=commune.province_code, commune=number)


_WHOLE = ("", "all", "toanquoc")
_PROVINCE_WORDS = ("province", "tinh")
_COMMUNE_WORDS = ("commune", "xa", "phuong")


def area_named(text: str, places: Gazetteer) -> Area:
    """An area on the command line: as `Area.parse` reads it ("commune:70"), or by the
    name of a commune or province, today's or an old one ("thach dai", "Hà Tĩnh") when it
    means one place. Raises AreaError saying what it can mean, or how to write it."""
    try:
        return Area.parse(text, places)
    except AreaError:
        if ":" in text:
            raise
    tiers = places.areas_named(text, partly=False)  # no guessing on the command line
    if not tiers:
        near = [a for tier in places.areas_named(text) for a in tier][:5]
        maybe = "; ".join(f"{a.name(places, _NO_TRANSLATION)} ({a.text()})" for a in near)
        if maybe:
            raise AreaError(
                N_(
                    "no place called “{text}”: write a commune's or province's name (today's "
                    "or the one before the 2025 merger), all, province:<code> or "
                    "commune:<code>. Names that begin like it: {maybe}"
                ),
                text=text,
                maybe=maybe,
            )
        raise AreaError(
            N_(
                "no place called “{text}”: write a commune's or province's name (today's or "
                "the one before the 2025 merger), all, province:<code> or commune:<code>"
            ),
            text=text,
        )
    if len(tiers[0]) > 1:
        listed = "; ".join(f"{a.name(places, _NO_TRANSLATION)} ({a.text()})" for a in tiers[0][:5])
        if len(tiers[0]) > 5:
            raise AreaError(
                N_("“{text}” can mean {n} places, among them {listed}. Write its code."),
                text=text,
                n=len(tiers[0]),
                listed=listed,
            )
        raise AreaError(
            N_("“{text}” can mean several places: {listed}. Write its code."),
            text=text,
            listed=listed,
        )
    return tiers[0][0]


class _Untranslated:
    def _(self, message: str) -> str:
        return message


_NO_TRANSLATION: Any = _Untranslated()


def parse_area(text: str, places: Gazetteer) -> Area | None:
    """`Area.parse`, or None when the text is not an area (for chat replies)."""
    try:
        return Area.parse(text, places)
    except AreaError:
        return None
