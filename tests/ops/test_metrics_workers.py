"""`serve --workers 2`: /metrics on the parent sums both workers' counters, and one SIGHUP to
the parent reloads every worker."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from linkbridge.web.metrics_workers import merge, render
from tests.support.serve import Served, config_args, free_port

AFTER = "2018-03-01T12:00:00+01:00"
FEEDS = 40

WORKER_A = """# HELP linkbridge_feed_responses Feed answers.
# TYPE linkbridge_feed_responses counter
linkbridge_feed_responses_total{status="200"} 3.0
# HELP linkbridge_job_queue_depth Jobs queued.
# TYPE linkbridge_job_queue_depth gauge
linkbridge_job_queue_depth 7.0
# HELP linkbridge_source_fetch_seconds Fetch time.
# TYPE linkbridge_source_fetch_seconds histogram
linkbridge_source_fetch_seconds_bucket{le="1.0"} 2.0
linkbridge_source_fetch_seconds_bucket{le="+Inf"} 3.0
linkbridge_source_fetch_seconds_count 3.0
linkbridge_source_fetch_seconds_sum 1.5
"""
WORKER_B = WORKER_A.replace('status="200"} 3.0', 'status="200"} 4.0').replace(
    "linkbridge_job_queue_depth 7.0", "linkbridge_job_queue_depth 5.0")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_counters_and_histograms_add_up_and_shared_gauges_do_not() -> None:
    merged = samples(render(merge([WORKER_A, WORKER_B])).decode())
    assert merged[("linkbridge_feed_responses_total", (("status", "200"),))] == 7
    assert merged[("linkbridge_job_queue_depth", ())] == 7  # the same queue, seen twice
    assert merged[("linkbridge_source_fetch_seconds_count", ())] == 6
    assert merged[("linkbridge_source_fetch_seconds_bucket", (("le", "1.0"),))] == 4


@pytest.mark.slow
async def test_the_parent_sums_its_workers_and_passes_sighup_on(tmp_path: Path) -> None:
    metrics_port, port = free_port(), free_port()
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/linkbridge.db"\n'
                       f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n', encoding="utf-8")
    server = Served(*config_args(overlay), "--at", AFTER, "--workers", "2", "--port", str(port),
                    port_flag=False, port=port)
    try:
        deadline = time.monotonic() + 60
        while len(events(server, "metrics_listening")) < 2:  # a hang guard only
            assert time.monotonic() < deadline, "".join(server.lines)
            assert server.proc.poll() is None, "".join(server.lines)
            await asyncio.sleep(0.1)
        connector = aiohttp.TCPConnector(force_close=True)  # new connections: both workers
        async with aiohttp.ClientSession(connector=connector) as session:

            async def feed() -> int:
                async with session.get(f"{server.base}/feed/") as resp:
                    await resp.read()
                    return resp.status

            assert set(await asyncio.gather(*(feed() for _ in range(FEEDS)))) == {200}
            async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
        assert samples(text)[("linkbridge_feed_responses_total", (("status", "200"),))] == FEEDS

        server.proc.send_signal(signal.SIGHUP)
        while len(events(server, "config_reloaded")) < 2:
            assert time.monotonic() < deadline + 60, "".join(server.lines)
            await asyncio.sleep(0.1)
        assert len({e["pid"] for e in events(server, "server_started")}) == 2
        assert server.stop(signal.SIGTERM) == 0
    finally:
        if server.proc.poll() is None:
            server.kill()


def events(server: Served, name: str) -> list[dict[str, object]]:
    return [e for e in server.events() if e.get("event") == name]
