"""Helpers the benchmarks share."""

from __future__ import annotations

import json
import os
import platform
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

RESULTS = Path(__file__).resolve().parent / "results"


def letters(n: int) -> str:
    """A name part from a number (names may not contain digits): 0 → "A", 27 → "Bb"."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word = chr(ord("a") + digit) + word
        if n == 0:
            return word.capitalize()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_results(name: str, results: list[dict[str, Any]]) -> Path:
    """bench/results/<name>-<UTC time>.json with the machine's description; its path."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{name}-{stamp}.json"
    machine = {
        "date": stamp,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"written to {out.relative_to(RESULTS.parent.parent)}")
    return out


@contextmanager
def scratch_postgres(admin_url: str, label: str = "") -> Iterator[str]:
    """A new, empty PostgreSQL database beside `admin_url`'s (its URL), dropped after."""
    name = f"cdht_bench_{label.replace('-', '_')}{'_' if label else ''}{uuid.uuid4().hex[:10]}"

    def admin(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def number_series(conn: Any, people: int, communes: list[tuple[int, int]]) -> str:
    """A FROM item `s` with a column g = 1..people (generate_series on PostgreSQL, a
    recursive CTE on SQLite), and a temporary table bench_communes(n, code, province)
    numbering `communes` from 0, so person g lives in commune g % len(communes)."""
    from sqlalchemy import text

    conn.execute(
        text("CREATE TEMPORARY TABLE bench_communes (n INTEGER, code INTEGER, province INTEGER)")
    )
    conn.execute(
        text("INSERT INTO bench_communes VALUES (:n, :code, :province)"),
        [{"n": n, "code": c, "province": p} for n, (c, p) in enumerate(communes)],
    )
    if conn.dialect.name == "postgresql":
        return f"generate_series(1, {people}) AS s(g)"
    return (
        f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {people}) "
        "SELECT g FROM s) AS s"
    )
