"""The composition root: make_app wires settings, store, fetcher and clock. Wiring only."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import structlog
from aiohttp import web

from linkbridge import background, keys
from linkbridge.clock import Clock
from linkbridge.feeds.serve import FeedCache
from linkbridge.intake import VERIFY_JOB, Intake
from linkbridge.jobs import JobWorker, fair_share
from linkbridge.live import LiveState
from linkbridge.login import LoginGuard
from linkbridge.memo import BoundedMemo
from linkbridge.metrics import Metrics, bump, is_store_error, observe
from linkbridge.model import Job
from linkbridge.moderation.prune import prune_forever
from linkbridge.moderation.service import Moderation
from linkbridge.moderation.webhook import WEBHOOK_JOB, WebhookNotifier, WebhookSender
from linkbridge.posts.importer import ensure_source_keys, import_configured_wxr
from linkbridge.privacy import sweep, sweep_forever
from linkbridge.ratelimit import RepeatWindow
from linkbridge.retire.archive import ArchiveIndex
from linkbridge.retire.hits import HitCounter
from linkbridge.retire.pages import render_error_page
from linkbridge.retire.proxy import OriginProxy
from linkbridge.retire.successors import SuccessorCheckRun
from linkbridge.settings import Settings
from linkbridge.settle import Settler
from linkbridge.store import Store
from linkbridge.verify import SafeFetcher, Verifier
from linkbridge.web import feeds as web_feeds
from linkbridge.web import site
from linkbridge.web.middleware import RequestContext
from linkbridge.web.routes import add_routes

logger = structlog.get_logger(__name__)


def make_app(
    settings: Settings,
    *,
    store: Store,
    fetcher: SafeFetcher,
    clock: Clock,
    preview: bool = False,
) -> web.Application:
    """Build the application; resources open on startup and close on cleanup, in order."""
    context = RequestContext(settings.server.trusted_proxies)
    catch_all, catch_all_in_context = site.make_catch_all(settings, context, clock)
    # No aiohttp middleware: the request context wraps each route (web/middleware.py says why)
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    live = LiveState(settings, store)
    verifier = Verifier(fetcher)
    notifier = WebhookNotifier(settings, store, clock)
    intake = Intake(
        Settler(settings, store, live, verifier, clock, notify=notifier.linkback_changed)
    )
    webhooks = WebhookSender(settings.webhook, store, clock)
    app[keys.METRICS] = metrics = Metrics()
    app[keys.ARCHIVE] = ArchiveIndex({})
    observe(metrics, intake, fetcher)

    async def run_verify(job: Job) -> None:
        await intake.run_verify_job(int(str(job.payload["linkback_id"])), job.id)

    app[keys.SETTINGS] = settings
    app[keys.CATCH_ALL] = catch_all
    app[keys.CATCH_ALL_IN_CONTEXT] = catch_all_in_context
    app[keys.STORE] = store
    app[keys.CLOCK] = clock
    app[keys.FETCHER] = fetcher
    app[keys.VERIFIER] = verifier
    app[keys.LIVE] = live
    app[keys.INTAKE] = intake
    app[keys.WEBHOOKS] = webhooks
    share = fair_share(settings.jobs.workers, settings.jobs.max_share)

    async def refresh_live() -> None:
        await live.refresh()  # the deciding instance shows a change at once

    app[keys.MODERATION] = Moderation(
        settings, store, clock, canonicaliser=live.canonicaliser, on_change=refresh_live
    )
    app[keys.WORKER] = JobWorker(
        store, clock, {VERIFY_JOB: run_verify, WEBHOOK_JOB: webhooks.run_job},
        concurrency=settings.jobs.workers,
        lease_s=max(settings.jobs.lease_s, settings.fetch.timeout_s * 2),
        idle_s=settings.jobs.idle_poll_s,
        max_per_host=min(settings.fetch.per_host_concurrency, share),
        max_per_sender=share,
    )
    app[keys.HITS] = HitCounter(
        settings.retire.hit_keys_max, clock, path_max_chars=settings.retire.hit_path_max_chars
    )
    app[keys.FEED_CACHE] = FeedCache(settings.feeds.cache_entries)
    app[keys.FEED_SCOPES] = BoundedMemo(web_feeds.POST_SCOPE_MEMO_ENTRIES)
    app[keys.FEED_ANSWERS] = BoundedMemo(web_feeds.POLL_ANSWER_MEMO_ENTRIES)
    app[keys.WEBMENTION_REPEATS] = RepeatWindow(
        settings.webmention.repeat_window_s, monotonic=lambda: clock.now().timestamp()
    )
    app[keys.LOGIN_GUARD] = LoginGuard(settings.admin)
    app[keys.SITEMAPS] = {}
    if settings.site.origin_url:
        app[keys.PROXY] = OriginProxy(
            settings.site.origin_url,
            timeout_s=settings.server.origin_timeout_s,
            connect_timeout_s=settings.server.origin_connect_timeout_s,
            max_body_bytes=settings.server.origin_max_body_bytes,
            preserve_host=settings.server.origin_preserve_host,
            body_timeout_s=settings.server.body_timeout_s,
            max_connections=settings.server.origin_max_connections,
            max_per_client=settings.server.origin_max_connections_per_ip,
            hosts=(settings.site.public_base_url, *settings.site.hosts),
            trusted_proxies=settings.server.trusted_proxies,
            error_page=functools.partial(render_error_page, settings),
        )
    app[keys.SUCCESSOR_RUN] = SuccessorCheckRun(
        settings, store.list_mappings, store.put_successor_checks, clock.now
    )
    app.on_cleanup.append(_stop_successor_check)
    if preview:
        # A preview of the retirement (`serve --at` a future instant) shares the store with
        # the real instances: it answers requests but never acts on its shifted clock (no
        # jobs, no hit flushes, no imports, no retention sweeps: they would delete data that
        # is not due yet).
        app.cleanup_ctx.extend([_open_store_ctx, _live_ctx, _fetcher_ctx, _proxy_ctx,
                                _login_ctx, _archive_ctx])
    else:
        app.cleanup_ctx.extend(
            [_store_ctx, _live_ctx, _fetcher_ctx, _webhooks_ctx, _worker_ctx, _hits_ctx,
             _proxy_ctx, _privacy_ctx, _prune_ctx, _login_ctx, _archive_ctx]
        )
    add_routes(app, context)
    return app


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the store (migrations run) and import the configured WXR files."""
    store = app[keys.STORE]
    await store.open()
    try:
        await ensure_source_keys(app[keys.SETTINGS], store)
        await import_configured_wxr(app[keys.SETTINGS], store, app[keys.CLOCK].now())
        yield
    finally:
        await store.close()


