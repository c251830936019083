"""N concurrent pingbacks with distinct sources against `linkbridge serve`: answer times, CPU.

    .venv/bin/python bench/pingback_flood.py [--pingbacks 2000] [--store-url URL]
        [--source-delay-s S] [--page-bytes B] [--senders N] [--reference] [--linkbridge PATH]

Starts linkbridge (example config before the instant, a temp store, loopback sources allowed)
pinned to core 0, and a loopback source site whose every page links to the seed post; sends
the pingbacks at once from this process and prints how long the answers took. WordPress's own
client gives up after 3 s, so the 95th percentile is the figure to watch.

`cpu_ms_per_pingback` is the server's CPU time (user + system, all threads) from the first
ping until it is quiet again (verifications that overran the budget finish in the background)
divided by the pingbacks; `pingbacks_per_cpu_s` is what one core handles per second at that
cost (with fast sources every page links to the target, so each pingback ends verified,
inline or in the background). `server_p50/p95/max` are the server's own answer times from its
log (handler start to answer). `--source-delay-s` makes every source page wait before it
answers (slow sources: past `pingback.inline_budget_s` every answer must be "queued", in time);
`--page-bytes` pads each page with paragraphs to about that size; `--senders N` sends from N
processes started together (the load generator's own loop then delays the answers less).
`--reference` then floods bench/pingback_reference.py (bare aiohttp: parse, fetch, lxml
parse, answer; no store) the same way, pinned to the same core, and times a raw lxml parse
of the same page in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
import xmlrpc.client
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Server, free_port, linkbridge_executable

ROOT = Path(__file__).resolve().parents[1]
WORDPRESS_TIMEOUT_S = 3.0
SEED_POST = (
    "http://www.naringsbloggen.se/innovation/innovationsstrategi/"
    "innovationsupphandling-pa-frammarsch/"
)


PARAGRAPH = (
    "<p>Innovationsupphandling är ett sätt för offentliga aktörer att efterfråga nya lösningar"
    " i stället för att köpa det som redan finns. <a href='/om/'>Om bloggen</a> och"
    " <em>fler inlägg</em> i <a href='https://example.org/kategori/innovation/'>samma"
    " kategori</a>.</p>\n"
)
NAV = "<li><a href='https://example.org/sida/{0}/'>Sida {0}</a></li>"


def source_page(page_bytes: int) -> str:
    """The source page: a title and a link to the seed post in the middle of an article, with
    about `page_bytes` of navigation and paragraphs around it (a blog page's shape)."""
    link = f"<p>Läs <a href='{SEED_POST}'>inlägget</a> hos Näringsbloggen.</p>"
    room = max(0, page_bytes - 200 - len(link))
    nav = "".join(NAV.format(i) for i in range(room // 4 // len(NAV)))
    paragraphs = PARAGRAPH * ((room - len(nav)) // len(PARAGRAPH))
    half = len(paragraphs) // 2 // len(PARAGRAPH) * len(PARAGRAPH)
    return (f"<html><head><title>Källa</title></head><body><nav><ul>{nav}</ul></nav>"
            f"<article><h1>Ett inlägg</h1><div class='entry'>{paragraphs[:half]}{link}"
            f"{paragraphs[half:]}</div></article></body></html>")


async def serve_sources(port: int, delay_s: float, page_bytes: int) -> web.AppRunner:
    """The loopback source site: every page links to the seed post, after `delay_s`."""
    text = source_page(page_bytes)

    async def page(request: web.Request) -> web.Response:
        if delay_s:
            await asyncio.sleep(delay_s)
        return web.Response(text=text, content_type="text/html")

    site = web.Application()
    site.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def send(
    base: str, source_port: int, numbers: range, start_at: float = 0.0
) -> list[tuple[float, str]]:
    """Send one pingback per number at once (at wall time `start_at`, if given)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> tuple[float, str]:
            source = f"http://127.0.0.1:{source_port}/2013/10/post-{i}/"
            body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping").encode()
            started = time.perf_counter()
            async with session.post(f"{base}/xmlrpc.php", data=body) as resp:
                text = await resp.text()
            kind = ("fault" if "faultCode" in text or resp.status != 200
                    else "queued" if "queued for verification" in text
                    else "ok" if "registered" in text else "fault")
            return time.perf_counter() - started, kind

        if start_at:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        return await asyncio.gather(*(one(i) for i in numbers))


def _sender(base: str, source_port: int, first: int, last: int, start_at: float) -> list[
    tuple[float, str]
]:
    """One sender process's share of the flood."""
    return asyncio.run(send(base, source_port, range(first, last), start_at))


async def flood(
    base: str, source_port: int, count: int, *, delay_s: float = 0.0, page_bytes: int = 0,
    senders: int = 1,
) -> list[tuple[float, str]]:
    """Send `count` pingbacks at once, from this process or from `senders` processes started
    together (so the load generator's own event loop is not what the answers wait for);
    (seconds, answer kind) for each."""
    runner = await serve_sources(source_port, delay_s, page_bytes)
    try:
        if senders <= 1:
            return await send(base, source_port, range(count))
        loop = asyncio.get_running_loop()
        start_at = time.time() + 1.0 + 0.2 * senders  # every sender process is up by then
        shares = [(count * k // senders, count * (k + 1) // senders) for k in range(senders)]
        with ProcessPoolExecutor(senders, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = await asyncio.gather(*(
                loop.run_in_executor(pool, _sender, base, source_port, a, b, start_at)
                for a, b in shares
            ))
        return [answer for part in parts for answer in part]
    finally:
        await runner.cleanup()


def lxml_parse_us(page_bytes: int, rounds: int = 2000) -> float:
    """CPU µs of one `lxml.html.document_fromstring` of the source page, in this process."""
    import lxml.html

    page = source_page(page_bytes).encode()
    started = time.process_time()
    for _ in range(rounds):
        lxml.html.document_fromstring(page)
    return (time.process_time() - started) / rounds * 1e6


def run_flood(
    server: Server, source_port: int, args: argparse.Namespace
) -> tuple[list[tuple[float, str]], float, float, list[float]]:
    """Answers, wall seconds, server CPU seconds and the server's own answer times (from its
    log: from the request reaching the handler to the answer, s) of one flood."""
    server.start("/readyz")
    try:
        cpu_before = server.cpu_seconds()
        started = time.perf_counter()
        answers = asyncio.run(flood(server.base, source_port, args.pingbacks,
                                    delay_s=args.source_delay_s, page_bytes=args.page_bytes,
                                    senders=args.senders))
        total = time.perf_counter() - started
        cpu = settled_cpu(server) - cpu_before
    finally:
        server.stop()
    commits = commit_times(server.log_path)
    if commits:
        m = len(commits)
        print(f"accept_committed_after p50={commits[m // 2]:.2f}s p95={commits[int(m * 0.95)]:.2f}s"
              f" max={commits[-1]:.2f}s", flush=True)
    return answers, total, cpu, server_times(server.log_path)


def settled_cpu(server: Server, quiet_s: float = 0.5, cap_s: float = 60.0) -> float:
    """The server's CPU seconds once it has gone quiet (verifications that overran their
    budget finish in the background: their work counts too)."""
    deadline = time.monotonic() + cap_s
    cpu = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = server.cpu_seconds()
        if now - cpu < 0.02:
            return now
        cpu = now
    return cpu


def logged_seconds(log_path: Path, *marks: str, field: str) -> list[float]:
    """`field` (milliseconds) of every log line that carries all of `marks`, in seconds."""
    times = []
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        if all(mark in line for mark in marks):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                times.append(float(json.loads(line)[field]) / 1000)
    return sorted(times)


def server_times(log_path: Path) -> list[float]:
    """duration_ms of every logged `POST /xmlrpc.php`, in seconds (none for the reference)."""
    return logged_seconds(log_path, '"request_finished"', '"/xmlrpc.php"', field="duration_ms")


def commit_times(log_path: Path) -> list[float]:
    """committed_after_ms of every `linkback_received` (arrival to accepting commit), in s."""
    return logged_seconds(log_path, '"linkback_received"', field="committed_after_ms")


def summary(
    name: str, answers: list[tuple[float, str]], total: float, cpu: float, server: list[float]
) -> str:
    times = sorted(t for t, _ in answers)
    kinds = {k: sum(1 for _, kind in answers if kind == k) for k in ("ok", "queued", "fault")}
    n = len(times)
    per_ms = cpu / n * 1000 if n else 0.0
    per_s = n / cpu if cpu else 0.0
    within = sum(1 for t in times if t < WORDPRESS_TIMEOUT_S)
    line = (f"{name}pingbacks={n} total={total:.2f}s verified={kinds['ok']} "
            f"queued={kinds['queued']} faults={kinds['fault']} p50={times[n // 2]:.2f}s "
            f"p95={times[int(n * 0.95)]:.2f}s max={times[-1]:.2f}s within_3s={within} "
            f"cpu_s={cpu:.2f} cpu_ms_per_pingback={per_ms:.2f} pingbacks_per_cpu_s={per_s:.0f}")
    if server:
        m = len(server)
        line += (f" server_p50={server[m // 2]:.2f}s server_p95={server[int(m * 0.95)]:.2f}s"
                 f" server_max={server[-1]:.2f}s")
    return line


def overlay_toml(store_url: str, source_port: int, pingbacks: int) -> str:
    """The bench's config overlay: a store, loopback sources on `source_port` allowed, and
    limits high enough for one sender's flood of `pingbacks`."""
    return (
        f'[store]\nurl = "{store_url}"\n'
        f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [{source_port}]\n'
        "per_host_rate_per_min = 1000000\nper_host_concurrency = 50\n"
        "[pingback]\nrate_per_min = 1000000\n[moderation]\nper_host_daily_cap = 1000000\n"
        f"[server]\nmax_connections = {max(512, pingbacks + 64)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pingbacks", type=int, default=2000)
    parser.add_argument("--store-url", default="",
                        help="the store to flood (default: a new SQLite file); for PostgreSQL a"
                             " new, empty database, e.g. postgresql://postgres@127.0.0.1/lb_bench")
    parser.add_argument("--source-delay-s", type=float, default=0.0,
                        help="every source page waits this long before answering")
    parser.add_argument("--page-bytes", type=int, default=0,
                        help="pad each source page to about this many bytes")
    parser.add_argument("--linkbridge", default="",
                        help="another build's `linkbridge` executable (e.g. .venv/bin/linkbridge"
                             " of an older checkout; its own config/naringsbloggen.toml is used)")
    parser.add_argument("--senders", type=int, default=1,
                        help="send from this many processes started together (default: this"
                             " process alone)")
    parser.add_argument("--reference", action="store_true",
                        help="also flood bench/pingback_reference.py and time a raw lxml parse")
    args = parser.parse_args(argv)
    print(f"load_average={' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lb-flood-") as tmp_name:
        tmp = Path(tmp_name)
        port, source_port = free_port(), free_port()
        overlay = tmp / "overlay.toml"
        overlay.write_text(
            overlay_toml(args.store_url or f"sqlite:{tmp}/lb.db", source_port, args.pingbacks),
            encoding="utf-8",
        )
        executable = [args.linkbridge] if args.linkbridge else linkbridge_executable()
        tree = Path(args.linkbridge).resolve().parents[2] if args.linkbridge else ROOT
        server = Server(
            "linkbridge",
            [*executable, "serve", "--port", str(port),
             "--config", str(tree / "config" / "naringsbloggen.toml"), "--config", str(overlay),
             "--at", "2017-12-01T12:00:00+01:00"],
            port,
            tmp / "linkbridge.log",
        )
        answers, total, cpu, own = run_flood(server, source_port, args)
        print(summary("", answers, total, cpu, own), flush=True)
        failed = any(kind == "fault" for _, kind in answers)
        if args.reference:
            ref_port = free_port()
            reference = Server(
                "reference",
                [sys.executable, str(Path(__file__).resolve().parent / "pingback_reference.py"),
                 "--port", str(ref_port)],
                ref_port,
                tmp / "reference.log",
            )
            ref_answers, ref_total, ref_cpu, _ = run_flood(reference, source_port, args)
            print(summary("reference: ", ref_answers, ref_total, ref_cpu, []), flush=True)
            print(f"reference: lxml_parse_us={lxml_parse_us(args.page_bytes):.1f} "
                  f"page_bytes={len(source_page(args.page_bytes).encode())}", flush=True)
            if ref_cpu and cpu:
                print(f"cpu_ratio_reference_to_linkbridge={ref_cpu / cpu:.2f}", flush=True)
    print(f"load_average={' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
