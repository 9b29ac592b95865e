"""Reading the data files the pure core is made of: the criteria set, the official list of
provinces and communes, the default deadlines. The core parses and checks them (flows
never touches a file); the shell reads them, once, at start-up."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import flows
from flows.criteria import CriteriaSet, parse_criteria
from flows.deadlines import Deadline, DeadlineError, parse_defaults, parse_retired
from flows.places import Gazetteer, gazetteer_from, with_formers

FLOWS_DIR = Path(flows.__file__).resolve().parent
CRITERIA_DIR = FLOWS_DIR / "criteria"  # the criteria sets shipped with the bot
DEFAULT_DEADLINES = FLOWS_DIR / "deadlines.yaml"
OLD_COMMUNES = FLOWS_DIR / "old_communes.csv"  # made by tools/old_communes.py


def load_criteria(name_or_path: str | Path) -> CriteriaSet:
    """A criteria file, by path or by the name of one shipped (e.g. "cdht-2023"), checked."""
    path = Path(name_or_path)
    if not path.is_file():
        path = CRITERIA_DIR / f"{path.name.removesuffix('.yaml')}.yaml"
    return parse_criteria(path.read_text(encoding="utf-8"), path.name)


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The official 2025 list shipped by vietnam-provinces (GPL-3.0), with the old names
    of before the reform (flows/old_communes.csv). The shipped one is read once per
    process (start-up reads it for the core and for the default deadlines)."""
    if path is None:
        return _shipped_gazetteer()
    places = gazetteer_from(json.loads(path.read_text(encoding="utf-8")))
    return with_formers(places, OLD_COMMUNES.read_text(encoding="utf-8"))


@cache
def _shipped_gazetteer() -> Gazetteer:
    from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

    return load_gazetteer(Path(NESTED_DIVISIONS_JSON_PATH))


def load_deadline_defaults(places: Gazetteer, path: Path = DEFAULT_DEADLINES) -> list[Deadline]:
    """The deadlines a new database starts with (CDHT_DEADLINES, or the shipped file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeadlineError(f"{path}: {exc}") from exc
    return parse_defaults(text, str(path), places)


def load_retired_deadlines(path: Path = DEFAULT_DEADLINES) -> list[tuple[str, str]]:
    """The defaults of earlier versions to cancel (key, why), from the same file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeadlineError(f"{path}: {exc}") from exc
    return parse_retired(text, str(path))
