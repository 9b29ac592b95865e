"""Benchmark of the self-scoring core through the dispatcher (no channel).

    make bench            # or: .venv/bin/python -m bench.dispatcher [--db sqlite|postgresql]

For each database, in a fresh process (so peak memory is that database's alone):
  1. saturation: 2,000 simulated citizens, 200 at a time, each registering and completing
     one assessment (22 events) as fast as the bot answers: events/s and time per event;
  2. paced: the same conversations offered at the target rate (1,000 events/s) with
     200 citizens in flight, each pausing between messages as people do: time per event at
     that load;
  3. floor: as many single-row UPDATE transactions as there were events, through the same
     driver, engine and concurrency: the database's own rate, and ours as a share of it.

Each database runs twice in the same `make bench`: with the counters of the admins'
numbers (storage.tallies: triggers on every change) and without them (the triggers
dropped), so their cost shows as the difference in events/s (target: within 10%).

With 200 citizens each waiting for the previous answer, time per event in (1) is mostly
queueing (Little's law: 200 in flight / rate), which is why (2) measures latency at the
target load instead. Results are printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bench.common import letters, percentile, scratch_postgres
from bot.clock import SystemClock
from bot.config import Settings
from bot.core import load_core
from bot.dispatcher import Dispatcher
from flows.model import Event
from storage import tallies
from storage.db import Database

CITIZENS = 2_000
AT_ONCE = 200
TARGET_RATE = 1_000  # events/s for the paced run
PG_ADMIN_URL = os.environ.get("CDHT_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
RESULTS = Path(__file__).resolve().parent / "results"


def script(n: int) -> list[str]:
    """What citizen n types: registration, then a whole assessment, then submit."""
    rnd = random.Random(n)
    communes = ["hoan kiem", "ba dinh", "tay ho", "cau giay", "dong da"]  # each one commune
    lines = [
        "/start",
        f"Người Thử {letters(n)}",
        str(rnd.randint(1950, 2005)),
        str(rnd.randint(1, 3)),
    ]
    lines += [
        str(rnd.randint(1, 4)),
        "ha noi",
        communes[n % len(communes)],
        f"Tổ {n % 30}",
        "Bỏ qua",
        "1",
    ]
    lines += ["1"]  # start self-scoring
    lines += [str(rnd.randint(1, 4)) for _ in range(10)]
    lines += ["1"]  # submit
    return lines


async def run_citizens(
    dispatcher: Dispatcher, tag: str, pace: float | None
) -> tuple[list[float], float, int]:
    """Run every citizen's conversation, AT_ONCE at a time. `pace`: seconds a citizen
    waits between messages (None: no pause). Returns latencies, wall time, wrong replies."""
    latencies: list[float] = []
    wrong = 0
    slots = asyncio.Semaphore(AT_ONCE)

    async def citizen(n: int) -> None:
        nonlocal wrong
        async with slots:
            rnd = random.Random(n)
            for line in script(n):
                if pace:
                    await asyncio.sleep(rnd.uniform(0.5, 1.5) * pace)
                start = time.perf_counter()
                delivery = await dispatcher.handle("bench", f"{tag}-{n}", Event.from_text(line))
                latencies.append(time.perf_counter() - start)
                if not delivery.replies:
                    wrong += 1
            if "Kết quả tự đánh giá" not in "\n".join(r.text for r in delivery.replies):
                wrong += 1

    start = time.perf_counter()
    await asyncio.gather(*(citizen(n) for n in range(CITIZENS)))
    return latencies, time.perf_counter() - start, wrong


async def floor(db: Database, transactions: int) -> float:
    """The database's own rate for single-row update transactions at the same concurrency,
    through the same engine and Database.run as the dispatcher."""

    def setup(conn: Connection) -> None:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, n INTEGER)")
        )
        conn.execute(text("DELETE FROM bench_floor"))
        conn.execute(
            text("INSERT INTO bench_floor (id, n) VALUES (:id, 0)"),
            [{"id": i} for i in range(CITIZENS)],
        )

    await db.run(setup)
    per_worker = transactions // AT_ONCE
    bump = text("UPDATE bench_floor SET n = n + 1 WHERE id = :id")

    async def worker(w: int) -> None:
        for i in range(per_worker):
            row = (w * 7 + i) % CITIZENS
            await db.run(lambda conn, row=row: conn.execute(bump, {"id": row}))

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(AT_ONCE)))
    return per_worker * AT_ONCE / (time.perf_counter() - start)


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    return {
        "events": len(latencies),
        "events_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "wall_s": round(wall, 2),
    }


async def one_database(kind: str, url: str, counters: bool = True) -> dict:
    settings = Settings(database_url=url, campaign_year=2026)
    core = load_core(settings)
    db = Database(url)
    await db.migrate()
    if not counters:

        def drop(conn: Connection) -> None:
            for statement in tallies.drop_triggers_ddl(conn.dialect.name):
                conn.exec_driver_sql(statement)

        await db.run(drop)
    dispatcher = Dispatcher(db, core, SystemClock())
    lat, wall, wrong = await run_citizens(dispatcher, "sat", pace=None)
    saturation = summary(lat, wall) | {"wrong_replies": wrong}
    # Paced: AT_ONCE citizens in flight, each pausing so the offered load is TARGET_RATE.
    pause = AT_ONCE / TARGET_RATE
    lat, wall, wrong = await run_citizens(dispatcher, "paced", pace=pause)
    paced = summary(lat, wall) | {"wrong_replies": wrong, "offered_events_per_s": TARGET_RATE}
    floor_rate = await floor(db, saturation["events"])
    await db.dispose()
    return {
        "database": kind,
        "counters": counters,
        "saturation": saturation,
        "paced": paced,
        "floor_updates_per_s": round(floor_rate, 1),
        "share_of_floor": round(saturation["events_per_s"] / floor_rate, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def child(kind: str, counters: bool) -> dict:
    if kind == "sqlite":
        with TemporaryDirectory() as tmp:
            return asyncio.run(one_database(kind, f"sqlite:///{tmp}/bench.sqlite3", counters))
    with scratch_postgres(PG_ADMIN_URL) as url:
        return asyncio.run(one_database(kind, url, counters))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql"], help="run one database in this process"
    )
    parser.add_argument(
        "--counters", choices=["on", "off"], default="on", help="with --db: the counters' triggers"
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument(
        "--order",
        default="off,on",
        help="without and with the counters, in this order (the first run of a pair on a "
        "cold machine is often slower: run both orders)",
    )
    args = parser.parse_args()
    if args.db:
        print(json.dumps(child(args.db, args.counters == "on")))
        return
    results = []
    for kind in [args.only] if args.only else ["sqlite", "postgresql"]:
        for counters in args.order.split(","):
            done = subprocess.run(
                [sys.executable, "-m", "bench.dispatcher", "--db", kind, "--counters", counters],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(f"{kind}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.platform()}",
        "citizens": CITIZENS,
        "at_once": AT_ONCE,
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dispatcher-{record['date'][:10]}.json").write_text(json.dumps(record, indent=2))
    print(f"{record['date']} — {record['machine']}")
    print("| database | counters | run | events/s | p50 ms | p95 ms | p99 ms | wrong |", end="")
    print(" floor tx/s | share | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for run in ("saturation", "paced"):
            s = r[run]
            counters = "on" if r["counters"] else "off"
            print(
                f"| {r['database']} | {counters} | {run} | {s['events_per_s']} | {s['p50_ms']} | "
                f"{s['p95_ms']} | {s['p99_ms']} | {s['wrong_replies']} | "
                f"{r['floor_updates_per_s']} | "
                f"{r['share_of_floor']:.0%} | {r['peak_rss_mb']} |"
            )

    for kind in ("sqlite", "postgresql"):
        rates = {
            r["counters"]: r["saturation"]["events_per_s"] for r in results if r["database"] == kind
        }
        if len(rates) == 2:
            print(f"{kind}: events/s with the counters {rates[True] / rates[False]:.1%} of without")


if __name__ == "__main__":
    main()
