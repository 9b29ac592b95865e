"""/target (/chitieu): a commune's adults and officials, and its targets when they are not
the national 40% / 60% (QĐ 677/QĐ-TTg). The digest counts progress against them."""

from __future__ import annotations

import re

from flows.admin.common import out_of_scope, the_admin
from flows.lang import Lang
from flows.model import SetTarget
from flows.navigation import aside
from flows.places import Area, Gazetteer, parse_area
from flows.text import fold
from flows.turn import Turn, command

MAX_POPULATION = 10_000_000


HOUSEHOLD_WORDS = ("ho", "households", "soho")  # "hộ 1200", "số hộ 1200", "sốhộ 1200"
# A whole number as people write it: 1200, 1.200 or 1,200 (thousands), never 12,5.
WHOLE = re.compile(r"\d{1,9}|\d{1,3}(?:[.,]\d{3}){1,2}")


def _whole(word: str, most: int) -> int | None:
    if not (word.isascii() and WHOLE.fullmatch(word)):
        return None
    value = int(word.replace(".", "").replace(",", ""))
    return value if value <= most else None


def parse_target(args: str, places: Gazetteer) -> tuple[Area | None, dict[str, int]] | None:
    """[xa:CODE] [ADULTS [OFFICIALS] [ADULTS%] [OFFICIALS%]] [hộ HOUSEHOLDS]; None if
    unreadable. Households 0 clears them (the families' target is then not shown)."""
    area: Area | None = None
    numbers: list[int] = []
    percents: list[int] = []
    households: int | None = None
    words = [
        w
        for n, w in enumerate(args.split())
        if not (fold(w) == "so" and fold(" ".join(args.split()[n + 1 : n + 2])) == "ho")
    ]
    for n, word in enumerate(words):
        if fold(word) in HOUSEHOLD_WORDS:
            following = words[n + 1] if n + 1 < len(words) else ""
            value = _whole(following, MAX_POPULATION)
            if households is not None or value is None:
                return None
            households = value
            continue
        if n > 0 and fold(words[n - 1]) in HOUSEHOLD_WORDS:
            continue  # (the number of households, read above)
        if ":" in word:
            area = parse_area(word, places)
            if area is None or area.kind != "commune":
                return None
            continue
        if word.endswith("%"):
            percent = _whole(word.removesuffix("%"), 100)
            if percent is None:
                return None
            percents.append(percent)
            continue
        value = _whole(word, MAX_POPULATION)
        if value is None:
            return None
        numbers.append(value)
    if len(numbers) > 2 or len(percents) > 2:
        return None
    if not (numbers or percents or households is not None):
        return None
    keys = ("adults", "officials")
    changes = dict(zip(keys, numbers, strict=False))
    changes.update(zip((f"{k}_pct" for k in keys), percents, strict=False))
    if households is not None:
        changes["households"] = households
    return area, changes


def _help(t: Lang) -> str:
    return t._("/target — set a commune's population and targets")


@command("target", "chitieu", "danso", admin=True, help=_help, help_rank=40)
def _target(turn: Turn, args: str) -> None:
    t = turn.t
    admin = the_admin(turn)
    parsed = parse_target(args, turn.world.places)
    if parsed is None:
        aside(
            turn,
            t._(
                "Write: /target xa:CODE ADULTS OFFICIALS, and the targets in percent if they "
                "are not the national ones. For example: /target xa:70 2000 150 45% 60%. "
                "For the learning families' target, the number of households: /target xa:70 "
                "households 1200. A commune admin can leave out xa:CODE."
            ),
        )
        return
    area, changes = parsed
    area = area or admin.area
    if area.kind != "commune":
        aside(turn, t._("Name the commune: /target xa:CODE ADULTS OFFICIALS."))
        return
    if not admin.area.contains(area):
        out_of_scope(turn, admin)
        return
    turn.effect(SetTarget(area, changes))
    parts = []
    if "adults" in changes:
        parts.append(t._("{n} adults").format(n=t.number(changes["adults"])))
    if "officials" in changes:
        parts.append(t._("{n} officials").format(n=t.number(changes["officials"])))
    if "adults_pct" in changes:
        parts.append(t._("target for adults {n}%").format(n=changes["adults_pct"]))
    if "officials_pct" in changes:
        parts.append(t._("target for officials {n}%").format(n=changes["officials_pct"]))
    if "households" in changes:
        parts.append(t._("{n} households").format(n=t.number(changes["households"])))
    aside(
        turn,
        t._("Saved for {commune}: {what}.").format(
            commune=area.name(turn.world.places, t), what=", ".join(parts)
        ),
    )
