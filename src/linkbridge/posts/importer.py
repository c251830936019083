"""Imports WXR exports into the store (at start-up and by `linkbridge import wxr`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from linkbridge.errors import LinkbridgeError, RejectedImport
from linkbridge.model import LinkbackDraft
from linkbridge.posts.wxr import WxrExport, parse_wxr
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ImportReport:
    """What one file's import did."""

    path: str
    blog: str
    posts: int
    new_linkbacks: int


def linkback_drafts(settings: Settings, export: WxrExport) -> list[LinkbackDraft]:
    """The export's pingback/trackback comments as linkback drafts."""
    canon = Canonicaliser.for_settings(settings.site)
    drafts = []
    for item in export.linkbacks:
        try:
            drafts.append(item.draft(canon))
        except LinkbridgeError:  # an undecodable old source URL must not stop the import
            logger.warning("wxr_linkback_skipped", source=item.source_url[:200])
    return drafts


async def import_wxr(settings: Settings, store: Store, path: Path, now: datetime) -> ImportReport:
    """Parse one export and store it atomically; a malformed file imports nothing."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise RejectedImport(f"wxr: {path}: cannot read: {exc.strerror}") from None
    export = parse_wxr(data, source_name=str(path))
    posts, added = await store.import_posts(
        export.blog, export.posts, linkback_drafts(settings, export), now
    )
    logger.info("wxr_imported", path=str(path), blog=export.blog, posts=posts, new_linkbacks=added)
    return ImportReport(str(path), export.blog, posts, added)


async def import_configured_wxr(
    settings: Settings, store: Store, now: datetime
) -> list[ImportReport]:
    """Import every file `posts.wxr` names (idempotent, so safe at every start)."""
    return [await import_wxr(settings, store, path, now) for path in settings.wxr_paths()]
