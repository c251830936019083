"""/metrics for Prometheus: on a listener of its own (metrics.listen), or on the public port only
with the bearer token (metrics.bearer_token); otherwise it does not exist (404)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from linkbridge import keys
from linkbridge.metrics import ScrapeFacts


async def gather_facts(app: web.Application) -> ScrapeFacts:
    """What the collector reports beside its counters, read now (the store, the live state)."""
    store, metrics, live = app[keys.STORE], app[keys.METRICS], app[keys.LIVE]
    now = app[keys.CLOCK].now()
    oldest = await store.oldest_job_at()
    monotonic = time.monotonic()
    return ScrapeFacts(
        queue_depth=await store.count_jobs(),
        oldest_job_age_s=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        snapshot_version=live.snapshot.version if live.loaded else 0,
        snapshot_age_s=monotonic - live.loaded_at if live.loaded else 0.0,
        hits_flush_lag_s=monotonic - metrics.hits_flushed_at,
    )


async def exposition(app: web.Application) -> web.Response:
    """The text exposition of every metric of `app`."""
    metrics = app[keys.METRICS]
    metrics.facts = await gather_facts(app)
    return web.Response(
        body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def get_public_metrics(request: web.Request) -> web.StreamResponse:
    """/metrics on the public port: only with `Authorization: Bearer <metrics.bearer_token>`."""
    token = request.app[keys.SETTINGS].metrics.bearer_token
    if not token:
        raise web.HTTPNotFound()
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return web.Response(status=401, text="metrics: bearer token required\n",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return await exposition(request.app)


def make_metrics_app(current: Callable[[], web.Application]) -> web.Application:
    """The separate listener's application: /metrics of the current main application (a
    configuration reload replaces it), nothing else."""

    async def get_metrics(request: web.Request) -> web.StreamResponse:
        return await exposition(current())

    app = web.Application()
    app.router.add_get("/metrics", get_metrics)
    return app
