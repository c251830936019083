"""Reads a successor site for mapping suggestions: its sitemaps (sitemap index, gzip, lastmod)
and each listed page's title, description and text, fetched politely through the safe fetcher.

Sitemaps are XML from strangers: parsed by lxml with entities, DTDs and the network off, size
capped by the fetch, and at most `suggest.max_sitemaps` of them.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from linkbridge.errors import LinkbridgeError
from linkbridge.model import SuccessorPage
from linkbridge.text import decode_page, plain
from linkbridge.verify import SafeFetcher
from linkbridge.verify.extract import title_of
from linkbridge.verify.links import parse_html

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
TEXT_CHARS = 600
"""Page text kept for matching: the description and the first paragraphs."""
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: date | None = None


@dataclass(frozen=True)
class Sitemap:
    """One sitemap file's pages, and the further sitemaps an index lists."""

    pages: tuple[SitemapEntry, ...] = ()
    sitemaps: tuple[str, ...] = ()


class SitemapError(LinkbridgeError):
    """A sitemap that cannot be read."""


def parse_date(text: str | None) -> date | None:
    """A W3C datetime's date ("2018-01-31", "2018-01-31T10:00:00+01:00"), or None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def unpacked(body: bytes, *, max_bytes: int) -> bytes:
    """A sitemap's bytes, gunzipped when it is gzip (`.xml.gz`), at most `max_bytes`."""
    if body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(f"sitemap: broken gzip: {exc}") from None
    if len(data) > max_bytes:
        raise SitemapError(f"sitemap: larger than {max_bytes} bytes unpacked")
    return data


def parse_sitemap(body: bytes, *, max_bytes: int) -> Sitemap:
    """A sitemap (`<urlset>`) or sitemap index (`<sitemapindex>`)."""
    try:
        root = etree.fromstring(unpacked(body, max_bytes=max_bytes), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"sitemap: not XML: {exc}") from None
    if root is None:
        raise SitemapError("sitemap: empty")
    local = etree.QName(root).localname

    def entries(tag: str) -> Iterable[tuple[str, date | None]]:
        for el in root.iter(f"{{{SITEMAP_NS}}}{tag}", tag):
            loc = el.findtext(f"{{{SITEMAP_NS}}}loc") or el.findtext("loc") or ""
            lastmod = el.findtext(f"{{{SITEMAP_NS}}}lastmod") or el.findtext("lastmod")
            if loc.strip().startswith(("http://", "https://")):
                yield loc.strip(), parse_date(lastmod)

    if local == "sitemapindex":
        return Sitemap(sitemaps=tuple(url for url, _ in entries("sitemap")))
    if local == "urlset":
        return Sitemap(pages=tuple(SitemapEntry(url, d) for url, d in entries("url")))
    raise SitemapError(f"sitemap: <{local}> is neither <urlset> nor <sitemapindex>")


def page_candidate(entry: SitemapEntry, body: bytes, charset: str | None) -> SuccessorPage:
    """What matching reads of a fetched page: title, description and first paragraphs, date."""
    doc = parse_html(decode_page(body, charset))
    if doc is None:
        return SuccessorPage(entry.url, lastmod=entry.lastmod)
    title = title_of(doc, "")
    meta = {
        (el.get("name") or el.get("property") or "").lower(): el.get("content") or ""
        for el in doc.iter("meta")
    }
    published = parse_date(meta.get("article:published_time")) or entry.lastmod
    paragraphs = " ".join(p.text_content() for p in doc.iter("p"))
    text = plain(f"{meta.get('description', '')} {paragraphs}", TEXT_CHARS)
    return SuccessorPage(entry.url, title=title, text=text, lastmod=published)


Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as pages and sitemaps are read."""


async def read_sitemaps(
    fetcher: SafeFetcher, roots: Iterable[str], *, max_sitemaps: int, max_bytes: int,
    progress: Progress | None = None,
) -> tuple[list[SitemapEntry], int]:
    """Every page the sitemaps (and the indexes they list) name, once each; and how many
    sitemaps were left unread at `max_sitemaps` (said, never a silent stop)."""
    queue, seen_maps, pages = list(roots), set[str](), dict[str, SitemapEntry]()
    while queue and len(seen_maps) < max_sitemaps:
        url = queue.pop(0)
        if url in seen_maps:
            continue
        seen_maps.add(url)
        fetched = await fetcher.fetch(url, max_bytes=max_bytes, max_redirects=3,
                                      protocol="sitemap")
        if fetched.status != 200:
            raise SitemapError(f"sitemap: {url} answered {fetched.status}")
        sitemap = parse_sitemap(fetched.body, max_bytes=max_bytes)
        queue.extend(s for s in sitemap.sitemaps if s not in seen_maps)
        for entry in sitemap.pages:
            pages.setdefault(entry.url, entry)
        if progress is not None:
            progress("sitemaps", len(seen_maps), len(seen_maps) + len(queue))
    return list(pages.values()), len(set(queue) - seen_maps)


async def read_pages(
    fetcher: SafeFetcher, entries: list[SitemapEntry], *, max_bytes: int, concurrency: int,
    progress: Progress | None = None,
) -> AsyncIterator[SuccessorPage]:
    """Each page's SuccessorPage as it arrives (a page that fails is skipped: it has no title)."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(entry: SitemapEntry) -> SuccessorPage | None:
        async with semaphore:
            try:
                fetched = await fetcher.fetch(entry.url, max_bytes=max_bytes, max_redirects=3,
                                              protocol="sitemap")
            except LinkbridgeError:
                return None
        if fetched.status != 200 or "html" not in fetched.content_type:
            return None
        return page_candidate(entry, fetched.body, fetched.charset)

    for done, task in enumerate(asyncio.as_completed([one(e) for e in entries]), 1):
        candidate = await task
        if progress is not None:
            progress("pages", done, len(entries))
        if candidate is not None:
            yield candidate

