"""Imports WXR exports into the store (at start-up and by `linkbridge import wxr`)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from linkbridge.errors import LinkbridgeError, RejectedImport
from linkbridge.model import LinkbackDraft
from linkbridge.posts.wxr import WxrExport, parse_wxr
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import SOURCE_KEY_VERSION, Canonicaliser, fold_host

logger = structlog.get_logger(__name__)

WXR_HASH_PREFIX = "wxr_sha256:"
"""Store key/value rows: the SHA-256 of each WXR file's last imported content, by path."""


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


async def ensure_source_keys(settings: Settings, store: Store) -> None:
    """Recompute stored source keys once when the source identity rule changed (before an
    import looks rows up by them); nothing is merged or lost."""
    changed = await store.rekey_sources(
        SOURCE_KEY_VERSION, Canonicaliser.for_settings(settings.site).source_key
    )
    if changed:
        logger.info("source_keys_recomputed", rows=changed, version=SOURCE_KEY_VERSION)


async def import_wxr(
    settings: Settings,
    store: Store,
    path: Path,
    now: datetime,
    *,
    foreign_ok: bool = False,
    unchanged_skip: bool = False,
) -> ImportReport | None:
    """Parse one export and store it atomically; a malformed file imports nothing.

    The file's SHA-256 is kept in the store: with `unchanged_skip` (start-up) a file whose
    content was imported before is not read again (None). An export of another site is
    refused unless `foreign_ok` (`import wxr --force`).
    """
    try:
        key, digest = await asyncio.to_thread(_hash_key, path)
    except OSError as exc:
        raise RejectedImport(f"{path}: cannot read the WXR file: {exc.strerror}") from None
    if unchanged_skip and await store.get_setting(key) == digest:
        logger.info("wxr_unchanged", path=str(path), sha256=digest[:16])
        return None
    try:
        report = await _import(settings, store, path, now, foreign_ok=foreign_ok)
    finally:
        await asyncio.to_thread(release_memory)
    await store.put_setting(key, digest)
    return report


async def _import(
    settings: Settings, store: Store, path: Path, now: datetime, *, foreign_ok: bool
) -> ImportReport:
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise RejectedImport(f"{path}: cannot read the WXR file: {exc.strerror}") from None
    export = await asyncio.to_thread(parse_wxr, data, source_name=str(path))
    del data
    if not foreign_ok:
        check_export(settings, export, path)
    await ensure_source_keys(settings, store)  # rows are looked up by their source keys
    posts, added = await store.import_posts(
        export.blog, export.posts, linkback_drafts(settings, export), now
    )
    logger.info(
        "wxr_imported", path=str(path), blog=export.blog, wxr_version=export.wxr_version,
        posts=posts, new_linkbacks=added, skipped_linkbacks=export.skipped_linkbacks,
    )
    return ImportReport(str(path), export.blog, posts, added)


async def import_configured_wxr(
    settings: Settings, store: Store, now: datetime
) -> list[ImportReport]:
    """Import the files `posts.wxr` names whose content changed since their last import."""
    reports = []
    for path in settings.wxr_paths():
        report = await import_wxr(settings, store, path, now, unchanged_skip=True)
        if report is not None:
            reports.append(report)
    return reports


def check_export(settings: Settings, export: WxrExport, path: Path) -> None:
    """An export of another site is refused (RejectedImport naming its host and ours)."""
    url = export.base_site_url or export.base_blog_url
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    hosts = Canonicaliser.for_settings(settings.site).site_hosts
    if host and fold_host(host) in hosts:
        return
    raise RejectedImport(
        f"{path}: exported from {host or repr(url)} (wp:base_site_url), which is not one of this "
        f"site's hosts ({', '.join(sorted(hosts))}: site.public_base_url and site.hosts); "
        "`linkbridge import wxr --force` imports it anyway"
    )


def _hash_key(path: Path) -> tuple[str, str]:
    """(store key for this file, SHA-256 of its content), streamed: nothing big in memory."""
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return f"{WXR_HASH_PREFIX}{path.resolve()}", digest


def release_memory() -> None:
    """Give a big parse's memory back to the system, not only to Python's and libc's pools.

    lxml frees the tree on its last reference, but glibc keeps freed arenas mapped; after a
    90 MB export that stayed ~400 MB resident. malloc_trim(0) returns them (glibc only; a
    no-op elsewhere).
    """
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
