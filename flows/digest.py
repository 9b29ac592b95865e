"""The admins' digest (bản tin tổng hợp): counts for an area, in words and as chart data.

Storage counts people per commune and group (`Line`s); everything else here is arithmetic
on those lines and pure formatting, so the daily message, /stats, `cdht digest` and the
Excel export show the same numbers.

Rates: the pass rate is the share of submitted self-assessments that reach the title (by
the scoring module's verdict, stored with the assessment); a commune's progress is the
share of its registered people who have submitted. Targets follow QĐ 677/QĐ-TTg (by 2025:
40% of adults and 60% of officials hold the title); an admin can set a commune's
population and its own targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple, TypeVar

from flows.criteria import CriteriaSet, pick
from flows.lang import Lang
from flows.places import Area, Gazetteer

# QĐ 677/QĐ-TTg (03/06/2022), targets for 2025: the share that should hold the title.
TARGETS = {"adults": 40, "officials": 60}
# QĐ 387/QĐ-TTg (25/03/2022), for 2025: the share of households recognised as learning
# families (Gia đình học tập). QĐ 677's 40% of adults covers the adults in them.
FAMILY_TARGET = 70
OFFICIALS_GROUP = "3"  # cán bộ, công chức, viên chức: counted against the officials target
K = TypeVar("K")
RANKED = 5  # communes listed with the most and the least progress
_COMMUNE = attrgetter("commune")
CHART_BARS = 30  # at most this many bars (the areas with the most people registered)


class Counts(NamedTuple):
    """A tuple (cheap to make by the ten thousand: a national digest has a line per
    commune and group), added field by field."""

    registered: int = 0
    new: int = 0  # registered in the digest's period (yesterday, or last month)
    in_progress: int = 0
    submitted: int = 0
    reached: int = 0  # submitted and the title reached by self-score
    recognised: int = 0  # the title recognised by the commune
    paper: int = 0  # of the registered, entered from paper forms by commune staff

    def __add__(self, other: tuple[int, ...]) -> Counts:  # type: ignore[override]
        return Counts(*(a + b for a, b in zip(self, other, strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(self)

    @property
    def pass_rate(self) -> float | None:
        return self.reached / self.submitted if self.submitted else None

    @property
    def progress(self) -> float | None:
        return self.submitted / self.registered if self.registered else None


class Line(NamedTuple):
    """The counts of one group in one commune."""

    province: int
    commune: int
    group: str
    counts: Counts


@dataclass(frozen=True)
class Target:
    """A commune's population (adults, officials) and targets in percent; None: not set
    (population) or the national target (percent)."""

    commune: int
    adults: int | None = None
    officials: int | None = None
    adults_pct: int | None = None
    officials_pct: int | None = None
    households: int | None = None  # for the learning families' target

    def pct(self, kind: str) -> int:
        own = self.adults_pct if kind == "adults" else self.officials_pct
        return TARGETS[kind] if own is None else own


@dataclass(frozen=True)
class TargetProgress:
    kind: str  # adults | officials
    population: int  # in the communes whose population is set
    target: int  # people who should hold the title
    reached: int  # ... of whom: title reached by self-score
    recognised: int
    communes: int  # communes whose population is set


@dataclass(frozen=True)
class UnitTally:
    """The learning units of an area and their self-assessments of `year` (the year
    before until the end of March: flows.unit_assessment.unit_year)."""

    year: int
    registered: int = 0  # units with a focal point
    in_progress: int = 0
    submitted: int = 0  # submitted and not returned (recognised ones included)
    reached: int = 0  # ... whose grade or verdict reaches what the criteria ask
    recognised: int = 0


class FamilyLine(NamedTuple):
    """The learning families of one commune: registered, and where their self-assessments
    of the campaign year stand; the adults in them (as their heads said) and the members
    among them who hold or reached the Learning Citizen title. (A tuple: a national
    digest has one per commune.)"""

    province: int
    commune: int
    registered: int = 0
    in_progress: int = 0
    submitted: int = 0
    reached: int = 0
    adults: int = 0
    titled: int = 0


@dataclass(frozen=True)
class FamilyTally:
    """The learning families of an area, commune by commune, and their sums."""

    year: int
    lines: tuple[FamilyLine, ...] = ()

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    @property
    def registered(self) -> int:
        return self.total("registered")


@dataclass(frozen=True)
class Summary:
    """What the digest's words and chart need, summed already (a national digest reads
    this, not ten thousand lines): per commune, per group, each commune's province, and
    per commune its officials (OFFICIALS_GROUP)."""

    communes: Mapping[int, Counts]
    groups: Mapping[str, Counts]
    provinces: Mapping[int, int]
    officials: Mapping[int, Counts]


@dataclass(frozen=True)
class Digest:
    """`lines` per commune and group (what the exports list), or only their `summary`
    (what the words and the chart need): one of the two."""

    area: Area
    day: date  # the day it is for (Vietnam time); the period ends at its start
    year: int  # the campaign year counted
    lines: tuple[Line, ...]
    targets: tuple[Target, ...] = ()
    monthly: bool = False  # "new" counts the past month instead of yesterday
    units: UnitTally | None = None
    families: FamilyTally | None = None
    summary: Summary | None = None

    @property
    def period(self) -> tuple[date, date]:
        """The days whose registrations count as new: [start, end)."""
        if not self.monthly:
            return self.day - timedelta(days=1), self.day
        end = self.day.replace(day=1)
        return (end - timedelta(days=1)).replace(day=1), end

    @cached_property
    def _sums(
        self,
    ) -> tuple[Mapping[int, Counts], Mapping[str, Counts], Mapping[int, int], Mapping[int, Counts]]:
        """The summary, or one pass over the lines: per commune, per group, each commune's
        province, and per commune its officials (OFFICIALS_GROUP)."""
        if self.summary is not None:
            s = self.summary
            return s.communes, s.groups, s.provinces, s.officials
        communes: dict[int, Counts] = {}
        officials: dict[int, Counts] = {}
        provinces: dict[int, int] = {}
        # Sorted by commune (storage gives them so: then this takes no time), summed run
        # by run, column by column: a tenth of the time of adding line by line.
        ordered = sorted(self.lines, key=_COMMUNE)
        for commune, run in groupby(ordered, key=_COMMUNE):
            same = list(run)
            provinces[commune] = same[0].province
            if len(same) == 1:
                communes[commune] = same[0].counts
            else:
                communes[commune] = Counts(*map(sum, zip(*(x.counts for x in same), strict=True)))
            of = [x.counts for x in same if x.group == OFFICIALS_GROUP]
            if of:
                officials[commune] = (
                    of[0] if len(of) == 1 else Counts(*map(sum, zip(*of, strict=True)))
                )
        groups = {
            group: Counts(
                *map(sum, zip(*(x.counts for x in ordered if x.group == group), strict=True))
            )
            for group in sorted({x.group for x in ordered})
        }
        return communes, groups, provinces, officials

    def total(self) -> Counts:
        return _sum_by((0, c) for c in self._sums[1].values()).get(0, Counts())

    def by_group(self) -> dict[str, Counts]:
        return dict(self._sums[1])

    def by_commune(self) -> dict[int, Counts]:
        return dict(self._sums[0])

    def by_province(self) -> dict[int, Counts]:
        province = self._sums[2]
        return _sum_by((province[c], n) for c, n in self._sums[0].items())

    def ranking(self) -> tuple[list[tuple[int, Counts]], list[tuple[int, Counts]]]:
        """The communes with the most and the least progress (among those where someone
        registered); the lists do not overlap."""
        communes = [(c, n) for c, n in self.by_commune().items() if n.registered]
        communes.sort(key=lambda cn: (-(cn[1].progress or 0), -cn[1].registered, cn[0]))
        top = communes[:RANKED]
        rest = communes[len(top) :]
        bottom = sorted(rest, key=lambda cn: (cn[1].progress or 0, cn[1].registered, cn[0]))
        return top, bottom[:RANKED]

    def target_progress(self) -> list[TargetProgress]:
        """Progress against the targets, counting the communes whose population is set."""
        by_commune, _, _, officials = self._sums
        title: dict[tuple[int, bool], tuple[int, int]] = {}  # (commune, officials) → ...
        for commune, counts in by_commune.items():  # ... reached, recognised
            of = officials.get(commune, Counts())
            title[(commune, True)] = (of.reached, of.recognised)
            title[(commune, False)] = (
                counts.reached - of.reached,
                counts.recognised - of.recognised,
            )
        result = []
        for kind in ("adults", "officials"):
            population = target = reached = recognised = communes = 0
            for t in self.targets:
                size = t.adults if kind == "adults" else t.officials
                if not size:
                    continue
                communes += 1
                population += size
                target += round(size * t.pct(kind) / 100)
                got = title.get((t.commune, kind == "officials"), (0, 0))
                reached += got[0]
                recognised += got[1]
            result.append(TargetProgress(kind, population, target, reached, recognised, communes))
        return result

    def family_progress(self) -> tuple[int, int, int, int]:
        """Learning families against QĐ 387's share of households, in the communes whose
        households are set: (communes, households, target, families reaching the criteria)."""
        lines = self.families.lines if self.families else ()
        reached = {line.commune: line.reached for line in lines}
        communes = households = target = got = 0
        for t in self.targets:
            if not t.households:
                continue
            communes += 1
            households += t.households
            target += round(t.households * FAMILY_TARGET / 100)
            got += reached.get(t.commune, 0)
        return communes, households, target, got


def _sum_by(pairs: Iterable[tuple[K, Counts]]) -> dict[K, Counts]:
    sums: dict[K, list[int]] = {}
    for key, counts in pairs:
        values = counts.as_tuple()
        if key in sums:
            total = sums[key]
            for i, value in enumerate(values):
                total[i] += value
        else:
            sums[key] = list(values)
    return {key: Counts(*values) for key, values in sums.items()}


def _pct(t: Lang, part: int, whole: int) -> str:
    return t.percent(part / whole) if whole else "–"


def area_label(kind: str, code: int, places: Gazetteer) -> str:
    """A commune or province by name (its code if the list does not know it)."""
    place = places.commune(code) if kind == "commune" else places.province(code)
    return place.name if place else str(code)


def group_label(code: str, criteria: CriteriaSet, t: Lang) -> str:
    group = criteria.group(code)
    return pick(group.name, t.code) if group else code


def digest_text(
    d: Digest, places: Gazetteer, criteria: CriteriaSet, t: Lang, cli: bool = False
) -> str:
    """The digest as one message, numbers and dates in the reader's language; `cli`: for
    the command line (`cdht digest`), whose reader sets targets with `cdht target`."""
    total = d.total()
    start, _ = d.period
    if d.monthly:
        heading = t._("📊 Learning Citizens, month {month} — {area}").format(
            month=start.strftime("%m/%Y"), area=d.area.name(places, t)
        )
        new = t._("{n} new in the month").format(n=t.number(total.new))
    else:
        heading = t._("📊 Learning Citizens, {date} — {area}").format(
            date=t.date(d.day), area=d.area.name(places, t)
        )
        new = t._("{n} new yesterday").format(n=t.number(total.new))
    lines = [
        heading,
        t._("Registered: {n} ({new})").format(n=t.number(total.registered), new=new),
        *(
            [t._("of them from paper forms entered by staff: {n}").format(n=t.number(total.paper))]
            if total.paper
            else []
        ),
        t._("Self-scoring in progress: {n}").format(n=t.number(total.in_progress)),
        t._("Submitted ({year}): {n} ({rate} of those registered)").format(
            year=d.year,
            n=t.number(total.submitted),
            rate=_pct(t, total.submitted, total.registered),
        ),
        t._("Title reached by self-score: {n} (pass rate {rate})").format(
            n=t.number(total.reached), rate=_pct(t, total.reached, total.submitted)
        ),
        t._("Title recognised by the commune: {n}").format(n=t.number(total.recognised)),
        "",
        t._("By group (registered / submitted / reached / recognised):"),
    ]
    groups = d.by_group()
    for group in criteria.groups:
        c = groups.get(group.code, Counts())
        lines.append(
            f"• {pick(group.name, t.code)}: {t.number(c.registered)} / {t.number(c.submitted)}"
            f" / {t.number(c.reached)} / {t.number(c.recognised)}"
        )
    if d.area.kind != "commune":
        lines += _ranking_lines(d, places, t)
    lines += _target_lines(d, t, cli)
    lines += _unit_lines(d.units, t)
    lines += _family_lines(d, t, cli)
    return "\n".join(lines)


def _family_lines(d: Digest, t: Lang, cli: bool = False) -> list[str]:
    f = d.families
    if f is None or not f.registered:
        return []
    titled, adults = f.total("titled"), f.total("adults")
    lines = [
        "",
        t._(
            "Learning families ({year}): {n} registered, {progress} self-assessing, "
            "{submitted} self-assessed, {reached} of them meeting the criteria."
        ).format(
            year=f.year,
            n=t.number(f.registered),
            progress=t.number(f.total("in_progress")),
            submitted=t.number(f.total("submitted")),
            reached=t.number(f.total("reached")),
        ),
        t._(
            "• Adults in them who reached the Learning Citizen title: {titled} of {adults} "
            "({rate}); target {pct}% (QĐ 677/QĐ-TTg)"
        ).format(
            titled=t.number(titled),
            adults=t.number(adults),
            rate=_pct(t, titled, adults),
            pct=TARGETS["adults"],
        ),
    ]
    communes, households, target, reached = d.family_progress()
    if communes:
        lines.append(
            t._(
                "• Families meeting the criteria by self-assessment: {reached} of {households} "
                "households ({rate}); target {pct}% = {target} recognised (QĐ 387/QĐ-TTg)"
            ).format(
                reached=t.number(reached),
                households=t.number(households),
                rate=_pct(t, reached, households),
                pct=FAMILY_TARGET,
                target=t.number(target),
            )
        )
    elif cli:
        lines.append(
            t._(
                "• Target {pct}% of households (QĐ 387/QĐ-TTg): set the households with cdht "
                "target --commune CODE --households N."
            ).format(pct=FAMILY_TARGET)
        )
    else:
        lines.append(
            t._(
                "• Target {pct}% of households (QĐ 387/QĐ-TTg): set the households with "
                "/target households N."
            ).format(pct=FAMILY_TARGET)
        )
    return lines


def _unit_lines(u: UnitTally | None, t: Lang) -> list[str]:
    if u is None or not u.registered:
        return []
    return [
        "",
        t._(
            "Learning units ({year}): {n} registered, {progress} in progress, {submitted} "
            "submitted, {reached} reaching the criteria, {recognised} recognised."
        ).format(
            year=u.year,
            n=t.number(u.registered),
            progress=t.number(u.in_progress),
            submitted=t.number(u.submitted),
            reached=t.number(u.reached),
            recognised=t.number(u.recognised),
        ),
    ]


def _ranking_lines(d: Digest, places: Gazetteer, t: Lang) -> list[str]:
    top, bottom = d.ranking()
    if not top:
        return ["", t._("No one has registered yet.")]

    def row(n: int, commune: int, c: Counts) -> str:
        return t._("{n}. {commune}: {rate} ({submitted}/{registered} submitted)").format(
            n=n,
            commune=area_label("commune", commune, places),
            rate=_pct(t, c.submitted, c.registered),
            submitted=t.number(c.submitted),
            registered=t.number(c.registered),
        )

    lines = ["", t._("Most progress:")]
    lines += [row(n, commune, c) for n, (commune, c) in enumerate(top, start=1)]
    if bottom:
        lines += [t._("Least progress:")]
        lines += [row(n, commune, c) for n, (commune, c) in enumerate(bottom, start=1)]
    in_area = (
        len(places.communes_of(d.area.province))
        if d.area.province is not None
        else places.commune_count
    )
    idle = in_area - sum(1 for c in d.by_commune().values() if c.registered)
    if idle > 0:
        lines.append(t._("No one registered yet in {n} communes.").format(n=t.number(idle)))
    return lines


def _target_lines(d: Digest, t: Lang, cli: bool = False) -> list[str]:
    progress = d.target_progress()
    lines = [
        "",
        t._("Targets (QĐ 677/QĐ-TTg: {adults}% of adults, {officials}% of officials):").format(
            **TARGETS
        ),
    ]
    if not any(p.communes for p in progress):
        lines.append(
            t._(
                "No population figures yet: set them with cdht target --commune CODE "
                "--adults N --officials N."
            )
            if cli
            else t._("No population figures yet: set them with /target.")
        )
        return lines
    for p in progress:
        if not p.communes:
            continue
        label = t._("Adults") if p.kind == "adults" else t._("Officials")
        lines.append(
            t._(
                "• {label}: {reached} by self-score ({rate}), {recognised} recognised, of "
                "{population}; target {target}"
            ).format(
                label=label,
                reached=t.number(p.reached),
                rate=_pct(t, p.reached, p.population),
                recognised=t.number(p.recognised),
                population=t.number(p.population),
                target=t.number(p.target),
            )
        )
    return lines


@dataclass(frozen=True)
class ChartData:
    """A bar chart: per label, people registered, submitted, with the title reached and
    recognised; the target (people who should hold the title) where one is set; a caption
    (the areas where nobody registered yet)."""

    title: str
    labels: tuple[str, ...]
    series: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    targets: tuple[int | None, ...] = ()
    caption: str = ""


def _adults_target(target: Target) -> int | None:
    return round(target.adults * target.pct("adults") / 100) if target.adults else None


def chart_data(d: Digest, places: Gazetteer, criteria: CriteriaSet, t: Lang) -> ChartData:
    """By group for a commune; for a province (by commune) and the whole deployment (by
    province), the areas that need chasing first: those where someone registered, the
    lowest by the title reached against the target (or by submissions where no target is
    set), at most CHART_BARS; the caption counts the areas where nobody registered."""
    caption = ""
    targets: list[int | None] = []
    if d.area.kind == "commune":
        counts = d.by_group()
        items = [
            (group_label(g.code, criteria, t), counts.get(g.code, Counts()))
            for g in criteria.groups
        ]
    else:
        kind = "province" if d.area.kind == "all" else "commune"
        by_area = d.by_province() if kind == "province" else d.by_commune()
        goal: dict[int, int] = {}
        for target in d.targets:
            if (adults := _adults_target(target)) is None:
                continue
            commune = places.commune(target.commune)
            key = target.commune if kind == "commune" else commune.province_code if commune else 0
            goal[key] = goal.get(key, 0) + adults

        def rate(code: int, c: Counts) -> float:
            if goal.get(code):
                return c.reached / goal[code]
            return c.submitted / c.registered if c.registered else 0.0

        active = [(code, c) for code, c in by_area.items() if c.registered]
        ranked = sorted(active, key=lambda kc: (rate(*kc), -kc[1].registered, kc[0]))
        items = [(area_label(kind, code, places), c) for code, c in ranked[:CHART_BARS]]
        targets = [goal.get(code) for code, _ in ranked[:CHART_BARS]]
        every = (
            len(places.provinces)
            if kind == "province"
            else len(places.communes_of(d.area.province or 0))
        )
        idle = every - len(active)
        if idle > 0:
            caption = (
                t._("{n} of {total} provinces have nobody registered yet.")
                if kind == "province"
                else t._("{n} of {total} communes have nobody registered yet.")
            ).format(n=t.number(idle), total=t.number(every))
        if len(active) > 1:
            caption = " ".join(filter(None, [t._("Lowest progress first."), caption]))
    return ChartData(
        title=t._("Progress {year} — {area}, {date}").format(
            year=d.year, area=d.area.name(places, t), date=t.date(d.day)
        ),
        labels=tuple(label for label, _ in items),
        series={
            t._("Registered"): tuple(c.registered for _, c in items),
            t._("Submitted"): tuple(c.submitted for _, c in items),
            t._("Title reached"): tuple(c.reached for _, c in items),
            t._("Recognised"): tuple(c.recognised for _, c in items),
        },
        targets=tuple(targets),
        caption=caption,
    )
