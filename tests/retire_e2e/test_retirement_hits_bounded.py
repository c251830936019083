"""A crawler asking for many distinct, long retired paths cannot grow the store without bound.

Against a real `linkbridge serve` after the instant: every request is still counted exactly in
its day's totals, the most-hit path keeps its own exact row, the rest are "other paths" (shown
in /readyz and `linkbridge hits`), and the store stays small while the attack sent nearly two
megabytes of paths.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import aiohttp

from tests.support.serve import Served, config_args, run_cli, store_overlay

AFTER_AT = "2018-03-01T12:00:00+01:00"
HOT = "/innovation/2013/10/mest-last/"
LIMITS = """
[retire]
hit_keys_max = 300
hit_path_max_chars = 512
hit_paths_per_day_max = 40
hit_flush_interval_s = 60
"""


def attack_paths() -> list[str]:
    long_ones = [f"/innovation/{i}-" + "x" * 2000 + "/" for i in range(700)]  # past the length cap
    short_ones = [f"/transport/{i}-" + "y" * 300 + "/" for i in range(1200)]  # past the row caps
    # The hot path comes once the flood has filled the in-memory counter (`hit_keys_max`):
    # space-saving gives it the place of a least-hit path, and holds it since it is hit more
    # often than the flood's paths. The store then keeps the day's most-hit rows exactly.
    flood = long_ones + short_ones
    paths = flood[:1000]
    for i, path in enumerate(flood[1000:]):
        paths.append(path)
        if i % 9 == 0:
            paths.append(HOT)
    return paths

async def send(base: str, paths: list[str]) -> list[int]:
    queue = list(reversed(paths))
    statuses: list[int] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def worker() -> None:
            while queue:
                path = queue.pop()
                async with session.get(base + path, allow_redirects=False) as resp:
                    statuses.append(resp.status)

        await asyncio.gather(*(worker() for _ in range(8)))
    return statuses


def test_many_distinct_long_paths_leave_a_bounded_store(tmp_path: Path) -> None:
    overlay = store_overlay(tmp_path, LIMITS)
    # --jobs: an instance at a later instant is a preview that flushes no hits unless told to.
    server = Served(*config_args(overlay), "--at", AFTER_AT, "--jobs")
    paths = attack_paths()
    try:
        server.wait_started()
        statuses = asyncio.run(send(server.base, paths))
        assert statuses.count(301) == len(paths)
        status, ready = server.get_json("/readyz")
        assert status == 200
        assert ready["hits"]["other_paths_since_start"] >= 700  # the long ones, at least
        assert ready["hits"]["evicted_paths_since_start"] > 0
    finally:
        assert server.stop() == 0  # the last flush happens on the way out

    db = tmp_path / "linkbridge.db"
    with sqlite3.connect(db) as conn:
        total, other = conn.execute(
            "SELECT SUM(hits), SUM(other_paths) FROM hit_days"
        ).fetchone()
        rows = conn.execute("SELECT path, count FROM hits").fetchall()
    assert total == len(paths)  # every request counted, exactly
    assert len(rows) <= 40
    assert max(len(p) for p, _ in rows) <= 512
    assert dict(rows)[HOT.rstrip("/")] == paths.count(HOT)  # the most-hit path, exactly
    assert sum(n for _, n in rows) + other == total  # the rest is in "other paths"
    sent_bytes = sum(len(p) for p in paths)
    assert sent_bytes > 1_500_000
    assert db.stat().st_size < 300_000  # pages for 40 rows and a few totals, not megabytes

    listed = run_cli("hits", "--top", "5", *config_args(overlay))
    assert listed.returncode == 0, listed.stderr
    assert f"all days: {total} hits; {other} in other paths" in listed.stdout
    days = run_cli("hits", "--days", "1", "--json", "--at", AFTER_AT, *config_args(overlay))
    assert days.returncode == 0, days.stderr
    assert sum(d["other_paths"] for d in json.loads(days.stdout)) == other
