"""The static data every conversation uses, loaded once at start-up."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.config import Settings
from bot.data import load_criteria, load_gazetteer
from bot.i18n import load_langs
from bot.posters import PosterLinks
from flows.criteria import FAMILY_SET, UNIT_SETS, CriteriaSet
from flows.lang import Lang
from flows.localtime import local_day
from flows.model import World
from flows.places import Gazetteer


@dataclass(frozen=True)
class Core:
    criteria: CriteriaSet
    places: Gazetteer
    langs: dict[str, Lang]
    campaign_year: int  # 0: the calendar year in Vietnam, whatever the day
    default_lang: str
    posters: PosterLinks = field(default_factory=PosterLinks)
    unit_sets: dict[str, CriteriaSet] = field(default_factory=dict)  # by code
    family_set: CriteriaSet | None = None

    def year(self, now: datetime) -> int:
        """The campaign year at `now`: the one set, else the year in Vietnam (the data
        window is 1 January to 31 December), so a bot running over New Year moves on."""
        return self.year_of(local_day(now))

    def year_of(self, day: date) -> int:
        """The campaign year a Vietnamese calendar day belongs to."""
        return self.campaign_year or day.year

    def world(self, now: datetime) -> World:
        return World(
            self.criteria,
            self.places,
            self.langs,
            now,
            self.year(now),
            self.default_lang,
            unit_sets=self.unit_sets,
            family_set=self.family_set,
        )


def load_core(settings: Settings) -> Core:
    core = Core(
        criteria=load_criteria(settings.criteria),
        places=load_gazetteer(),
        langs=load_langs(),
        campaign_year=settings.campaign_year,
        default_lang=settings.language,
        posters=PosterLinks(settings.telegram_username, settings.zalo_oa_link),
        unit_sets={name: load_criteria(name) for name in UNIT_SETS.values()},
        family_set=load_criteria(FAMILY_SET),
    )
    # What is loaded here lives as long as the process (the communes, their names of
    # before 2025, the criteria, the texts): kept out of the garbage collector's full
    # passes, which otherwise walk it all and stall a national digest by a tenth of a
    # second now and then (measured in bench/admin.py).
    gc.collect()
    gc.freeze()
    return core
