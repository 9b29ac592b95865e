"""The import contract (see ARCHITECTURE): bot → storage → flows, and the pure core does no
I/O. Checked on the source, so a change that breaks it fails here with the line to fix."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the pure core may not import: the shell's libraries, the other layers, and the
# parts of the standard library that reach outside (files, network, clock, randomness).
NOT_IN_FLOWS = {
    "bot",
    "storage",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "aiohttp",
    "telegram",
    "openpyxl",
    "matplotlib",
    "dotenv",
    "vietnam_provinces",
    "asyncio",
    "os",
    "pathlib",
    "io",
    "socket",
    "subprocess",
    "shutil",
    "tempfile",
    "glob",
    "secrets",
    "random",
    "uuid",
    "time",
    "threading",
    "sqlite3",
    "urllib",
    "http",
    "logging",
}
NOT_IN_STORAGE = {"bot", "aiohttp", "telegram", "openpyxl", "matplotlib"}
# Calls that read the clock or touch files.
CALLS_NOT_IN_FLOWS = {"now", "today", "utcnow", "open", "read_text", "read_bytes", "write_text"}


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def broken(package: str, forbidden: set[str]) -> list[str]:
    problems = []
    for path in modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name in imported(tree):
            if name.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return problems


@pytest.mark.parametrize(
    ("package", "forbidden"), [("flows", NOT_IN_FLOWS), ("storage", NOT_IN_STORAGE)]
)
def test_layers_import_only_downwards(package, forbidden):
    assert broken(package, forbidden) == []


def test_the_pure_core_reads_no_clock_and_no_file():
    problems = []
    for path in modules("flows"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CALLS_NOT_IN_FLOWS:
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {name}()")
    assert problems == []


def test_the_contract_catches_a_break(tmp_path, monkeypatch):
    """The checks above would see a violation (they are not vacuous)."""
    package = tmp_path / "flows"
    package.mkdir()
    (package / "bad.py").write_text("import sqlalchemy\nfrom bot.clock import SystemClock\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert broken("flows", NOT_IN_FLOWS) == [
        "flows/bad.py:1 imports sqlalchemy",
        "flows/bad.py:2 imports bot.clock",
    ]
