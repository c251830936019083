"""Feed polls answered by nginx from `linkbridge export nginx` files, by linkbridge itself and by a
bare aiohttp handler, in one run.

    .venv/bin/python bench/nginx_feeds.py [--duration 5] [--connections 50] [--rounds 3] [--quick]
    .venv/bin/python bench/nginx_feeds.py --update-posts 2000 [--rounds 3]

The three servers run on core 0, wrk on core 1. nginx (Debian's, one process) includes the
export, whose upstream is a port nobody listens on: every measured answer comes from nginx's
own files (a pass to linkbridge would be a 502 and fail the run). Each round runs reference,
linkbridge and nginx in turn; the table shows medians of req/s and server CPU µs per request.

`--update-posts N` measures the export's other cost instead, in this process: the CPU and wall
time of writing the feed files (`write_files`, what `export nginx --watch` runs) for a blog of
N posts, each with one imported pingback, in 20 categories: the first export, then per round
one post's title edited (a WXR import), one linkback decision, and a version move that changes
no feed (a moderator's password set); with the feeds rebuilt and the longest event-loop stall
of each. `PYTHONPATH=OTHER/src` measures another build. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from servers import Server, free_port, get, linkbridge_executable
from wrk import WrkFailed, quick_if_asked, run_wrk, wrk_command, wrk_options
from wxr_startup import big_export

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "naringsbloggen.toml"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REF_ETAG = '"reference-etag"'
SERVERS = ("reference", "linkbridge", "nginx")


def nginx_conf(tmp: Path, export: Path, port: int) -> Path:
    """One nginx process (no master: its CPU time is one /proc entry) with the export."""
    conf = tmp / "nginx.conf"
    temps = "\n".join(f"    {name}_temp_path {tmp}/nginx-{name};"
                      for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"""daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}
    include {export}/linkbridge.conf;
    server {{
        listen 127.0.0.1:{port};
        include {export}/linkbridge.conf.location;
    }}
}}
""", encoding="utf-8")
    return conf


def start(tmp: Path, name: str, cmd: list[str], port: int, ready: str,
          started: list[Server]) -> Server:
    server = Server(name, cmd, port, tmp / f"{name}.log")
    started.append(server)
    print(f"  {server.command}", flush=True)
    server.start(ready)
    return server


def expect(server: Server, headers: dict[str, str], status: int) -> dict[str, str]:
    got, answer, _ = get(server.port, "/feed/", headers)
    if got != status:
        raise RuntimeError(f"bench: {server.name} /feed/ {headers} gave {got}, not {status}")
    return answer


def run(args: argparse.Namespace, tmp: Path) -> dict[str, dict[str, dict[str, float]]]:
    overlay = tmp / "overlay.toml"
    overlay.write_text(  # a shutdown far ahead: nginx's clock and linkbridge's agree on "before"
        f'[store]\nurl = "sqlite:///{tmp}/linkbridge.db"\n[server]\nlog_level = "info"\n'
        '[site]\nshutdown_at = 2099-01-01T00:00:00Z\n', encoding="utf-8")
    config = ["--config", str(EXAMPLE_CONFIG), "--config", str(overlay)]
    started: list[Server] = []
    try:
        port = free_port()
        lb = start(tmp, "linkbridge", [*linkbridge_executable(), "serve", *config, "--port",
                                       str(port)], port, "/healthz", started)
        status, headers, body = get(lb.port, "/feed/", {"Accept-Encoding": "identity"})
        if status != 200:
            raise RuntimeError(f"bench: linkbridge /feed/ answered {status}")
        etag = headers["etag"]
        gz_etag = expect(lb, {"Accept-Encoding": "gzip"}, 200)["etag"]
        (tmp / "feed.xml").write_bytes(body)
        (tmp / "redirects.json").write_text('{"default": "https://example.org/", "paths": {}}',
                                            encoding="utf-8")
        port = free_port()
        ref = start(tmp, "reference", [
            sys.executable, str(ROOT / "bench" / "reference_server.py"), "--port", str(port),
            "--feed-body", str(tmp / "feed.xml"), "--feed-type", headers["content-type"],
            "--etag", REF_ETAG, "--redirects", str(tmp / "redirects.json")], port, "/feed/",
            started)
        export = tmp / "export"
        subprocess.run([*linkbridge_executable(), "export", "nginx", str(export), *config,
                        "--upstream", f"127.0.0.1:{free_port()}"], check=True,
                       capture_output=True)
        port = free_port()
        nginx = start(tmp, "nginx", [NGINX, "-c", str(nginx_conf(tmp, export, port)), "-p",
                                     str(tmp)], port, "/feed/", started)
        if expect(nginx, {"Accept-Encoding": "identity"}, 200)["etag"] != etag:
            raise RuntimeError("bench: nginx's ETag is not linkbridge's")
        identity = "Accept-Encoding: identity"
        scenarios = {
            "feed_200": ({"Accept-Encoding": "identity"}, (identity,), (identity,)),
            "feed_304": ({"If-None-Match": etag}, (identity, f"If-None-Match: {etag}"),
                         (identity, f"If-None-Match: {REF_ETAG}")),
            "feed_304_gzip": ({"If-None-Match": gz_etag, "Accept-Encoding": "gzip"},
                              ("Accept-Encoding: gzip", f"If-None-Match: {gz_etag}"),
                              ("Accept-Encoding: gzip", f"If-None-Match: {REF_ETAG}")),
        }
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, (probe, ours, theirs) in scenarios.items():
            want = 200 if name == "feed_200" else 304
            expect(lb, probe, want)
            expect(nginx, probe, want)
            runs: dict[str, list[tuple[float, float]]] = {s: [] for s in SERVERS}
            for _ in range(args.rounds):
                for server in (ref, lb, nginx):
                    cmd = wrk_command(server.base + "/feed/", duration_s=args.duration,
                                      connections=args.connections,
                                      headers=theirs if server is ref else ours)
                    cpu = server.cpu_seconds()
                    result = run_wrk(cmd)
                    cpu_us = (server.cpu_seconds() - cpu) / result.requests * 1e6
                    runs[server.name].append((result.requests_per_s, cpu_us))
            results[name] = {
                s: {"requests_per_s": statistics.median(r for r, _ in runs[s]),
                    "cpu_us_per_request": statistics.median(c for _, c in runs[s])}
                for s in SERVERS
            }
            row = results[name]
            print(f"  {name}: " + ", ".join(
                f"{s} {row[s]['requests_per_s']:.0f}/s {row[s]['cpu_us_per_request']:.1f} µs"
                for s in SERVERS), flush=True)
        return results
    finally:
        for server in started:
            server.stop()


async def update_cost(args: argparse.Namespace, tmp: Path) -> dict[str, list[dict[str, float]]]:
    """CPU, wall time, feeds built and longest loop stall of each `write_files` (see above)."""
    from linkbridge.commands.exporting import write_files
    from linkbridge.live import LiveState
    from linkbridge.log import configure_logging
    from linkbridge.model import LinkbackState
    from linkbridge.phase import Phase
    from linkbridge.posts.importer import import_wxr
    from linkbridge.retire import nginx_feeds
    from linkbridge.settings_loader import load_settings
    from linkbridge.store import open_store

    configure_logging("warning", json=False)
    overlay = tmp / "overlay.toml"
    overlay.write_text(f'[store]\nurl = "sqlite:///{tmp}/linkbridge.db"\n', encoding="utf-8")
    (tmp / "linkbridge.db").touch()
    settings = load_settings([EXAMPLE_CONFIG, overlay])
    builds = [0]
    name = "build_representation"  # counted where the export calls it, in either build
    build = getattr(nginx_feeds, name)

    async def counted(*a: Any, **kw: Any) -> Any:
        builds[0] += 1
        return await build(*a, **kw)

    setattr(nginx_feeds, name, counted)
    store = open_store(settings.store.url)
    await store.open()
    try:
        wxr = tmp / "posts.wxr"
        big_export(wxr, args.update_posts, categories=20)
        await import_wxr(settings, store, wxr, datetime.now(UTC))
        live = LiveState(settings, store)
        await live.refresh(force=True)
        feeds = nginx_feeds.FeedFiles(tmp / "export", settings, live.canonicaliser)

        async def no_reload() -> None:
            return None

        async def measure(name: str, change: Callable[[], Awaitable[object]]) -> dict[str, float]:
            await change()
            builds[0], stall = 0, [0.0]
            stop = asyncio.Event()

            async def ticker() -> None:
                last = time.perf_counter()
                while not stop.is_set():
                    await asyncio.sleep(0.001)
                    now = time.perf_counter()
                    stall[0] = max(stall[0], now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            await asyncio.sleep(0.01)
            cpu, wall = time.process_time(), time.perf_counter()
            await live.refresh()
            await write_files(tmp / "export", live, Phase.BEFORE, "127.0.0.1:9", feeds, no_reload)
            row = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                   "feeds_built": float(builds[0]), "max_stall_ms": stall[0] * 1000}
            stop.set()
            await tick
            print(f"  {name}: {row['cpu_s']:.2f} s CPU, {row['wall_s']:.2f} s wall, "
                  f"{builds[0]} feeds built, longest stall {row['max_stall_ms']:.0f} ms",
                  flush=True)
            return row

        async def nothing() -> None:
            return None

        results: dict[str, list[dict[str, float]]] = {
            "first_export": [await measure("first export", nothing)]}
        for n in range(1, args.rounds + 1):
            async def edit(n: int = n) -> None:
                big_export(wxr, args.update_posts, categories=20, edited=n)
                await import_wxr(settings, store, wxr, datetime.now(UTC))

            async def decide() -> None:
                shown = await store.list_linkbacks(states=[LinkbackState.APPROVED], limit=1)
                await store.set_state(shown[0].id, LinkbackState.DELETED, actor="bench",
                                      reason="bench", now=datetime.now(UTC))

            async def password(n: int = n) -> None:
                await store.set_admin_password("bench", f"hash-{n}")

            for name, change in (("one_post_edited", edit), ("one_decision", decide),
                                 ("version_only", password)):
                results.setdefault(name, []).append(await measure(name, change))
        return results
    finally:
        await store.close()


def print_updates(results: dict[str, list[dict[str, float]]]) -> None:
    print(f"\n{'change':<17}{'CPU s (median)':>16}{'wall s':>9}{'feeds built':>13}"
          f"{'stall ms':>10}")
    for name, rows in results.items():
        print(f"{name:<17}" + "".join(
            f"{statistics.median(r[k] for r in rows):>{w}.{d}f}"
            for k, w, d in (("cpu_s", 16, 2), ("wall_s", 9, 2), ("feeds_built", 13, 0),
                            ("max_stall_ms", 10, 0))))


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n{'scenario':<15}" + "".join(f"{s + ' req/s':>17}" for s in SERVERS)
          + "".join(f"{s + ' µs':>15}" for s in SERVERS) + f"{'nginx/ref':>11}")
    for name, row in results.items():
        ref_rps = row["reference"]["requests_per_s"]
        ratio = row["nginx"]["requests_per_s"] / ref_rps if ref_rps else 0.0
        print(f"{name:<15}" + "".join(f"{row[s]['requests_per_s']:>17.0f}" for s in SERVERS)
              + "".join(f"{row[s]['cpu_us_per_request']:>15.1f}" for s in SERVERS)
              + f"{ratio:>11.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    wrk_options(parser)
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--update-posts", type=int, default=0, metavar="N",
                        help="measure writing the feed files for N posts instead (no wrk)")
    args = parser.parse_args(argv)
    quick_if_asked(args)
    if args.update_posts:
        with tempfile.TemporaryDirectory(prefix="linkbridge-bench-feeds-") as tmp:
            updates = asyncio.run(update_cost(args, Path(tmp)))
        print_updates(updates)
        if args.output is not None:
            args.output.write_text(json.dumps(updates, indent=2) + "\n", encoding="utf-8")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="linkbridge-bench-nginx-") as tmp:
            results = run(args, Path(tmp))
    except (WrkFailed, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print_table(results)
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
