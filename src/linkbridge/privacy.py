"""Personal data kept only as long as needed: sender addresses (kept for rate limits and abuse
review) and finished webhook deliveries are dropped once `privacy.client_data_retention_days`
have passed (docs/privacy.md)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from linkbridge.clock import Clock
from linkbridge.settings import PrivacySettings
from linkbridge.store import Store

logger = structlog.get_logger(__name__)


async def forget_expired(store: Store, clock: Clock, settings: PrivacySettings) -> int:
    """Drop client data older than the retention period now; return how many rows changed."""
    before = clock.now() - timedelta(days=settings.client_data_retention_days)
    forgotten = await store.forget_client_data(before)
    if forgotten:
        logger.info("client_data_forgotten", rows=forgotten, before=before.isoformat())
    return forgotten


async def sweep(store: Store, clock: Clock, settings: PrivacySettings) -> None:
    """`forget_expired`, a failure logged (the next sweep tries again)."""
    try:
        await forget_expired(store, clock, settings)
    except Exception:
        logger.exception("client_data_sweep_failed")


async def sweep_forever(store: Store, clock: Clock, settings: PrivacySettings) -> None:
    """`sweep` every `sweep_interval_s`."""
    while True:
        await asyncio.sleep(settings.sweep_interval_s)
        await sweep(store, clock, settings)
