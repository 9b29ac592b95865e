"""Criteria sets as data (bộ tiêu chí): competencies, indicators, per-group questions and
thresholds, parsed from YAML and validated with messages that say where, what and how to fix.

A province can replace the wording of every question by editing the YAML file; the shell
reads the file (bot.data.load_criteria) and this module checks it before the bot uses it,
so a mistake never reaches a citizen. The files shipped with the bot sit beside this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from flows.text import fold

DEFAULT_SET = "cdht-2023"  # the name of a file shipped beside this module
# Learning units (Đơn vị học tập) self-assess with the set of the level that registered
# them: a province's units under TT 22/2020 (a 100-point scale with grade bands, as the
# Lai Châu letter scores them), a commune's under TT 24/2023's targets (see the files).
UNIT_SETS = {"province": "dvht-tt22-2020", "commune": "dvht-tt24-2023"}
# Learning families (Gia đình học tập) self-assess with this set (flows.family).
FAMILY_SET = "gdht-2016"
# What a question may be counted from instead of asked ("counted:" in the YAML): the
# share of a family's adults whose Learning Citizen self-assessment reaches the title.
COUNTED = ("cdht_adults",)

Localized = Mapping[str, str]


def pick(text: Localized, lang: str) -> str:
    """The text in `lang`, falling back to Vietnamese (always present after validation)."""
    return text.get(lang) or text["vi"]


@dataclass(frozen=True)
class Option:
    points: int
    text: Localized
    share: int | None = None  # a counted question's: the least percentage it stands for


@dataclass(frozen=True)
class Question:
    """One indicator asked in words written for one group (câu hỏi)."""

    indicator: str
    text: Localized
    hint: Localized
    suggestion: Localized
    options: tuple[Option, ...]
    # Not asked but counted by the bot (one of COUNTED); its options carry `share`s.
    counted: str | None = None


@dataclass(frozen=True)
class Indicator:
    """Chỉ số: the unit that is scored, worth at most `max_points`."""

    code: str
    competency: str
    max_points: int
    name: Localized


@dataclass(frozen=True)
class Competency:
    """Năng lực (or tiêu chí for units): a block of indicators."""

    code: str
    name: Localized
    max_points: int
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Group:
    """Nhóm đối tượng: the people a question wording is written for."""

    code: str
    name: Localized
    questions: tuple[Question, ...]  # in indicator order
    # Who belongs, in words for someone unsure (the "which group?" help), and the words
    # people type about their work that place them here ("buon ban", "ve huu"), folded.
    who: Localized | None = None
    keywords: tuple[str, ...] = ()
    keywords_first: tuple[str, ...] = ()  # decide whatever else is said ("về hưu")

    def question(self, indicator: str) -> Question:
        """The question for an indicator (the loader checked every group has one)."""
        found = next((q for q in self.questions if q.indicator == indicator), None)
        if found is None:
            raise KeyError(f"group {self.code} has no question for indicator {indicator}")
        return found


@dataclass(frozen=True)
class TitleRule:
    """The title decision: total at least `total` (or `total_difficult_area` in communes
    marked remote, especially difficult or ethnic-minority) and no indicator below
    `min_indicator`."""

    total: int
    total_difficult_area: int
    min_indicator: int


@dataclass(frozen=True)
class Band:
    """A grade band (xếp loại), e.g. Tốt from 85."""

    code: str
    min_total: int
    name: Localized


@dataclass(frozen=True)
class CriteriaSet:
    code: str
    name: Localized
    source: str
    languages: tuple[str, ...]
    provenance: Mapping[str, str]
    max_total: int
    competencies: tuple[Competency, ...]
    groups: tuple[Group, ...]
    title: TitleRule | None
    bands: tuple[Band, ...]  # highest first; the last starts at 0

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for c in self.competencies for i in c.indicators)

    def indicator(self, code: str) -> Indicator:
        """An indicator by code (questions and answers only name indicators that exist:
        the loader checks the questions, storage keeps what the criteria set asked)."""
        found = self.find_indicator(code)
        if found is None:
            raise KeyError(f"no indicator {code} in criteria {self.code}")
        return found

    def find_indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    def group(self, code: str) -> Group | None:
        return next((g for g in self.groups if g.code == code), None)

    def guess_group(self, text: str) -> Group | None:
        """The group whose keywords someone's words about their work contain ("tôi buôn
        bán", "về hưu rồi"), with or without accents; the longest keyword found wins, so
        "chủ doanh nghiệp" is not taken for "doanh nghiệp"... None when no keyword is there."""
        words = f" {fold(text)} "
        for first in (True, False):  # the deciding words ("về hưu"), then the others
            best: tuple[int, Group] | None = None
            for group in self.groups:
                for keyword in group.keywords_first if first else group.keywords:
                    if f" {keyword} " in words and (best is None or len(keyword) > best[0]):
                        best = (len(keyword), group)
            if best is not None:
                return best[1]
        return None


class CriteriaError(ValueError):
    """A criteria file is wrong. The message names the file, the line, the place and the fix."""

    def __init__(self, source: str, line: int | None, place: str, problem: str) -> None:
        self.source, self.line, self.place, self.problem = source, line, place, problem
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}, at {place}: {problem}" if place else f"{where}: {problem}")


def _line_map(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    # A mapping value is reported at its key's line, which is where a person looks.
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*path, key.value)] = key.start_mark.line + 1
            _line_map(value, (*path, key.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)


class _Checker:
    """Walks the parsed YAML with the path of every value, so errors can point at a line."""

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, path: tuple[Any, ...], problem: str) -> CriteriaError:
        line = None
        for cut in range(len(path), -1, -1):
            # Keys may be parsed as ints by YAML; the line map holds the raw scalar text.
            key = tuple(str(p) if not isinstance(p, int) else p for p in path[:cut])
            if key in self.lines:
                line = self.lines[key]
                break
        place = " → ".join(str(p) for p in path)
        return CriteriaError(self.source, line, place, problem)

    def mapping(self, value: Any, path: tuple[Any, ...], what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a mapping of 'key: value' lines.")
        return value

    def seq(self, value: Any, path: tuple[Any, ...], what: str) -> Sequence[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"{what} must be a non-empty list ('- ' items).")
        return value

    def field(self, data: Mapping[str, Any], key: str, path: tuple[Any, ...]) -> Any:
        if key not in data or data[key] is None:
            raise self.fail(path, f"the required field '{key}' is missing. Add '{key}: …'.")
        return data[key]

    def integer(self, value: Any, path: tuple[Any, ...], low: int, high: int, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"{what} must be a whole number, not {value!r}.")
        if not low <= value <= high:
            raise self.fail(
                path, f"{what} {value} is out of range. Use a number from {low} to {high}."
            )
        return value

    def text(self, value: Any, path: tuple[Any, ...], languages: Sequence[str]) -> Localized:
        data = self.mapping(value, path, "a text")
        for lang in languages:
            got = data.get(lang)
            if not isinstance(got, str) or not got.strip():
                raise self.fail(
                    (*path, lang),
                    f"missing translation: there is no '{lang}' text. Add '{lang}: …' "
                    f"(every text needs {', '.join(languages)}).",
                )
        return {lang: str(data[lang]).strip() for lang in languages}

    def code(self, value: Any, path: tuple[Any, ...], seen: dict[str, tuple[Any, ...]]) -> str:
        if value is None or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail(path, "a code must not be empty.")
        code = str(value).strip()
        if code in seen:
            raise self.fail(
                path,
                f"duplicate code '{code}': it is already used at "
                f"{' → '.join(str(p) for p in seen[code])}. Codes must be unique.",
            )
        seen[code] = path
        return code


def parse_criteria(text: str, source: str) -> CriteriaSet:
    """Parse and validate criteria YAML. Raises CriteriaError with file, line, place and fix."""
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise CriteriaError(source, line, "", f"this is not valid YAML ({exc}).") from exc
    lines: dict[tuple[Any, ...], int] = {}
    if root_node is not None:
        _line_map(root_node, (), lines)
    c = _Checker(source, lines)
    root = c.mapping(data, (), "the file")

    languages = tuple(
        str(x) for x in c.seq(c.field(root, "languages", ()), ("languages",), "languages")
    )
    if "vi" not in languages:
        raise c.fail(("languages",), "Vietnamese ('vi') must be one of the languages.")
    code = str(c.field(root, "id", ()))
    name = c.text(c.field(root, "name", ()), ("name",), languages)
    provenance_raw = c.mapping(c.field(root, "provenance", ()), ("provenance",), "provenance")
    for key in ("decision", "wording", "replace"):
        c.field(provenance_raw, key, ("provenance",))
    provenance = {str(k): str(v).strip() for k, v in provenance_raw.items()}
    max_total = c.integer(c.field(root, "max_total", ()), ("max_total",), 1, 1000, "max_total")

    indicator_seen: dict[str, tuple[Any, ...]] = {}
    competency_seen: dict[str, tuple[Any, ...]] = {}
    competencies: list[Competency] = []
    comps_raw = c.seq(c.field(root, "competencies", ()), ("competencies",), "competencies")
    for ci, comp_raw in enumerate(comps_raw):
        cp = ("competencies", ci)
        comp = c.mapping(comp_raw, cp, "a competency")
        comp_code = c.code(c.field(comp, "code", cp), (*cp, "code"), competency_seen)
        comp_name = c.text(c.field(comp, "name", cp), (*cp, "name"), languages)
        comp_max = c.integer(c.field(comp, "max", cp), (*cp, "max"), 1, max_total, "max")
        indicators: list[Indicator] = []
        for ii, ind_raw in enumerate(
            c.seq(c.field(comp, "indicators", cp), (*cp, "indicators"), "indicators")
        ):
            ip = (*cp, "indicators", ii)
            ind = c.mapping(ind_raw, ip, "an indicator")
            ind_code = c.code(c.field(ind, "code", ip), (*ip, "code"), indicator_seen)
            ind_max = c.integer(c.field(ind, "max", ip), (*ip, "max"), 1, max_total, "max")
            ind_name = c.text(c.field(ind, "name", ip), (*ip, "name"), languages)
            indicators.append(Indicator(ind_code, comp_code, ind_max, ind_name))
        added = sum(i.max_points for i in indicators)
        if added != comp_max:
            raise c.fail(
                (*cp, "max"),
                f"competency {comp_code} has max {comp_max}, but its indicators' maxima add up "
                f"to {added}. Make them agree.",
            )
        competencies.append(Competency(comp_code, comp_name, comp_max, tuple(indicators)))
    all_max = sum(comp.max_points for comp in competencies)
    if all_max != max_total:
        raise c.fail(
            ("max_total",),
            f"max_total is {max_total}, but the competencies' maxima add up to {all_max}. "
            "Make them agree.",
        )
    by_code = {i.code: i for comp in competencies for i in comp.indicators}

    groups: list[Group] = []
    group_seen: dict[str, tuple[Any, ...]] = {}
    for gi, group_raw in enumerate(c.seq(c.field(root, "groups", ()), ("groups",), "groups")):
        gp = ("groups", gi)
        grp = c.mapping(group_raw, gp, "a group")
        g_code = c.code(c.field(grp, "code", gp), (*gp, "code"), group_seen)
        g_name = c.text(c.field(grp, "name", gp), (*gp, "name"), languages)
        questions_raw = grp.get("questions")
        if not questions_raw:
            raise c.fail(
                (*gp, "questions"),
                f"group {g_code} has no questions. Add one question for each indicator "
                f"({', '.join(by_code)}).",
            )
        qmap = c.mapping(questions_raw, (*gp, "questions"), "questions")
        for key in qmap:
            if str(key) not in by_code:
                raise c.fail(
                    (*gp, "questions", key),
                    f"there is no indicator '{key}' in this criteria set. "
                    f"Use one of: {', '.join(by_code)}.",
                )
        questions: list[Question] = []
        for ind_code, indicator in by_code.items():
            raw = next((v for k, v in qmap.items() if str(k) == ind_code), None)
            qp = (*gp, "questions", ind_code)
            if raw is None:
                raise c.fail(
                    (*gp, "questions"),
                    f"group {g_code} has no question for indicator {ind_code}. Add one.",
                )
            q = c.mapping(raw, qp, "a question")
            counted = q.get("counted")
            if counted is not None and counted not in COUNTED:
                raise c.fail(
                    (*qp, "counted"),
                    f"the bot cannot count '{counted}'. Use one of: {', '.join(COUNTED)}.",
                )
            options_raw = c.seq(c.field(q, "options", qp), (*qp, "options"), "options")
            if not 3 <= len(options_raw) <= 5:
                raise c.fail(
                    (*qp, "options"),
                    f"a question needs 3 to 5 options, this one has {len(options_raw)}.",
                )
            options: list[Option] = []
            for oi, opt_raw in enumerate(options_raw):
                op = (*qp, "options", oi)
                opt = c.mapping(opt_raw, op, "an option")
                points = opt.get("points")
                if (
                    isinstance(points, int)
                    and not isinstance(points, bool)
                    and points > indicator.max_points
                ):
                    raise c.fail(
                        (*op, "points"),
                        f"points {points} is above indicator {ind_code}'s maximum of "
                        f"{indicator.max_points}. Use a number from 0 to {indicator.max_points}.",
                    )
                points = c.integer(
                    c.field(opt, "points", op), (*op, "points"), 0, indicator.max_points, "points"
                )
                share = None
                if counted is None and "share" in opt:
                    raise c.fail(
                        (*op, "share"),
                        "only a counted question's options have a share. Remove 'share', "
                        "or add 'counted:' to the question.",
                    )
                if counted is not None:
                    share = c.integer(c.field(opt, "share", op), (*op, "share"), 0, 100, "share")
                    if options and share >= (options[-1].share or 0):
                        raise c.fail(
                            (*op, "share"),
                            "the shares of a counted question's options must go down, "
                            "from the best option to the last.",
                        )
                options.append(
                    Option(
                        points, c.text(c.field(opt, "text", op), (*op, "text"), languages), share
                    )
                )
            if counted is not None and options[-1].share != 0:
                raise c.fail(
                    (*qp, "options"),
                    "the last option of a counted question must have share: 0, so that "
                    "every count has an option.",
                )
            if max(o.points for o in options) != indicator.max_points:
                raise c.fail(
                    (*qp, "options"),
                    f"no option gives indicator {ind_code}'s maximum of {indicator.max_points} "
                    "points, so a full score is impossible. Give the best option that many points.",
                )
            questions.append(
                Question(
                    ind_code,
                    c.text(c.field(q, "text", qp), (*qp, "text"), languages),
                    c.text(c.field(q, "hint", qp), (*qp, "hint"), languages),
                    c.text(c.field(q, "suggestion", qp), (*qp, "suggestion"), languages),
                    tuple(options),
                    counted,
                )
            )
        who = c.text(grp["who"], (*gp, "who"), languages) if "who" in grp else None
        keywords = {}
        for field in ("keywords", "keywords_first"):
            raw = grp.get(field)
            found = []
            for ki, keyword in enumerate(c.seq(raw, (*gp, field), field) if raw else ()):
                if not isinstance(keyword, str) or not fold(keyword):
                    raise c.fail((*gp, field, ki), "a keyword is a word or a few words, in quotes.")
                found.append(fold(keyword))
            keywords[field] = tuple(found)
        groups.append(
            Group(
                g_code,
                g_name,
                tuple(questions),
                who,
                keywords["keywords"],
                keywords["keywords_first"],
            )
        )

    title = None
    thresholds = c.mapping(root.get("thresholds") or {}, ("thresholds",), "thresholds")
    if "title" in thresholds:
        tp = ("thresholds", "title")
        t = c.mapping(thresholds["title"], tp, "the title rule")
        total = c.integer(c.field(t, "total", tp), (*tp, "total"), 1, max_total, "total")
        difficult = c.integer(
            t.get("total_difficult_area", total),
            (*tp, "total_difficult_area"),
            1,
            total,
            "total_difficult_area",
        )
        lowest_max = min(i.max_points for i in by_code.values())
        min_ind = c.integer(
            c.field(t, "min_indicator", tp), (*tp, "min_indicator"), 0, lowest_max, "min_indicator"
        )
        title = TitleRule(total, difficult, min_ind)

    bands: list[Band] = []
    if "bands" in thresholds:
        band_seen: dict[str, tuple[Any, ...]] = {}
        previous = max_total + 1
        for bi, band_raw in enumerate(c.seq(thresholds["bands"], ("thresholds", "bands"), "bands")):
            bp = ("thresholds", "bands", bi)
            b = c.mapping(band_raw, bp, "a band")
            b_code = c.code(c.field(b, "code", bp), (*bp, "code"), band_seen)
            low = c.integer(c.field(b, "min", bp), (*bp, "min"), 0, max_total, "min")
            if low >= previous:
                raise c.fail((*bp, "min"), "bands must be listed from the highest minimum down.")
            previous = low
            bands.append(
                Band(b_code, low, c.text(c.field(b, "name", bp), (*bp, "name"), languages))
            )
        if bands[-1].min_total != 0:
            raise c.fail(
                ("thresholds", "bands"),
                "the last band must start at min: 0 so that every total has a band.",
            )
    if title is None and not bands:
        raise c.fail(
            ("thresholds",), "give a title rule ('title:') or grade bands ('bands:'), or both."
        )

    return CriteriaSet(
        code=code,
        name=name,
        source=source,
        languages=languages,
        provenance=provenance,
        max_total=max_total,
        competencies=tuple(competencies),
        groups=tuple(groups),
        title=title,
        bands=tuple(bands),
    )
