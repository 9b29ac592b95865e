"""Benchmark of the admins' numbers at scale (issues 6 and 17), on SQLite and PostgreSQL.

    make bench-admin     # or: .venv/bin/python -m bench.admin [--people 1000000,5000000]
                         #     [--only sqlite|postgresql]

1. generate: PEOPLE citizens spread over all 34 provinces and 3,321 communes of the 2025
   list, in the four groups, registered over the past year; 60% with a submitted
   self-assessment (about half of those reach the title; a third of those are
   recognised), 20% in progress; a learning family for every three people (its head and
   two members), 60% of them self-assessed. On PostgreSQL with COPY (rows streamed from
   here), on SQLite in SQL (a recursive CTE); the counters' triggers are off meanwhile and
   the counters are then counted once (`cdht stats rebuild`, timed). The answers (10 per
   submitted self-assessment) are made for the first size only: the export reads them.
   Target: at most 3 minutes per million.
2. digest: bot.reports.load_digest and the digest text, for the whole deployment and for
   the province with the most communes; median of 5 runs. Targets (issue 17, read from
   the counters): national 100 ms and a province 30 ms on PostgreSQL at both sizes, the
   5-million time at most 1.2 times the 1-million time.
3. export (first size only): `cdht export --scope province:<that province> --out FILE.xlsx`
   run as a command (a new process: start-up included), its wall time and peak memory
   (ru_maxrss). Targets: at most 5 s and 300 MB.

Results: printed and in bench/results/admin-*.json; docs/PERFORMANCE.md has the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
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
from storage import tallies
from storage.db import Database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
INDICATORS = ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2")
RUNS = 5


def generate(
    conn: Connection, people: int, communes: list[tuple[int, int]], answers: bool = True
) -> None:
    """Fill an empty, migrated database (see the module docstring), the counters' triggers
    off meanwhile; the counters are counted after (tallies.rebuild)."""
    pg = conn.dialect.name == "postgresql"
    if pg:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
        copy_people(conn, people, communes)
        if answers:
            _answers(conn, number_series(conn, people, communes), TS_SQL_PG)
        return
    for statement in tallies.drop_triggers_ddl("sqlite"):
        conn.exec_driver_sql(statement)
    _generate_sql(conn, people, communes)
    for statement in tallies.trigger_ddl("sqlite"):
        conn.exec_driver_sql(statement)


TS_SQL_PG = "'2026-11-22 03:00:00+00'::timestamptz"
GROUPS = "1111122234"  # by g % 10: half in group 1, ...
TS = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def copy_people(conn: Connection, people: int, communes: list[tuple[int, int]]) -> None:
    """The same people, self-assessments and families as the SQL below, by COPY."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    k = len(communes)
    days = [TS - timedelta(days=d) for d in range(365)]
    with cursor.copy(
        "COPY people (id, full_name, birth_year, gender, group_code, province_code, "
        "commune_code, language, registered_at, updated_at) FROM STDIN"
    ) as copy:
        for g in range(1, people + 1):
            code, province = communes[g % k]
            copy.write_row(
                (
                    g,
                    f"Người {g}",
                    1950 + g % 60,
                    "female",
                    GROUPS[g % 10],
                    province,
                    code,
                    "vi",
                    days[g % 365],
                    TS,
                )
            )
    with cursor.copy(
        "COPY assessments (id, person_id, campaign_year, criteria, group_code, status, "
        "started_at, submitted_at, total, title_reached, recognised_at) FROM STDIN"
    ) as copy:
        for g in range(1, people + 1):
            if g % 5 == 0:
                continue
            if g % 5 == 4:
                row = (
                    g,
                    g,
                    2026,
                    "cdht-2023",
                    GROUPS[g % 10],
                    "in_progress",
                    TS,
                    None,
                    None,
                    None,
                    None,
                )
            else:
                total = 60 + g % 40
                recognised = TS if total >= 80 and g % 3 == 0 else None
                row = (
                    g,
                    g,
                    2026,
                    "cdht-2023",
                    GROUPS[g % 10],
                    "submitted",
                    TS,
                    TS,
                    total,
                    total >= 80,
                    recognised,
                )
            copy.write_row(row)
    heads = range(3, people - 1, 3)  # every third person heads a family of three
    with cursor.copy(
        "COPY families (id, head_id, province_code, commune_code, code, adults, "
        "adult_members, created_at) FROM STDIN"
    ) as copy:
        for head in heads:
            code, province = communes[head % k]
            adult = sum(1 for p in (head, head + 1, head + 2) if 1950 + p % 60 <= 2008)
            copy.write_row((head // 3 + 1, head, province, code, f"F{head}", 3, adult, TS))
    with cursor.copy(
        "COPY family_members (person_id, family_id, joined_at, adult) FROM STDIN"
    ) as copy:
        for head in heads:
            for p in (head, head + 1, head + 2):
                copy.write_row((p, head // 3 + 1, TS, 1950 + p % 60 <= 2008))
    with cursor.copy(
        "COPY family_assessments (family_id, year, criteria, status, answers, started_at, "
        "submitted_at, total, reached, titled) FROM STDIN"
    ) as copy:
        for head in heads:
            f = head // 3 + 1
            if f % 5 in (1, 2, 3):
                copy.write_row(
                    (
                        f,
                        2026,
                        "gdht-2016",
                        "submitted",
                        "{}",
                        TS,
                        TS,
                        70 + f % 30,
                        f % 2 == 0,
                        f % 4,
                    )
                )
    for table in ("people", "assessments", "families", "family_assessments"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )


def _answers(conn: Connection, series: str, ts: str) -> None:
    """Ten answers for each submitted self-assessment (g % 5 in 1, 2, 3): the export's
    averages per indicator read them."""
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


def _generate_sql(conn: Connection, people: int, communes: list[tuple[int, int]]) -> None:
    """SQLite's: the same rows as copy_people's and _answers', in SQL."""
    ts = "'2026-11-22 03:00:00.000000'"
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
    _answers(conn, series, ts)
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


def run_measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a command; its wall time (s) and peak resident memory (MB)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{command} failed with {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


async def run(label: str, url: str, people: int, tmp: Path, first: bool) -> dict[str, Any]:
    import asyncio

    core = load_core(Settings(campaign_year=2026))
    communes = [(c.code, c.province_code) for c in core.places._commune.values()]
    db = Database(url)
    await db.migrate()
    start = time.perf_counter()
    await db.run(lambda conn: generate(conn, people, communes, answers=first))
    generated = time.perf_counter() - start
    start = time.perf_counter()
    await db.run(tallies.rebuild)
    rebuilt = time.perf_counter() - start
    await db.run(lambda conn: conn.execute(text("ANALYZE")))
    print(
        f"{label}: generated {people:,} citizens in {generated:.1f} s, counters counted in "
        f"{rebuilt:.1f} s",
        flush=True,
    )
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
        "rebuild_counters_s": round(rebuilt, 1),
        "province": province,
        "province_communes": sizes[province],
    }
    for name, area in (("national", Area()), ("province", Area(province))):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            digest = await db.read(
                lambda conn, a=area: reports.load_digest(conn, a, 2026, day, lines=False)
            )
            digest_text(digest, core.places, core.criteria, t)
            times.append(time.perf_counter() - start)
        results[f"{name}_digest_ms"] = {
            "median": round(statistics.median(times) * 1000, 1),
            "max": round(max(times) * 1000, 1),
        }
        results[f"{name}_registered"] = digest.total().registered
        print(f"{label}: {name} digest {results[f'{name}_digest_ms']} ms", flush=True)
        start = time.perf_counter()
        await asyncio.to_thread(reports.chart_png, digest, core, t)
        results[f"{name}_chart_s"] = round(time.perf_counter() - start, 3)
    await db.dispose()
    if not first:
        return results

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
    parser.add_argument(
        "--people", default="1000000,5000000", help="sizes, comma-separated (SQLite: the first)"
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    sizes = [int(n) for n in args.people.split(",")]
    results = []
    with TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            results.append(asyncio.run(run("sqlite", url, sizes[0], Path(tmp), first=True)))
        if args.only != "sqlite":
            for n, people in enumerate(sizes):
                with scratch_postgres(PG_ADMIN, "admin") as url:
                    results.append(
                        asyncio.run(run("postgresql", url, people, Path(tmp), first=n == 0))
                    )
    pg = [r for r in results if r["database"] == "postgresql"]
    if len(pg) > 1:
        for name in ("national", "province"):
            ratio = pg[-1][f"{name}_digest_ms"]["median"] / pg[0][f"{name}_digest_ms"]["median"]
            print(
                f"postgresql: {name} digest at {pg[-1]['people']:,} / at {pg[0]['people']:,}: "
                f"{ratio:.2f}"
            )
    write_results("admin", results)


if __name__ == "__main__":
    main()
