"""linkbridge with a big blog's data: feed stampede, table changes, start-up, distinct URLs.

    .venv/bin/python bench/scale.py [--scenario all|stampede|table|hits|counter]
        [--linkbacks 200000]
        [--mappings 100000] [--distinct 1000000] [--linkbridge PATH]

Each scenario starts `linkbridge serve` pinned to core 0 on a temp store, seeds it with rows
written straight into SQLite (the schema's linkbacks and mappings tables, the same in every
version, so `--linkbridge` may point at an older build for before/after figures), and drives it
from core 1:

- **stampede**: N linkbacks (two thirds approved); 50 pollers of `/comments/feed/` and a
  `/readyz` prober run while `moderate approve` changes one row; feed and readiness latencies.
- **table**: M mappings; serve → `/readyz` 200 start-up time; then 20 redirect pollers while
  `redirects map` and `moderate block` change the store: redirect latency around each change.
- **hits**: after the instant, wrk asks for D distinct retired URLs (a Lua counter) and then for
  one URL D times: CPU µs per request of each, and the store's size and hit rows afterwards.
- **counter**: the in-memory hit counter alone, in this process: D distinct paths, D requests
  for one path, and a heavy path arriving after the counter is full; CPU µs per count.

Prints one JSON document (also written to bench/results/scale.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Server, free_port, get, linkbridge_executable
from wrk import run_wrk, wrk_command

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "naringsbloggen.toml"
RESULTS = ROOT / "bench" / "results" / "scale.json"
BEFORE = "2017-12-01T12:00:00+01:00"
AFTER = "2018-03-01T12:00:00+01:00"
SEED_POST_ID = 2187
BLOG = "/innovation/"
TARGET = "https://www.regeringen.se/sveriges-regering/naringsdepartementet/"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    """Milliseconds: count, p50, p99, max."""
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms, default=0.0), 2),
    }


class Instance:
    """A temp store and the `linkbridge` command line that uses it."""

    def __init__(self, tmp: Path, exe: list[str], extra: str = "", *, jobs: bool = True) -> None:
        self.jobs = jobs
        """Pass --jobs after the instant (builds from before it had no such flag: False)."""
        self.tmp = tmp
        self.exe = exe
        self.db = tmp / "linkbridge.db"
        self.overlay = tmp / "overlay.toml"
        self.overlay.write_text(
            f'[store]\nurl = "sqlite:///{self.db}"\npoll_interval_s = 0.5\n'
            f'[server]\nlog_level = "warning"\n{extra}',
            encoding="utf-8",
        )
        self.config = ["--config", str(EXAMPLE_CONFIG), "--config", str(self.overlay)]

    def server(self, at: str, name: str) -> Server:
        port = free_port()
        cmd = [*self.exe, "serve", *self.config, "--at", at, "--port", str(port)]
        if at == AFTER and self.jobs:  # after the instant `--at` is a preview unless --jobs
            cmd.append("--jobs")
        return Server(name, cmd, port, self.tmp / f"{name}.log")

    def cli(self, *args: str) -> float:
        """Run one CLI command on the store; seconds it took."""
        started = time.perf_counter()
        subprocess.run([*self.exe, *args, *self.config], check=True, capture_output=True,
                       timeout=300)
        return time.perf_counter() - started

    def migrate(self) -> None:
        """Start once so that the store exists with this build's schema (and the example WXR)."""
        server = self.server(BEFORE, "migrate")
        server.start("/readyz")
        server.stop()


def seed_linkbacks(db: Path, count: int) -> int:
    """`count` linkbacks on the seed post, two thirds approved; returns a held row's id."""
    start = datetime(2013, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        state = "held" if i % 3 == 2 else "approved"
        at = (start + timedelta(minutes=i)).isoformat(timespec="microseconds")
        host = f"blogg{i % 5000}.example.se"
        rows.append((BLOG, SEED_POST_ID, f"https://{host}/inlagg/{i}/", f"{host}/inlagg/{i}",
                     host, "pingback", state, f"Inlägg {i}", "Ett utdrag om upphandling.",
                     at, at, at))
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO linkbacks (blog, post_id, source_url, source_canonical, source_host,"
            " protocol, state, title, excerpt, created_at, updated_at, verified_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        held = conn.execute("SELECT MAX(id) FROM linkbacks WHERE state = 'held'").fetchone()[0]
    return int(held)


def seed_mappings(db: Path, count: int) -> None:
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO mappings (source, target, note, updated_at) VALUES (?, ?, '', ?)",
            [(f"/innovation/arkiv/{i}/", f"{TARGET}?n={i}", now) for i in range(count)],
        )


async def poll(session: aiohttp.ClientSession, url: str, stop: asyncio.Event,
               out: list[tuple[float, float]]) -> None:
    """GET `url` in a loop until `stop` is set; (start, seconds) of each answer."""
    while not stop.is_set():
        started = time.monotonic()
        async with session.get(url, allow_redirects=False) as resp:
            await resp.read()
        out.append((started, time.monotonic() - started))


async def load(urls: list[tuple[str, int]], seconds: float, change: Any) -> tuple[
    dict[str, list[tuple[float, float]]], float
]:
    """Run pollers (url, concurrency): `seconds` / 3 of steady load, then `change` (in a
    thread), then `seconds` more from the moment the change returned."""
    stop = asyncio.Event()
    results: dict[str, list[tuple[float, float]]] = {u: [] for u, _ in urls}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(poll(session, u, stop, results[u]))
                 for u, n in urls for _ in range(n)]
        await asyncio.sleep(seconds / 3)
        await asyncio.to_thread(change)
        changed_at = time.monotonic()
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
    return results, changed_at


