"""The static data every conversation uses, loaded once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.i18n import load_langs
from flows.criteria import CriteriaSet, load_criteria
from flows.lang import Lang
from flows.model import World
from flows.places import Gazetteer, load_gazetteer


@dataclass(frozen=True)
class Core:
    criteria: CriteriaSet
    places: Gazetteer
    langs: dict[str, Lang]
    campaign_year: int
    default_lang: str

    def world(self, now: datetime) -> World:
        return World(
            self.criteria, self.places, self.langs, now, self.campaign_year, self.default_lang
        )


def load_core(settings: Settings) -> Core:
    return Core(
        criteria=load_criteria(settings.criteria),
        places=load_gazetteer(),
        langs=load_langs(),
        campaign_year=settings.campaign_year,
        default_lang=settings.language,
    )
