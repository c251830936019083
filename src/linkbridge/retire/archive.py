"""The page as it was: each old post's nearest web-archive snapshot before the shutdown
instant, found through the Memento protocol (RFC 7089) and kept, so the 410 page links a real
snapshot and the answer carries `Link: <…>; rel="memento"`.

A TimeGate (`archive.timegate` + the old URL, asked with `Accept-Datetime: <instant>`)
redirects to the memento nearest that moment; the memento answers with `Memento-Datetime`.
The Internet Archive and national web archives speak it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import structlog

from linkbridge.errors import LinkbridgeError
from linkbridge.model import ArchiveSnapshot, Post
from linkbridge.settings import ArchiveSettings
from linkbridge.store import Store
from linkbridge.verify import SafeFetcher

logger = structlog.get_logger(__name__)
MAX_BYTES = 65536
"""Bytes of a memento read: only its headers matter."""


def http_datetime(moment: datetime) -> str:
    """An RFC 1123 date in GMT, as Accept-Datetime wants it."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_memento_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


async def find_snapshot(
    fetcher: SafeFetcher, settings: ArchiveSettings, post: Post, before: datetime, now: datetime
) -> ArchiveSnapshot:
    """The post's memento nearest `before`; `url` empty when the archive has none before it."""
    try:
        fetched = await fetcher.fetch(
            settings.timegate + post.permalink, max_bytes=MAX_BYTES,
            max_redirects=settings.max_redirects, protocol="archive",
            accept_datetime=http_datetime(before),
        )
    except LinkbridgeError as exc:
        return ArchiveSnapshot(post.path, "", None, now, f"archive: {exc.message}")
    at = parse_memento_datetime(fetched.headers.get("Memento-Datetime"))
    if fetched.status != 200 or at is None:
        return ArchiveSnapshot(post.path, "", None, now, f"no snapshot (answered {fetched.status})")
    if at > before:
        return ArchiveSnapshot(post.path, "", at, now, "the nearest snapshot is after the instant")
    return ArchiveSnapshot(post.path, fetched.final_url, at, now, "")


async def check_archive(
    fetcher: SafeFetcher, settings: ArchiveSettings, store: Store, posts: Sequence[Post],
    before: datetime, now: datetime, *, progress: Callable[[int, int], None] | None = None,
) -> list[ArchiveSnapshot]:
    """Look every post up (a few at a time) and keep what was found."""
    semaphore = asyncio.Semaphore(max(1, settings.concurrency))
    done = 0

    async def one(post: Post) -> ArchiveSnapshot:
        nonlocal done
        async with semaphore:
            snapshot = await find_snapshot(fetcher, settings, post, before, now)
        done += 1
        if progress is not None:
            progress(done, len(posts))
        return snapshot

    found = await asyncio.gather(*(one(p) for p in posts))
    await store.put_archive_snapshots(found)
    return list(found)


@dataclass
class ArchiveIndex:
    """Snapshot URLs by old post path, read from the store whenever the live state moves; the
    410 answer looks its path up here (a dict lookup, no I/O on the request)."""

    by_path: dict[str, str]
    version: int = -1

    def get(self, path_key: str) -> str:
        return self.by_path.get(path_key.rstrip("/"), "")

    async def reload(self, store: Store) -> None:
        self.by_path = {s.path.rstrip("/"): s.url for s in await store.archive_snapshots() if s.url}

    @contextlib.asynccontextmanager
    async def following(
        self, store: Store, version_now: Callable[[], int], interval_s: float
    ) -> AsyncIterator[None]:
        """Reload at start and whenever `version_now()` (the live snapshot's store version)
        has moved since the last load."""
        await self.reload(store)
        self.version = version_now()

        async def follow() -> None:
            while True:
                await asyncio.sleep(interval_s)
                version = version_now()
                if version != self.version:
                    try:
                        await self.reload(store)
                        self.version = version
                    except Exception:
                        logger.exception("archive_index_reload_failed")

        task = asyncio.create_task(follow())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
