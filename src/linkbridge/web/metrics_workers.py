"""/metrics for `serve --workers N`: the supervising parent serves `metrics.listen` and sums
what its workers count, so Prometheus sees one service, not whichever worker it reached.

Each worker serves its own exposition on a private loopback port and writes that port to a file
in a directory the parent made (LINKBRIDGE_WORKER_METRICS_DIR). On a scrape the parent reads
every worker's exposition and merges it: counters and histograms are added; gauges, which
describe the shared store (queue depth, snapshot version) or how stale a worker is, take the
largest value. This is what prometheus-client's multiprocess mode does, without its mmap files
on the request path (our counters stay plain dict increments).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

ENV = "LINKBRIDGE_WORKER_METRICS_DIR"
SCRAPE_TIMEOUT_S = 5.0


def port_file(directory: Path, pid: int) -> Path:
    return directory / f"{pid}.port"


def announce(port: int) -> None:
    """A worker tells the parent where its own exposition is (no-op outside --workers)."""
    directory = os.environ.get(ENV)
    if directory:
        path = port_file(Path(directory), os.getpid())
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(port), encoding="ascii")
        tmp.replace(path)


def merge(expositions: Iterable[str]) -> list[Metric]:
    """One family per name: counter and histogram samples added, gauge samples the largest."""
    merged: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for text in expositions:
        for family in text_string_to_metric_families(text):
            if family.name not in merged:
                merged[family.name] = Metric(family.name, family.documentation, family.type)
                values[family.name] = {}
            table = values[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if family.type == "gauge" or sample.name.endswith("_created"):
                    table[key] = max(table.get(key, sample.value), sample.value)
                else:
                    table[key] = table.get(key, 0.0) + sample.value
    for name, metric in merged.items():
        for (sample_name, labels), value in values[name].items():
            metric.add_sample(sample_name, dict(labels), value)
    return list(merged.values())


class _Merged(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def render(metrics: list[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(metrics))
    return generate_latest(registry)


def worker_ports(directory: Path) -> list[int]:
    """The ports workers announced (a file being written or gone is skipped)."""
    ports = []
    for path in sorted(directory.glob("*.port")):
        try:
            ports.append(int(path.read_text(encoding="ascii")))
        except (OSError, ValueError):
            continue
    return ports


async def scrape_workers(directory: Path) -> list[str]:
    """Every live worker's exposition (a worker that does not answer is left out)."""
    ports = await asyncio.to_thread(worker_ports, directory)
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(port: int) -> str | None:
            try:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    return await resp.text() if resp.status == 200 else None
            except (aiohttp.ClientError, TimeoutError):
                return None

        found = await asyncio.gather(*(one(p) for p in ports))
    return [text for text in found if text]


@contextlib.asynccontextmanager
async def parent_metrics(listen: str) -> AsyncIterator[None]:
    """While the workers run: a directory for their ports (in their environment) and, when
    `metrics.listen` is set, the summed /metrics on it."""
    if not listen:
        yield
        return
    from linkbridge.settings_loader import metrics_address

    host, port = metrics_address(listen)
    with tempfile.TemporaryDirectory(prefix="linkbridge-metrics-") as directory:
        os.environ[ENV] = directory
        runner = web.AppRunner(make_parent_metrics_app(Path(directory)), handle_signals=False,
                               access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        try:
            yield
        finally:
            await runner.cleanup()
            os.environ.pop(ENV, None)


def make_parent_metrics_app(directory: Path) -> web.Application:
    """The parent's /metrics: every worker's counters summed."""

    async def get_metrics(request: web.Request) -> web.Response:
        body = render(merge(await scrape_workers(directory)))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", get_metrics)
    return app
