"""Flood benchmark: the bot's memory when its Zalo webhook is flooded with junk.

    make bench-flood         # or: .venv/bin/python -m bench.flood [--requests 200]

The bot is `cdht run` with the Zalo channel (against the tests' fake OA API) on a fresh
SQLite file. This process sends REQUESTS POSTs of 1 MB at once to the webhook, three times
over: unsigned, with a made-up signature, and deeply nested JSON with a made-up signature;
then checks that the bot still answers. Measured: the bot's resident memory before, and its
peak (VmHWM) after each wave; the status codes it answered. Target (issue 19): at most
200 MB at the peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp

from bench.common import free_port, peak_rss_mb, write_results
from bench.zalo import BotProcess
from tests.fake_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_SECRET_KEY, FakeZalo

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 200
MEGABYTE = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wave(url: str, body: bytes, headers: dict[str, str], count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one() -> None:
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    statuses[response.status] += 1
            except aiohttp.ClientError:
                statuses[0] += 1  # the bot closed the connection without reading it all

        await asyncio.gather(*(one() for _ in range(count)))
    return statuses


async def run(requests: int, workdir: Path) -> dict[str, Any]:
    zalo = FakeZalo(record=False)
    await zalo.start()
    port = free_port()
    env = {
        **os.environ,
        "ZALO_APP_ID": APP_ID,
        "ZALO_APP_SECRET": APP_SECRET,
        "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "ZALO_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        "ZALO_OAUTH_BASE_URL": zalo.url,
        "DATABASE_URL": f"sqlite:///{workdir / 'flood.sqlite3'}",
        "CDHT_HOST": "127.0.0.1",
        "CDHT_LOG_LEVEL": "WARNING",
        "PORT": str(port),
    }
    bot = BotProcess(env)
    health = f"http://127.0.0.1:{port}/healthz"
    await bot.start(health)
    assert bot.proc is not None
    pid, webhook = bot.proc.pid, f"http://127.0.0.1:{port}/zalo/webhook"
    result: dict[str, Any] = {"requests_per_wave": requests, "rss_before_mb": rss_mb(pid)}
    try:
        junk = b'{"app_id": "' + b"x" * MEGABYTE + b'"}'
        nested = b"[" * (MEGABYTE // 2) + b"]" * (MEGABYTE // 2)
        waves = {
            "unsigned_1mb": (junk, {}),
            "forged_signature_1mb": (junk, {"X-ZEvent-Signature": "mac=" + "0" * 64}),
            "forged_nested_1mb": (nested, {"X-ZEvent-Signature": "mac=" + "0" * 64}),
        }
        for name, (body, headers) in waves.items():
            statuses = await wave(webhook, body, headers, requests)
            result[name] = {
                "statuses": dict(statuses),
                "peak_rss_mb": round(peak_rss_mb(pid), 1),
            }
            print(json.dumps({name: result[name]}), flush=True)
        async with aiohttp.ClientSession() as http, http.get(health) as response:
            result["healthz_after"] = response.status
        result["peak_rss_mb"] = round(peak_rss_mb(pid), 1)
    finally:
        await bot.stop()
        await zalo.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        result = asyncio.run(run(args.requests, Path(tmp)))
    write_results("flood", [result])
    print(
        f"peak RSS {result['peak_rss_mb']} MB (before: {result['rss_before_mb']:.1f} MB); "
        f"/healthz after: {result['healthz_after']}",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