def stampede(args: argparse.Namespace, exe: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="linkbridge-scale-") as name:
        inst = Instance(Path(name), exe, jobs=not args.linkbridge)
        inst.migrate()
        held = seed_linkbacks(inst.db, args.linkbacks)
        server = inst.server(BEFORE, "stampede")
        server.start("/readyz")
        try:
            base = server.base
            cold_started = time.perf_counter()
            get(server.port, "/comments/feed/")
            cold = time.perf_counter() - cold_started
            results, changed_at = asyncio.run(load(
                [(base + "/comments/feed/", 50), (base + "/readyz", 1)],
                args.seconds,
                lambda: inst.cli("moderate", "approve", str(held)),
            ))
        finally:
            server.stop()
    after = {u: [d for s, d in r if s >= changed_at] for u, r in results.items()}
    return {
        "linkbacks": args.linkbacks,
        "cold_feed_ms": round(cold * 1000, 1),
        "feed_after_change": summary(after[base + "/comments/feed/"]),
        "readyz_after_change": summary(after[base + "/readyz"]),
        "feed_all": summary([d for _, d in results[base + "/comments/feed/"]]),
    }


def table(args: argparse.Namespace, exe: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="linkbridge-scale-") as name:
        inst = Instance(Path(name), exe, jobs=not args.linkbridge)
        inst.migrate()
        seed_mappings(inst.db, args.mappings)
        startups, startup_cpu = [], []
        for i in range(3):
            server = inst.server(AFTER, f"startup-{i}")
            started = time.perf_counter()
            server.start("/readyz")  # polls every 0.1 s: resolution 0.1 s
            while get(server.port, "/readyz")[0] != 200:
                time.sleep(0.02)
            startups.append(time.perf_counter() - started)
            startup_cpu.append(server.cpu_seconds())  # steadier than wall time when shared
            server.stop()
        server = inst.server(AFTER, "table")
        server.start("/readyz")
        changes: dict[str, Any] = {}
        try:
            url = server.base + "/innovation/arkiv/7/"
            for label, command in (
                ("map_one_url", ("redirects", "map", "/innovation/ny-karta/", TARGET)),
                ("block_one_host", ("moderate", "block", "spam.example")),
            ):
                results, changed_at = asyncio.run(load(
                    [(url, 20)], args.seconds, lambda c=command: inst.cli(*c)
                ))
                rows = results[url]
                changes[label] = {
                    "before_change": summary([d for s, d in rows if s < changed_at]),
                    "after_change": summary([d for s, d in rows if s >= changed_at]),
                }
        finally:
            server.stop()
    return {
        "mappings": args.mappings,
        "startup_s": [round(s, 2) for s in startups],
        "startup_median_s": round(statistics.median(startups), 2),
        "startup_cpu_s": [round(s, 2) for s in startup_cpu],
        "startup_cpu_median_s": round(statistics.median(startup_cpu), 2),
        "redirect_latency": changes,
    }


