"""Sitemaps and robots.txt that invite crawlers to re-visit the old URLs and see the redirects."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote
from xml.sax.saxutils import escape

from linkbridge.urls import public_url

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000
"""The sitemap protocol's limit of URLs per file."""
MAX_BYTES = 50 * 1024 * 1024
"""The sitemap protocol's limit of one uncompressed file, bytes."""

_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NAMESPACE}">\n'.encode()
_TAIL = b"</urlset>\n"
_PATH_SAFE = "/?=&%:@!$'()*+,;~-._"


def _loc(public_base_url: str, path: str) -> str:
    """An absolute, URL-escaped location under the public base URL."""
    return public_url(public_base_url, quote(path, safe=_PATH_SAFE))


def build_sitemaps(
    public_base_url: str,
    paths: Iterable[str],
    *,
    max_urls: int = MAX_URLS,
    max_bytes: int = MAX_BYTES,
) -> dict[str, bytes]:
    """{"/sitemap.xml": ...}; past one file's limits, an index there and "/sitemap-N.xml" files.

    `paths` are paths on this site (duplicates dropped, order kept); pass the old permalinks'
    paths to list the URLs that crawlers knew.
    """
    seen: set[str] = set()
    files: list[list[bytes]] = [[]]
    size = len(_HEAD) + len(_TAIL)
    for path in paths:
        if path in seen:
            continue
        seen.add(path)
        entry = f"<url><loc>{escape(_loc(public_base_url, path))}</loc></url>\n".encode()
        current = files[-1]
        if current and (len(current) >= max_urls or size + len(entry) > max_bytes):
            files.append([])
            size = len(_HEAD) + len(_TAIL)
        files[-1].append(entry)
        size += len(entry)
    bodies = [_HEAD + b"".join(entries) + _TAIL for entries in files]
    if len(bodies) == 1:
        return {"/sitemap.xml": bodies[0]}
    out = {f"/sitemap-{i}.xml": body for i, body in enumerate(bodies, start=1)}
    out["/sitemap.xml"] = _index(public_base_url, list(out))
    return out


def _index(public_base_url: str, names: list[str]) -> bytes:
    entries = "".join(
        f"<sitemap><loc>{escape(public_url(public_base_url, name))}</loc></sitemap>\n"
        for name in names
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{NAMESPACE}">\n'
        f"{entries}</sitemapindex>\n"
    ).encode()


def robots_txt(public_base_url: str) -> str:
    """Block nothing (crawlers must see the redirects) and name the sitemap."""
    return f"User-agent: *\nDisallow:\n\nSitemap: {public_url(public_base_url, 'sitemap.xml')}\n"
