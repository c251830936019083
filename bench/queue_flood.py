"""A queue flood against `linkbridge serve`: how long a good webmention waits behind trickling ones.

    .venv/bin/python bench/queue_flood.py [--flood 1000] [--hosts 100] [--cap-s 120]

Starts linkbridge twice in one run on the example config (before the instant, a temp store,
loopback sources allowed): once as shipped, once as a reference with the queue as it was
(`jobs.workers = 4`, `jobs.max_share = 1`, `fetch.min_bytes_per_s = 0`). Each gets `--flood`
webmentions from one IPv6 /64 (X-Forwarded-For from loopback, a trusted proxy) whose sources
sit on `--hosts` loopback addresses and send a byte every quarter second; then one webmention
from another address whose source answers at once. Prints how long that one took to be
verified; a run that waits past `--cap-s` is reported as "> cap".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
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
REFERENCE = ("min_bytes_per_s = 0\n", "[jobs]\nworkers = 4\nmax_share = 1.0\n")
"""The queue before fair claiming and the minimum transfer rate: ([fetch] keys, more tables)."""


async def trickle(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/html"})
    await resp.prepare(request)
    for _ in range(240):
        await resp.write(b" ")
        await asyncio.sleep(0.25)
    return resp


async def good(request: web.Request) -> web.Response:
    return web.Response(
        text=f"<title>Källa</title><p><a href='{SEED_POST}'>inlägget</a></p>",
        content_type="text/html",
    )


async def measure(base: str, port: int, flood: int, hosts: int, cap_s: float) -> float | None:
    """Flood, then send the good webmention; seconds until it is verified (None: past cap)."""
    app = web.Application()
    app.router.add_get("/good", good)
    app.router.add_get("/{tail:.*}", trickle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    for n in range(1, hosts + 2):  # 127.0.0.1 serves the good page; the rest trickle
        await web.TCPSite(runner, f"127.0.0.{n}", port).start()
    try:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            sem = asyncio.Semaphore(32)

            async def send(source: str, sender: str) -> str:
                async with sem, session.post(
                    f"{base}/webmention", data={"source": source, "target": SEED_POST},
                    headers={"X-Forwarded-For": sender},
                ) as resp:
                    if resp.status != 201:
                        raise SystemExit(f"webmention answered {resp.status}: {await resp.text()}")
                    return resp.headers["Location"].rsplit("/", 1)[1]

            await asyncio.gather(*(
                send(f"http://127.0.0.{2 + i % hosts}:{port}/{i}", f"2001:db8:bad:1::{i:x}")
                for i in range(flood)
            ))
            started = time.perf_counter()
            public_id = await send(f"http://127.0.0.1:{port}/good", "198.51.100.7")
            while time.perf_counter() - started < cap_s:
                async with session.get(
                    f"{base}/webmention/{public_id}", headers={"Accept": "application/json"}
                ) as resp:
                    status = (await resp.json()).get("status")
                if status != "queued":
                    return time.perf_counter() - started
                await asyncio.sleep(0.1)
            return None
    finally:
        await runner.cleanup()


def run(
    tmp: Path, name: str, extra: tuple[str, str], args: argparse.Namespace
) -> float | None:
    port, source_port = free_port(), free_port()
    overlay = tmp / f"{name}.toml"
    overlay.write_text(
        f'[store]\nurl = "sqlite:{tmp}/{name}.db"\n'
        f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [{source_port}]\n{extra[0]}'
        "[webmention]\nrate_per_min = 1000000\n[moderation]\nper_host_daily_cap = 1000000\n"
        + extra[1],
        encoding="utf-8",
    )
    server = Server(
        name,
        [*linkbridge_executable(), "serve", "--port", str(port),
         "--config", str(ROOT / "config" / "naringsbloggen.toml"), "--config", str(overlay),
         "--at", "2017-12-01T12:00:00+01:00"],
        port,
        tmp / f"{name}.log",
    )
    try:
        server.start("/readyz")
        return asyncio.run(measure(server.base, source_port, args.flood, args.hosts, args.cap_s))
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--cap-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= 250:
        parser.error("--hosts: 1 to 250 loopback addresses")
    with tempfile.TemporaryDirectory(prefix="lb-queue-") as tmp_name:
        tmp = Path(tmp_name)
        results = {
            "linkbridge": run(tmp, "linkbridge", ("", ""), args),
            "reference": run(tmp, "reference", REFERENCE, args),
        }
    shown = {k: f"{v:.2f}s" if v is not None else f">{args.cap_s:g}s" for k, v in results.items()}
    print(f"flood={args.flood} hosts={args.hosts} good_verified_after: "
          + " ".join(f"{k}={v}" for k, v in shown.items()))
    return 0 if results["linkbridge"] is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
