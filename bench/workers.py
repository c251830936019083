"""Redirect requests/s of `serve --workers 1` and `--workers 2` against one bare aiohttp process,
measured in the same run.

    .venv/bin/python bench/workers.py [--duration 5] [--connections 64] [--rounds 2]

All servers may use every core (no taskset: the point is how N processes spread over them);
wrk runs beside them with two threads, so on a 2-core machine it takes a share of the same
cores, as a load balancer on the box would. Rounds alternate reference, 1 worker, 2 workers;
medians are reported with each one's ratio to the reference. The store is SQLite (redirects
never touch it). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from servers import Server, free_port, get, linkbridge_executable
from wrk import run_wrk

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "naringsbloggen.toml"
AFTER = "2018-03-01T12:00:00+01:00"
OLD_URL = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"


def unpinned(server: Server) -> Server:
    """The servers' `taskset -c 0` dropped: workers must be free to use every core."""
    server.cmd = server.cmd[3:]
    return server


def linkbridge(tmp: Path, workers: int) -> Server:
    overlay = tmp / f"overlay-{workers}.toml"
    overlay.write_text(
        f'[store]\nurl = "sqlite:///{tmp}/linkbridge-{workers}.db"\n'
        '[server]\nlog_level = "info"\n',
        encoding="utf-8",
    )
    port = free_port()
    cmd = [*linkbridge_executable(), "serve", "--config", str(EXAMPLE_CONFIG),
           "--config", str(overlay), "--at", AFTER, "--port", str(port),
           "--workers", str(workers)]
    return unpinned(Server(f"linkbridge --workers {workers}", cmd, port,
                           tmp / f"linkbridge-{workers}.log"))


def reference(tmp: Path, location: str) -> Server:
    body = tmp / "feed.xml"
    body.write_text("<rss/>", encoding="utf-8")
    table = tmp / "redirects.json"
    table.write_text(json.dumps({"default": location, "paths": {OLD_URL: location}}),
                     encoding="utf-8")
    port = free_port()
    cmd = [sys.executable, str(ROOT / "bench" / "reference_server.py"), "--port", str(port),
           "--feed-body", str(body), "--redirects", str(table)]
    return unpinned(Server("bare aiohttp", cmd, port, tmp / "reference.log"))


def wrk(server: Server, args: argparse.Namespace) -> float:
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
           server.base + OLD_URL]
    return run_wrk(cmd).requests_per_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c")
    parser.add_argument("--rounds", type=int, default=2, help="alternations")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lb-workers-") as tmp_name:
        tmp = Path(tmp_name)
        one, two = linkbridge(tmp, 1), linkbridge(tmp, 2)
        servers: list[Server] = []
        try:
            for server in (one, two):
                server.start("/healthz")
                servers.append(server)
            status, headers, _ = get(one.port, OLD_URL)
            if status != 301:
                raise RuntimeError(f"bench: {OLD_URL} answered {status}, expected 301")
            ref = reference(tmp, headers["location"])
            ref.start(OLD_URL)
            servers.append(ref)
            runs: dict[str, list[float]] = {s.name: [] for s in (ref, one, two)}
            for _ in range(args.rounds):
                for server in (ref, one, two):
                    runs[server.name].append(wrk(server, args))
                    print(f"  {server.name}: {runs[server.name][-1]:.0f} req/s", flush=True)
        finally:
            for server in servers:
                server.stop()
    base = statistics.median(runs[ref.name])
    print(f"\ncpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} "
          f"duration={args.duration}s connections={args.connections} rounds={args.rounds}")
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"{name:24} {median:8.0f} req/s  ratio to bare aiohttp {median / base:.2f}")
    w1, w2 = statistics.median(runs[one.name]), statistics.median(runs[two.name])
    print(f"--workers 2 / --workers 1: {w2 / w1:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