HITS_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/innovation/crawl/" .. counter .. "/%s")
end
"""


def hits(args: argparse.Namespace, exe: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="linkbridge-scale-") as name:
        tmp = Path(name)
        inst = Instance(tmp, exe, jobs=not args.linkbridge)
        inst.migrate()
        server = inst.server(AFTER, "hits")
        server.start("/readyz")
        script = tmp / "distinct.lua"
        script.write_text(HITS_LUA % ("x" * 100), encoding="utf-8")
        out: dict[str, Any] = {"distinct_target": args.distinct}
        try:
            for label, path, lua in (
                ("distinct", "/", script),
                ("repeated", "/innovation/crawl/1/" + "x" * 100, None),
            ):
                cmd = wrk_command(server.base + path, duration_s=int(args.hits_seconds),
                                  connections=50, headers=(), script=lua)
                cpu = server.cpu_seconds()
                result = run_wrk(cmd)
                out[label] = {
                    "requests": result.requests,
                    "requests_per_s": round(result.requests_per_s),
                    "cpu_us_per_request": round(
                        (server.cpu_seconds() - cpu) / result.requests * 1e6, 1
                    ),
                }
            status, ready = get(server.port, "/readyz")[0], get(server.port, "/readyz")[2]
            out["readyz_hits"] = json.loads(ready).get("hits") if status == 200 else None
        finally:
            server.stop()
        with sqlite3.connect(inst.db) as conn:
            out["hit_rows"] = conn.execute("SELECT COUNT(*) FROM hits").fetchone()[0]
            out["hit_rows_path_bytes"] = conn.execute(
                "SELECT COALESCE(SUM(LENGTH(path)), 0) FROM hits"
            ).fetchone()[0]
        out["store_bytes"] = sum(p.stat().st_size for p in tmp.glob("linkbridge.db*"))
    return out


def counter(args: argparse.Namespace, exe: list[str]) -> dict[str, Any]:
    """The hit counter alone, in this process (this build's code): `--distinct` distinct paths,
    then as many requests for one path, then a heavy path arriving once the counter is full
    (after 20,000 distinct paths, one request in ten). CPU µs per count; the heavy path's row."""
    from linkbridge.clock import ShiftedClock
    from linkbridge.model import RuleKind
    from linkbridge.retire.hits import HitCounter

    now = datetime.fromisoformat(AFTER)
    tail = "x" * 100
    out: dict[str, Any] = {"distinct_target": args.distinct, "hit_keys_max": 10_000}
    runs = {
        "distinct": [f"/innovation/crawl/{i}/{tail}" for i in range(args.distinct)],
        # equal strings, not one object: a request's path is a new string each time
        "repeated": [f"/innovation/crawl/{i % 1}/{tail}" for i in range(args.distinct)],
        "heavy_late": [f"/innovation/crawl/{i}/{tail}" if i % 10 or i < 20_000
                       else f"/hot/{i % 1}/" for i in range(args.distinct)],
    }
    for label, paths in runs.items():
        hits = HitCounter(10_000, ShiftedClock(now))  # each count passes `now`
        count, rule = hits.count, RuleKind.DEFAULT
        started = time.process_time()
        for path in paths:
            count(path, 301, rule, now)
        cpu = time.process_time() - started
        batch = hits.drain()
        rows = {h.path: h.count for h in batch.paths}
        out[label] = {
            "counts": len(paths),
            "cpu_us_per_count": round(cpu / len(paths) * 1e6, 3),
            "rows": len(rows),
            "other_paths": sum(d.other_paths for d in batch.days),
        }
        if label == "heavy_late":
            out[label]["heavy_row"] = rows.get("/hot/0/", 0)
            out[label]["heavy_requests"] = paths.count("/hot/0/")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="all",
                        choices=("all", "stampede", "table", "hits", "counter"))
    parser.add_argument("--linkbacks", type=int, default=200_000)
    parser.add_argument("--mappings", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=1_000_000,
                        help="distinct URLs to ask for (bounded by --hits-seconds)")
    parser.add_argument("--seconds", type=float, default=9.0, help="load per change")
    parser.add_argument("--hits-seconds", type=float, default=0.0,
                        help="wrk duration per hits run (default: enough for --distinct at "
                        "about 10,000 req/s)")
    parser.add_argument("--linkbridge", default="", help="a linkbridge executable to measure")
    args = parser.parse_args()
    # Start-up as an installed package sees it: bytecode written once (by the first, migrating
    # start) and read after, not every module compiled on every start.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if not args.hits_seconds:
        args.hits_seconds = max(2.0, args.distinct / 10_000)
    exe = [args.linkbridge] if args.linkbridge else linkbridge_executable()
    chosen = (("stampede", "table", "hits", "counter") if args.scenario == "all"
              else (args.scenario,))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "linkbridge": " ".join(exe),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    for name in chosen:
        print(f"scale: {name} ...", file=sys.stderr, flush=True)
        scenarios = {"stampede": stampede, "table": table, "hits": hits, "counter": counter}
        results[name] = scenarios[name](args, exe)
        print(json.dumps({name: results[name]}, indent=1), file=sys.stderr, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
