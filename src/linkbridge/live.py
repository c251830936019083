"""The in-memory view of the store that requests read: swapped whole when the version moves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from linkbridge import background
from linkbridge.moderation.rules import HostLists
from linkbridge.posts.registry import PostRegistry
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Everything the hot paths read, built from one store version."""

    version: int
    registry: PostRegistry
    table: RedirectTable
    lists: HostLists


class LiveState:
    """Holds the current Snapshot; `refresh` rebuilds it when the store's version changed."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.canonicaliser = Canonicaliser.for_settings(settings.site)
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()
        self.loaded_at = 0.0
        """time.monotonic() when the current snapshot was built (its age, for /metrics)."""

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("live: not loaded yet")
        return self._snapshot

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    async def refresh(self, *, force: bool = False) -> bool:
        """Rebuild from the store if its version moved; True when something changed."""
        async with self._lock:
            version = await self.store.version()
            if not force and self._snapshot is not None and self._snapshot.version == version:
                return False
            posts = await self.store.all_posts()
            mappings = await self.store.list_mappings()
            blocked = await self.store.list_hosts("block")
            allowed = await self.store.list_hosts("allow")
            blog_paths = self.settings.site.blog_paths
            table = RedirectTable.build(self.settings, self.canonicaliser, mappings)
            seen = {s.source for s in self._snapshot.table.skipped} if self._snapshot else set()
            for row in table.skipped:
                if row.source not in seen:  # one warning per row, not one per refresh
                    logger.warning("stored_mapping_skipped", source=row.source,
                                   target=row.target, reason=row.reason)
            self._snapshot = Snapshot(
                version=version,
                registry=PostRegistry(posts, self.canonicaliser, blog_paths),
                table=table,
                lists=HostLists.build(self.settings.moderation, blocked, allowed),
            )
            self.loaded_at = time.monotonic()
            logger.info("live_state_loaded", version=version, posts=len(posts),
                        mappings=len(mappings))
            return True

    @contextlib.asynccontextmanager
    async def polling(self) -> AsyncIterator[None]:
        """Re-read the store's version on each change signal (PostgreSQL NOTIFY), and at least
        every `store.poll_interval_s`, while the context is open."""
        async with background.running(self._poll()):
            yield

    async def _poll(self) -> None:
        while True:
            try:
                await self.store.wait_for_change(self.settings.store.poll_interval_s)
                await self.refresh()
            except Exception:  # keep serving the last good snapshot
                logger.exception("live_state_refresh_failed")
                await asyncio.sleep(self.settings.store.poll_interval_s)
