"""N concurrent pingbacks with distinct sources against `linkbridge serve`: answer times.

    .venv/bin/python bench/pingback_flood.py [--pingbacks 2000] [--store-url URL]

Starts linkbridge (example config before the instant, a temp store, loopback sources allowed)
pinned to core 0, and a loopback source site whose every page links to the seed post; sends
the pingbacks at once from this process and prints how long the answers took. WordPress's own
client gives up after 3 s, so the 95th percentile is the figure to watch.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Server, free_port, linkbridge_executable

ROOT = Path(__file__).resolve().parents[1]
SEED_POST = (
    "http://www.naringsbloggen.se/innovation/innovationsstrategi/"
    "innovationsupphandling-pa-frammarsch/"
)


async def flood(base: str, source_port: int, count: int) -> list[tuple[float, str]]:
    """Send `count` pingbacks at once; (seconds, answer kind) for each."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<title>Källa</title><p><a href='{SEED_POST}'>inlägget</a></p>",
            content_type="text/html",
        )

    site = web.Application()
    site.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", source_port).start()
    try:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(i: int) -> tuple[float, str]:
                source = f"http://127.0.0.1:{source_port}/2013/10/post-{i}/"
                body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping").encode()
                started = time.perf_counter()
                async with session.post(f"{base}/xmlrpc.php", data=body) as resp:
                    text = await resp.text()
                kind = "fault" if "faultCode" in text else "queued" if "queued" in text else "ok"
                return time.perf_counter() - started, kind

            return await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pingbacks", type=int, default=2000)
    parser.add_argument("--store-url", default="",
                        help="the store to flood (default: a new SQLite file); for PostgreSQL a"
                             " new, empty database, e.g. postgresql://postgres@127.0.0.1/lb_bench")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lb-flood-") as tmp_name:
        tmp = Path(tmp_name)
        port, source_port = free_port(), free_port()
        overlay = tmp / "overlay.toml"
        overlay.write_text(
            f'[store]\nurl = "{args.store_url or f"sqlite:{tmp}/lb.db"}"\n'
            f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [{source_port}]\n'
            "per_host_rate_per_min = 1000000\nper_host_concurrency = 50\n"
            "[pingback]\nrate_per_min = 1000000\n[moderation]\nper_host_daily_cap = 1000000\n",
            encoding="utf-8",
        )
        server = Server(
            "linkbridge",
            [*linkbridge_executable(), "serve", "--port", str(port),
             "--config", str(ROOT / "config" / "naringsbloggen.toml"), "--config", str(overlay),
             "--at", "2017-12-01T12:00:00+01:00"],
            port,
            tmp / "linkbridge.log",
        )
        try:
            server.start("/readyz")
            started = time.perf_counter()
            answers = asyncio.run(flood(server.base, source_port, args.pingbacks))
            total = time.perf_counter() - started
        finally:
            server.stop()
    times = sorted(t for t, _ in answers)
    kinds = {k: sum(1 for _, kind in answers if kind == k) for k in ("ok", "queued", "fault")}
    n = len(times)
    print(f"pingbacks={n} total={total:.2f}s verified={kinds['ok']} queued={kinds['queued']} "
          f"faults={kinds['fault']} p50={times[n // 2]:.2f}s p95={times[int(n * 0.95)]:.2f}s "
          f"max={times[-1]:.2f}s")
    return 1 if kinds["fault"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
