"""Failed linkbacks (never shown) are pruned after `moderation.failed_retention_days`.

Shown, held, rejected, spam and deleted rows are kept: they are the blog's history and the
moderators' decisions. A pruned webmention's status resource answers 410 with the reason.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from linkbridge.clock import Clock
from linkbridge.settings import Settings
from linkbridge.store import Store

logger = structlog.get_logger(__name__)


async def prune_failed(store: Store, clock: Clock, settings: Settings) -> int:
    """Prune failed rows last changed more than the retention period ago; return how many."""
    before = clock.now() - timedelta(days=settings.moderation.failed_retention_days)
    pruned = await store.prune_failed(before)
    if pruned:
        logger.info("failed_linkbacks_pruned", rows=pruned, before=before.isoformat())
    return pruned


async def prune_forever(store: Store, clock: Clock, settings: Settings) -> None:
    """`prune_failed` now and every `privacy.sweep_interval_s`; a failure is logged and the
    next round tries again."""
    while True:
        try:
            await prune_failed(store, clock, settings)
        except Exception:
            logger.exception("failed_linkbacks_prune_failed")
        await asyncio.sleep(settings.privacy.sweep_interval_s)
