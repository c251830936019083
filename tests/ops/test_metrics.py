"""/metrics: closed unless configured, and every counter moves when its path is taken
(linkbacks, verification and fetch time, feeds, retired URLs, the queue and the snapshot)."""

from __future__ import annotations

import asyncio
import http.client
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from tests.support import AFTER, SEED_POST, AppFactory, page_linking_to
from tests.support.serve import Served, config_args, free_port, store_overlay

Client = TestClient[web.Request, web.Application]
TOKEN = "a-long-random-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPEN = f'[metrics]\nbearer_token = "{TOKEN}"\n'


async def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_closed_without_configuration_and_without_the_token(lb_app: AppFactory) -> None:
    closed = await lb_app()
    assert (await closed.get("/metrics", headers=AUTH)).status == 404
    guarded = await lb_app(extra=OPEN)
    assert (await guarded.get("/metrics")).status == 401
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status == 401
    assert (await guarded.get("/metrics", headers=AUTH)).status == 200


async def test_feed_answers_are_counted_by_status(lb_app: AppFactory) -> None:
    client = await lb_app(extra=OPEN)
    first = await client.get("/feed/")
    assert first.status == 200
    again = await client.get("/feed/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    samples = await scrape(client)
    assert samples[("linkbridge_feed_responses_total", (("status", "200"),))] == 1
    assert samples[("linkbridge_feed_responses_total", (("status", "304"),))] == 1
    assert samples[("linkbridge_feed_builds_total", ())] == 1  # the 304 came from the cache
    assert samples[("linkbridge_live_snapshot_version", ())] > 0


async def test_a_webmention_moves_received_verified_fetch_time_and_queue(
    lb_app: AppFactory,
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    source = web.Application()
    source.router.add_get("/inlagg/", page)
    server = TestServer(source, host="127.0.0.1")
    await server.start_server()
    try:
        client = await lb_app(extra=OPEN, ports=(server.port,))
        resp = await client.post("/webmention", data={
            "source": f"http://127.0.0.1:{server.port}/inlagg/", "target": SEED_POST})
        assert resp.status == 201
        refused = await client.post("/webmention", data={
            "source": "http://127.0.0.1:9/x", "target": "https://example.org/not-ours"})
        assert refused.status == 400
        key = ("linkbridge_verifications_total", (("outcome", "verified"),))
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for _ in range(200):  # the job queue verifies it in the background
            samples = await scrape(client)
            if samples.get(key):
                break
            await asyncio.sleep(0.05)
        assert samples[key] == 1
        received = {labels: v for (name, labels), v in samples.items()
                    if name == "linkbridge_linkbacks_received_total"}
        assert received[(("outcome", "queued"), ("protocol", "webmention"))] == 1
        assert sum(received.values()) == 2  # the refusal has an outcome of its own
        assert samples[("linkbridge_source_fetch_seconds_count", ())] >= 1
        assert ("linkbridge_job_queue_depth", ()) in samples
        assert samples[("linkbridge_job_oldest_age_seconds", ())] >= 0
    finally:
        await server.close()


async def test_retired_urls_are_counted_by_status_and_rule(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER, extra=OPEN + "[retire]\nhit_flush_interval_s = 0.05\n")
    assert (await client.get("/innovation/om/", allow_redirects=False)).status == 301
    assert (await client.get("/innovation/om/", allow_redirects=False)).status == 301
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for _ in range(200):
        samples = await scrape(client)
        counted = {labels: v for (name, labels), v in samples.items()
                   if name == "linkbridge_retired_requests_total"}
        if counted:
            break
        await asyncio.sleep(0.05)
    assert sum(counted.values()) == 2
    ((labels, _),) = counted.items()
    assert dict(labels)["status"] == "301"
    assert samples[("linkbridge_hits_flush_lag_seconds", ())] < 60


@pytest.mark.slow
def test_own_listener_serves_metrics_off_the_public_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    overlay = store_overlay(tmp_path, f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')
    server = Served(*config_args(overlay))
    try:
        server.wait_started()
        conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=30)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200
        assert "linkbridge_live_snapshot_version" in body
        public = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        public.request("GET", "/metrics")
        assert public.getresponse().status == 404
    finally:
        assert server.stop() == 0
