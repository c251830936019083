"""`redirects suggest`: read the successor site, propose a page for every old post no exact or
regex mapping answers, most important first, and keep the proposals for a moderator.
Suggestions never change the redirect table: a moderator accepts them (moderation service) or
not."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from linkbridge.model import LinkbackState, MappingSuggestion, Post
from linkbridge.retire.successor_site import Progress, read_pages, read_sitemaps
from linkbridge.retire.suggest import Matcher, OldPage, Weights
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import FetchSettings, Settings, SuggestSettings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser
from linkbridge.verify import SafeFetcher

SAVE_EVERY = 50
"""Pages stored per batch while reading: an interrupted run resumes after the last batch."""


@dataclass(frozen=True)
class SuggestReport:
    sitemap_pages: int
    fetched: int
    cached: int
    posts: int
    suggested: int
    unread_sitemaps: int = 0
    """Sitemaps named but not read: `suggest.max_sitemaps` was reached."""


def default_sitemap(settings: Settings) -> str:
    """/sitemap.xml at the origin of `successors.web`."""
    parts = urlsplit(settings.successors.web)
    return f"{parts.scheme}://{parts.netloc}/sitemap.xml"


def suggest_fetch_settings(settings: Settings) -> FetchSettings:
    """The fetcher's limits for reading a successor site: polite, but able to read thousands
    of pages of one host in minutes (linkback limits would allow 30 a minute)."""
    s = settings.suggest
    return dataclasses.replace(
        settings.fetch, per_host_concurrency=s.concurrency, per_host_rate_per_min=s.rate_per_min,
        global_concurrency=max(s.concurrency, 1),
    )


def suggest_weights(s: SuggestSettings) -> Weights:
    """The matcher's thresholds from the settings (the weights of its parts are its own)."""
    return Weights(min_score=s.min_score, min_margin=s.min_margin)


def unmapped_posts(posts: Sequence[Post], table: RedirectTable) -> list[Post]:
    """Live posts and pages whose path no exact or regex mapping answers."""
    return [p for p in posts if not p.tombstone and table.lookup(p.path).unmapped]


async def priorities(store: Store, posts: Sequence[Post]) -> dict[str, int]:
    """Per post path: its hits since the instant plus its approved linkbacks."""
    weight: Counter[str] = Counter()
    for hit in await store.top_hits(limit=100_000):
        weight[hit.path.rstrip("/")] += hit.count
    by_key = {p.key: p.path for p in posts}
    for lb in await store.list_linkbacks(states=[LinkbackState.APPROVED], limit=1_000_000):
        path = by_key.get(lb.post_key)
        if path is not None:
            weight[path.rstrip("/")] += 1
    return {p.path: weight.get(p.path.rstrip("/"), 0) for p in posts}


async def refresh_suggestions(
    settings: Settings, store: Store, fetcher: SafeFetcher, now: datetime, *,
    sitemaps: Sequence[str] = (), progress: Progress | None = None,
) -> SuggestReport:
    """Read the sitemaps and the pages not read before, then suggest and store."""
    s = settings.suggest
    roots = list(sitemaps) or list(s.sitemaps) or [default_sitemap(settings)]
    entries, unread = await read_sitemaps(fetcher, roots, max_sitemaps=s.max_sitemaps,
                                  max_bytes=s.sitemap_max_bytes, progress=progress)
    cached = {p.url for p in await store.successor_pages()}
    todo = [e for e in entries if e.url not in cached][: s.max_pages]
    batch, fetched = [], 0
    async for page in read_pages(fetcher, todo, max_bytes=s.page_max_bytes,
                                 concurrency=s.concurrency, progress=progress):
        batch.append(page)
        fetched += 1
        if len(batch) >= SAVE_EVERY:
            await store.put_successor_pages(batch, now)
            batch = []
    if batch:
        await store.put_successor_pages(batch, now)
    listed = {e.url for e in entries}
    pages = [p for p in await store.successor_pages() if p.url in listed]
    canonicaliser = Canonicaliser.for_settings(settings.site)
    table = RedirectTable.build(settings, canonicaliser, await store.list_mappings())
    posts = unmapped_posts(await store.all_posts(), table)
    weight = await priorities(store, posts)
    matcher = Matcher(pages, suggest_weights(s))
    old = [OldPage(p.path, p.title, p.slug,
                   p.published_at.date() if p.published_at else None, p.excerpt) for p in posts]
    suggestions = [dataclasses.replace(sug, priority=weight.get(sug.path, 0))
                   for sug in matcher.suggest(old)]
    await store.put_suggestions(suggestions, now)
    return SuggestReport(len(entries), fetched, len(cached & listed), len(posts),
                         sum(1 for x in suggestions if x.url), unread)


def suggestions_csv_rows(suggestions: Sequence[MappingSuggestion]) -> list[list[str]]:
    """old,new,note rows that `redirects import` takes back. A post without a suggestion is a
    commented row ("# /old/path/"): the import skips it until someone fills in a page and
    removes the "#"."""
    rows = []
    for x in suggestions:
        old = x.path if x.path.endswith("/") else x.path + "/"
        if x.url:
            rows.append([old, x.url, f"suggested {x.score:.2f}: {x.reason}"])
        else:
            rows.append([f"# {old}", "", f"no suggestion: {x.reason}"])
    return rows
