"""Benchmark of the admins' numbers at scale (issue 6), on SQLite and PostgreSQL.

    make bench-admin     # or: .venv/bin/python -m bench.admin [--people 1000000] [--only sqlite]

1. generate: PEOPLE citizens in SQL (a recursive CTE on SQLite, generate_series on
   PostgreSQL) spread over all 34 provinces and 3,321 communes of the 2025 list, in the
   four groups, registered over the past year; 60% with a submitted self-assessment of 10
   answers (about half of those reach the title; a third of those are recognised), 20%
   in progress; a learning family for every three people (its head and two members), 60%
   of them self-assessed. Target: at most 3 minutes.
2. digest: bot.reports.load_digest and the digest text, for the whole deployment and for
   the province with the most communes; median of 5 runs. Targets: national 2 s on
   PostgreSQL (5 s on SQLite), a province 0.5 s (1 s).
3. export: `cdht export --scope province:<that province> --out FILE.xlsx` run as a command
   (a new process: start-up included), its wall time and peak memory (ru_maxrss).
   Targets: at most 5 s and 300 MB.

Results: printed and in bench/results/admin-*.json; docs/PERFORMANCE.md has the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bench.common import number_series, scratch_postgres, write_results
from bot import reports
from bot.config import Settings
from bot.core import load_core
from flows.digest import digest_text
from flows.localtime import local_day
from flows.places import Area
from storage.db import Database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
INDICATORS = ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2")
RUNS = 5


def generate(conn: Connection, people: int, communes: list[tuple[int, int]]) -> None:
    """Fill an empty, migrated database (see the module docstring)."""
    pg = conn.dialect.name == "postgresql"
    ts = "'2026-11-22 03:00:00+00'::timestamptz" if pg else "'2026-11-22 03:00:00.000000'"
    if pg:
        registered = f"{ts} - g % 365 * interval '1 day'"
    else:
        registered = "datetime('2026-11-22 03:00:00', '-' || (g % 365) || ' days') || '.000000'"
    series = number_series(conn, people, communes)
    k = len(communes)
    group = (
        "CASE WHEN g % 10 < 5 THEN '1' WHEN g % 10 < 8 THEN '2' "
        "WHEN g % 10 = 8 THEN '3' ELSE '4' END"
    )
    conn.execute(
        text(
            "INSERT INTO people (id, full_name, birth_year, gender, group_code, province_code, "
            "commune_code, language, registered_at, updated_at) "
            f"SELECT g, 'Người ' || g, 1950 + g % 60, 'female', {group}, c.province, c.code, "
            f"'vi', {registered}, {ts} FROM {series} JOIN bench_communes c ON c.n = g % {k}"
        )
    )
    # g % 5 in (1, 2, 3): submitted (60%); g % 5 = 4: in progress. Total 60..99 by g.
    total = "(60 + g % 40)"
    conn.execute(
        text(
            "INSERT INTO assessments (id, person_id, campaign_year, criteria, group_code, status, "
            "started_at, submitted_at, total, title_reached, recognised_at) "
            f"SELECT g, g, 2026, 'cdht-2023', {group}, CASE WHEN g % 5 = 4 THEN 'in_progress' "
            f"ELSE 'submitted' END, {ts}, CASE WHEN g % 5 = 4 THEN NULL ELSE {ts} END, "
            f"CASE WHEN g % 5 = 4 THEN NULL ELSE {total} END, "
            f"CASE WHEN g % 5 = 4 THEN NULL ELSE {total} >= 80 END, "
            f"CASE WHEN g % 5 <> 4 AND {total} >= 80 AND g % 3 = 0 THEN {ts} END "
            f"FROM {series} WHERE g % 5 IN (1, 2, 3, 4)"
        )
    )
    values = " UNION ALL ".join(
        f"SELECT '{code}' AS code, {n} AS n" for n, code in enumerate(INDICATORS)
    )
    conn.execute(
        text(
            "INSERT INTO answers (assessment_id, indicator, option_index, points, answered_at) "
            f"SELECT g, i.code, 0, (g + i.n) % 11, {ts} FROM {series} "
            f"CROSS JOIN ({values}) AS i WHERE g % 5 IN (1, 2, 3)"
        )
    )
    # Learning families: every third person heads one with the next two as members
    # (333,333 families of 3 at 1,000,000: far more than registered in chat so far),
    # 3 adults each; 60% of the families submitted, half of those reaching the criteria.
    conn.execute(
        text(
            "INSERT INTO families (id, head_id, province_code, commune_code, code, adults, "
            "created_at) SELECT p.id / 3 + 1, p.id, p.province_code, p.commune_code, "
            f"'F' || p.id, 3, {ts} FROM people p WHERE p.id % 3 = 0 AND p.id + 2 <= {people}"
        )
    )
    conn.execute(
        text(
            "INSERT INTO family_members (person_id, family_id, joined_at, adult) "
            f"SELECT p.id, (p.id - p.id % 3) / 3 + 1, {ts}, p.birth_year <= 2008 FROM people p "
            f"WHERE p.id - p.id % 3 + 2 <= {people} AND p.id >= 3"
        )
    )
    conn.execute(
        text(
            "UPDATE families SET adult_members = (SELECT count(*) FROM family_members m "
            "WHERE m.family_id = families.id AND m.adult)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO family_assessments (family_id, year, criteria, status, answers, "
            "started_at, submitted_at, total, reached, titled) "
            "SELECT f.id, 2026, 'gdht-2016', 'submitted', '{}', "
            f"{ts}, {ts}, 70 + f.id % 30, f.id % 2 = 0, f.id % 4 FROM families f "
            "WHERE f.id % 5 IN (1, 2, 3)"
        )
    )
    if pg:
        for table in ("people", "assessments", "families", "family_assessments"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def run_measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a command; its wall time (s) and peak resident memory (MB)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{command} failed with {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


async def run(label: str, url: str, people: int, tmp: Path) -> dict[str, Any]:
    import asyncio

    core = load_core(Settings(campaign_year=2026))
    communes = [(c.code, c.province_code) for c in core.places._commune.values()]
    db = Database(url)
    await db.migrate()
    start = time.perf_counter()
    await db.run(lambda conn: generate(conn, people, communes))
    await db.run(lambda conn: conn.execute(text("ANALYZE")))
    generated = time.perf_counter() - start
    print(f"{label}: generated {people:,} citizens in {generated:.1f} s", flush=True)
    sizes: dict[int, int] = {}
    for _, province in communes:
        sizes[province] = sizes.get(province, 0) + 1
    province = max(sizes, key=lambda p: sizes[p])
    day = local_day(NOW)
    t = core.langs["vi"]
    results: dict[str, Any] = {
        "database": label,
        "people": people,
        "generate_s": round(generated, 1),
        "province": province,
        "province_communes": sizes[province],
    }
    for name, area in (("national", Area()), ("province", Area(province))):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            digest = await db.read(lambda conn, a=area: reports.load_digest(conn, a, 2026, day))
            digest_text(digest, core.places, core.criteria, t)
            times.append(time.perf_counter() - start)
        results[f"{name}_digest_s"] = {
            "median": round(statistics.median(times), 3),
            "max": round(max(times), 3),
        }
        results[f"{name}_registered"] = digest.total().registered
        print(f"{label}: {name} digest {results[f'{name}_digest_s']}", flush=True)
        start = time.perf_counter()
        await asyncio.to_thread(reports.chart_png, digest, core, t)
        results[f"{name}_chart_s"] = round(time.perf_counter() - start, 3)
    await db.dispose()

    out = tmp / f"{label}.xlsx"
    env = {**os.environ, "DATABASE_URL": url, "CDHT_CAMPAIGN_YEAR": "2026"}
    command = [sys.executable, "-m", "bot.cli", "export", "--scope", f"province:{province}"]
    seconds, peak = run_measured([*command, "--out", str(out)], env, tmp)
    results["export_s"] = round(seconds, 2)
    results["export_peak_mb"] = round(peak, 1)
    results["export_bytes"] = out.stat().st_size
    print(
        f"{label}: province xlsx export {results['export_s']} s, peak "
        f"{results['export_peak_mb']} MB, {results['export_bytes']:,} bytes",
        flush=True,
    )
    return results


def main() -> None:
    import asyncio

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results = []
    with TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            results.append(asyncio.run(run("sqlite", url, args.people, Path(tmp))))
        if args.only != "sqlite":
            with scratch_postgres(PG_ADMIN, "admin") as url:
                results.append(asyncio.run(run("postgresql", url, args.people, Path(tmp))))
    write_results("admin", results)


if __name__ == "__main__":
    main()
