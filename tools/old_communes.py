"""Writes flows/old_communes.csv: each commune and ward of before 1 July 2025, and the
commune(s) of the 2025 list it became part of, from the data package vietnamadminunits
(MIT; its old-to-new conversion data and its database of both lists). The new communes are
named by the codes of the list the bot uses (vietnam-provinces), found by their names: for
114 of them the two packages give different codes.

    make old-communes      # or: .venv/bin/python -m tools.old_communes [--check]

Run it when vietnamadminunits is upgraded (tests/test_places.py fails until then). The bot
reads the CSV (bot.data.load_gazetteer), not the package: importing the package loads numpy
and shapely for its address parser (0.3 s and ~50 MB at start-up) to answer what a 700 KB
file answers.

Columns: old_province, old_district, old_commune (names as they were, with their kind: "Xã
Thạch Đài"), new_province (code), new_communes (codes, separated by spaces; where the old
commune was split, the one the package names as the default first).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from importlib.metadata import version
from pathlib import Path

import flows
from flows.places import gazetteer_from
from flows.text import fold

OUT = Path(flows.__file__).resolve().parent / "old_communes.csv"
COLUMNS = ("old_province", "old_district", "old_commune", "new_province", "new_communes")


def rows() -> list[tuple[str, str, str, int, str]]:
    """The table, from the installed vietnamadminunits, sorted by old province, district
    and commune."""
    from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH
    from vietnamadminunits.converter import converter_2025 as conv
    from vietnamadminunits.database import query

    places = gazetteer_from(json.loads(Path(NESTED_DIVISIONS_JSON_PATH).read_text("utf-8")))
    by_name: dict[tuple[int, str], list[int]] = {}
    for province in places.provinces:
        for commune in places.communes_of(province.code):
            by_name.setdefault((province.code, commune.name), []).append(commune.code)
            by_name.setdefault((province.code, commune.folded), []).append(commune.code)

    def ours(province: str, name: str) -> tuple[int, int]:
        """Our code for a commune of the 2025 list: by its exact name, else without accents."""
        for key in (name, fold(name)):
            if len(found := by_name.get((int(province), key), [])) == 1:
                return int(province), found[0]
        raise SystemExit(f"{name} ({province}) is not in the 2025 list of vietnam-provinces")

    new_code = {
        (r["provinceKey"], r["wardKey"]): ours(r["provinceCode"], r["ward"])
        for r in query("SELECT provinceKey, wardKey, provinceCode, ward FROM admin_units")
    }
    new_province_of = {old: new for new, olds in conv.DICT_PROVINCE.items() for old in olds}
    undivided = {
        old: (new_province, ward)
        for new_province, wards in conv.DICT_PROVINCE_WARD_NO_DIVIDED.items()
        for ward, olds in wards.items()
        for old in olds
    }
    out = []
    legacy = query(
        "SELECT province, district, ward, provinceKey, districtKey, wardKey, provinceCode, "
        "districtCode, wardCode FROM admin_units_legacy"
    )
    missing = []
    for r in legacy:
        key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        new_province = new_province_of[r["provinceKey"]]
        if key in undivided:
            targets = [undivided[key][1]]
        else:
            parts = conv.DICT_PROVINCE_WARD_DIVIDED.get(new_province, {}).get(key, [])
            parts = sorted(parts, key=lambda p: not p["isDefaultNewWard"])
            targets = [p["newWardKey"] for p in parts]
        codes = [new_code[(new_province, t)] for t in targets if (new_province, t) in new_code]
        if not codes:
            missing.append(key)
            continue
        provinces = {p for p, _ in codes}
        assert len(provinces) == 1, key
        out.append(
            (
                (r["provinceCode"], r["districtCode"], r["wardCode"] or ""),
                r["province"],
                r["district"],
                r["ward"] or "",
                provinces.pop(),
                " ".join(str(c) for _, c in codes),
            )
        )
    if missing:
        print(f"{len(missing)} old units without a new commune: {missing[:10]}", file=sys.stderr)
    return [row[1:] for row in sorted(out)]


def render() -> str:
    buffer = io.StringIO()
    source = f"vietnamadminunits {version('vietnamadminunits')}"
    buffer.write(f"# from {source} by tools/old_communes.py\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is not what vietnamadminunits gives: run make old-communes")
        return
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {text.count(chr(10)) - 2} old communes")


if __name__ == "__main__":
    main()
