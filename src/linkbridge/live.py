"""The in-memory view of the store that requests read: swapped whole when the version moves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import structlog

from linkbridge import background
from linkbridge.model import Mapping
from linkbridge.moderation.rules import HostLists
from linkbridge.posts.registry import PostRegistry
from linkbridge.retire.table import BadRuleError, RedirectTable, canonical_source
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser

logger = structlog.get_logger(__name__)

SLICE_ROWS = 2000
"""Mappings handled between two yields to the event loop while the table is rebuilt."""
INCREMENTAL_ROWS_MAX = 1000
"""Changed mappings applied to a copy of the table; more and it is rebuilt (in slices)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the hot paths read, built from one store version."""

    version: int
    registry: PostRegistry
    table: RedirectTable
    lists: HostLists
    inputs: dict[str, int] = field(default_factory=dict)
    """The store's version of each input ("posts", "mappings", "lists") it was built from."""


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
        self.feeds_seq = 0
        """The store's feed sequence number as last seen."""
        self._feed_versions: dict[str, int] = {}
        self._rows: dict[str, str] = {}
        """The store's mappings the table was built from: target by source."""
        self._keys_of: dict[str, str] = {}
        self._key_count: Counter[str] | None = Counter()
        """How many store rows have each key; counted when first needed (not at start-up), in
        slices (`_count_keys`)."""
        self._base: RedirectTable | None = None
        """The table of the configuration alone: what a removed store row uncovers."""

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("live: not loaded yet")
        return self._snapshot

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    def feed_version(self, scope: str) -> int:
        """The version of one feed scope ("" network, "/blog/", "/blog/#ID"); 0 if unchanged."""
        return self._feed_versions.get(scope, 0)

    async def refresh(self, *, force: bool = False) -> bool:
        """Take feed version changes, and rebuild what changed of the snapshot when the
        store's version moved; True when something changed.

        Each input has its own version: a host list change rebuilds the lists only, a mapping
        change the table only, and a few changed mappings are applied to a copy of the table
        instead of a rebuild. A full rebuild runs in slices that let requests through.
        """
        async with self._lock:
            seq, changed = await self.store.feed_changes(self.feeds_seq)
            self._feed_versions.update(changed)
            feeds_moved = seq != self.feeds_seq
            self.feeds_seq = seq
            versions = await self.store.versions()
            old = None if force else self._snapshot
            if old is not None and old.version == versions["version"]:
                return feeds_moved

            def moved(concern: str) -> bool:
                return old is None or old.inputs.get(concern) != versions[concern]

            posts_n: int | None = None
            if old is None or moved("posts"):
                posts = await self.store.all_posts()
                registry = PostRegistry(posts, self.canonicaliser, self.settings.site.blog_paths)
                posts_n = len(posts)
            else:
                registry = old.registry
            if old is None or moved("lists"):
                lists = HostLists.build(
                    self.settings.moderation,
                    await self.store.list_hosts("block"),
                    await self.store.list_hosts("allow"),
                )
            else:
                lists = old.lists
            if old is None or moved("mappings"):
                table = await self._table(old)
                seen = {s.source for s in self._snapshot.table.skipped} if self._snapshot else set()
                for row in table.skipped:
                    if row.source not in seen:  # one warning per row, not one per refresh
                        logger.warning("stored_mapping_skipped", source=row.source,
                                       target=row.target, reason=row.reason)
            else:
                table = old.table
            self._snapshot = Snapshot(versions["version"], registry, table, lists, versions)
            self.loaded_at = time.monotonic()
            logger.info("live_state_loaded", version=versions["version"], posts=posts_n,
                        mappings=len(self._rows))
            return True

    async def _table(self, old: Snapshot | None) -> RedirectTable:
        """The table for the store's mappings: the rows changed since `old` applied to a copy
        of its table (read from the store's change record, not by comparing every row), else
        every row read and built in slices that let requests through."""
        if old is not None:
            changes = await self.store.mapping_changes(
                old.inputs.get("mappings", 0), INCREMENTAL_ROWS_MAX
            )
            if changes is not None:
                removed = [s for s in changes.removed if s in self._rows]
                changed = [m for m in changes.changed if self._rows.get(m.source) != m.target]
                if not removed and not changed:
                    return old.table
                if self._key_count is None:
                    self._key_count = await self._count_keys()
                table = self._apply(old.table, removed, changed, self._key_count)
                if table is not None:
                    for source in removed:
                        del self._rows[source]
                    self._rows.update((m.source, m.target) for m in changed)
                    return table
        rows = await self.store.mapping_pairs()
        keys_of: dict[str, str] = {}
        steps = RedirectTable.build_in_slices(
            self.settings, self.canonicaliser, rows, slice_rows=SLICE_ROWS, keys_of=keys_of
        )
        while True:
            try:
                next(steps)
            except StopIteration as done:
                built: RedirectTable = done.value
                break
            await asyncio.sleep(0)  # let requests through between slices
        self._rows = dict(rows)
        self._keys_of = keys_of
        self._key_count = None
        return built

    async def _count_keys(self) -> Counter[str]:
        """How many store rows have each key, counted in slices that let requests through: one
        Counter over 100,000 keys held the event loop for some 30 ms."""
        keys = list(self._keys_of.values())
        counts: Counter[str] = Counter()
        for start in range(0, len(keys), SLICE_ROWS):
            counts.update(keys[start:start + SLICE_ROWS])
            await asyncio.sleep(0)
        return counts

    def _apply(
        self, table: RedirectTable, removed: list[str], changed: list[Mapping],
        counts: Counter[str],
    ) -> RedirectTable | None:
        """`table` with a few rows changed, or None when a key is shared by two store rows
        (then only a full build knows which one wins). `counts`: store rows per key."""
        try:
            new_keys = {m.source: canonical_source(m.source, self.canonicaliser) for m in changed}
        except BadRuleError:  # a row the table will skip: the full build lists it
            return None
        old_keys = [self._keys_of[s] for s in removed if s in self._keys_of]
        delta: Counter[str] = Counter()  # only the touched keys, not a copy of 100,000
        for key in old_keys:
            delta[key] -= 1
        for source, key in new_keys.items():
            if source not in self._keys_of:
                delta[key] += 1
        touched = old_keys + list(new_keys.values())
        if any(counts[key] + delta[key] > 1 or counts[key] > 1 for key in touched):
            return None
        if self._base is None:
            self._base = RedirectTable.build(self.settings, self.canonicaliser)
        result = table.with_store_changes(
            self._base, removed, changed, self.settings, self.canonicaliser
        )
        if result is None:  # a regular-expression rule among them: build afresh
            return None
        for source in removed:
            self._keys_of.pop(source, None)
        self._keys_of.update(new_keys)
        for key, step in delta.items():
            counts[key] += step
            if counts[key] <= 0:
                del counts[key]
        return result

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