async def _stop_successor_check(app: web.Application) -> None:
    await app[keys.SUCCESSOR_RUN].close()


async def _open_store_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the store only (a preview instance imports nothing)."""
    store = app[keys.STORE]
    await store.open()
    try:
        yield
    finally:
        await store.close()


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    live = app[keys.LIVE]
    await live.refresh(force=True)
    async with live.polling():
        yield


async def _fetcher_ctx(app: web.Application) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await app[keys.INTAKE].close()
        await app[keys.FETCHER].close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[keys.WEBHOOKS].start()
    try:
        yield
    finally:
        await app[keys.WEBHOOKS].close()


async def _worker_ctx(app: web.Application) -> AsyncIterator[None]:
    async with app[keys.WORKER].running():
        yield


async def _hits_ctx(app: web.Application) -> AsyncIterator[None]:
    """Flush counted hits in batches, and once more on the way out."""
    hits, store, metrics = app[keys.HITS], app[keys.STORE], app[keys.METRICS]
    retire, clock = app[keys.SETTINGS].retire, app[keys.CLOCK]

    pruned_before = ""

    async def flush() -> None:
        nonlocal pruned_before
        keep_from = (clock.now().astimezone(UTC) - timedelta(days=retire.hit_path_days)).date()
        batch = hits.drain()
        for day in batch.days:
            bump(metrics.retired, (day.status, day.rule.value), day.hits)
        prune = keep_from.isoformat() if keep_from.isoformat() != pruned_before else None
        if batch or prune is not None:  # else nothing to write: no write lock when idle
            hits.other_paths += await store.add_hits(
                batch, paths_per_day_max=retire.hit_paths_per_day_max, keep_paths_from_day=prune
            )
            pruned_before = keep_from.isoformat()
        metrics.hits_flushed_at = time.monotonic()

    async def flush_forever() -> None:
        while True:
            await asyncio.sleep(retire.hit_flush_interval_s)
            try:
                await flush()
            except Exception as exc:
                if is_store_error(exc):
                    metrics.store_errors += 1
                logger.exception("hits_flush_failed")

    async with background.running(flush_forever()):
        yield
    await flush()


async def _archive_ctx(app: web.Application) -> AsyncIterator[None]:
    """Snapshot links for the 410 page, reloaded when the store's version moves."""
    live = app[keys.LIVE]

    def version() -> int:
        return live.snapshot.version if live.loaded else -1

    interval = app[keys.SETTINGS].store.poll_interval_s
    async with app[keys.ARCHIVE].following(app[keys.STORE], version, interval):
        yield


async def _privacy_ctx(app: web.Application) -> AsyncIterator[None]:
    """Drop client data past its retention period: before serving, then periodically."""
    args = (app[keys.STORE], app[keys.CLOCK], app[keys.SETTINGS].privacy)
    await sweep(*args)
    async with background.running(sweep_forever(*args)):
        yield


async def _prune_ctx(app: web.Application) -> AsyncIterator[None]:
    """Prune failed linkbacks past their retention period: at start, then periodically."""
    args = (app[keys.STORE], app[keys.CLOCK], app[keys.SETTINGS])
    async with background.running(prune_forever(*args)):
        yield


async def _login_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    app[keys.LOGIN_GUARD].close()


async def _proxy_ctx(app: web.Application) -> AsyncIterator[None]:
    proxy = app.get(keys.PROXY)
    if proxy is None:
        yield
        return
    await proxy.start()
    try:
        yield
    finally:
        await proxy.close()
