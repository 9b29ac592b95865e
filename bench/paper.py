"""Paper forms: `cdht import` of a 10,000-row spreadsheet into one commune, on SQLite and
PostgreSQL (target: 10 s each), then the same file again (nobody added twice).

    make bench-paper          (or: python -m bench.paper --rows 10000)

The whole command is timed as an operator runs it: start-up, reading the xlsx, checking
every row, scoring and writing. Figures go in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.admin import PG_ADMIN, run_measured
from bench.common import letters, scratch_postgres, write_results

COMMUNE = 70  # Phường Hoàn Kiếm


def make_file(template: Path, out: Path, rows: int) -> None:
    from openpyxl import load_workbook

    book = load_workbook(template)
    sheet = book["Danh sách"]
    for n in range(rows):
        answers = [1 + (n + k) % 3 for k in range(10)] if n % 5 else [None] * 10
        values = [
            f"Nguyễn {letters(n)} {letters(n // 7)}",
            1940 + n % 60,
            ("Nam", "Nữ")[n % 2],
            1 + n % 4,
            f"Thôn {n % 12 + 1}",
            f"09{n:08d}" if n % 3 else None,
            *answers,
        ]
        for c, value in enumerate(values, start=1):
            sheet.cell(row=n + 2, column=c, value=value)
    book.save(out)


def run(label: str, url: str, rows: int, tmp: Path) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url, "CDHT_LANGUAGE": "en"}
    cdht = [sys.executable, "-m", "bot.cli"]
    template, filled = tmp / "template.xlsx", tmp / "forms.xlsx"
    if not filled.exists():
        run_measured([*cdht, "import", "--template", str(template)], env, tmp)
        make_file(template, filled, rows)
    command = [*cdht, "import", str(filled), "--scope", f"commune:{COMMUNE}"]
    first, first_peak = run_measured(command, env, tmp)
    again, again_peak = run_measured(command, env, tmp)
    result = {
        "database": label,
        "rows": rows,
        "import_s": round(first, 2),
        "import_peak_mb": round(first_peak, 1),
        "again_s": round(again, 2),
        "again_peak_mb": round(again_peak, 1),
    }
    print(f"{label}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results = []
    with TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            results.append(run("sqlite", url, args.rows, Path(tmp)))
        if args.only != "sqlite":
            with scratch_postgres(PG_ADMIN, "paper") as url:
                results.append(run("postgresql", url, args.rows, Path(tmp)))
    write_results("paper", results)


if __name__ == "__main__":
    main()
