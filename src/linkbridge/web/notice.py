"""The closure notice (`/notice`, `/notice.json`), and robots/sitemap for crawlers."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from linkbridge import keys
from linkbridge.phase import Phase, phase_at
from linkbridge.retire.pages import notice_json, render_notice_fragment
from linkbridge.retire.sitemap import build_sitemaps, robots_txt
from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS
from linkbridge.web.site import handle_any


async def get_notice(request: web.Request) -> web.Response:
    """The banner as an HTML fragment (embeddable by the blog's theme)."""
    body = render_notice_fragment(request.app[keys.SETTINGS])
    return web.Response(body=body, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=3600",
                                 "Access-Control-Allow-Origin": "*", **PUBLIC_PAGE_HEADERS})


async def get_notice_json(request: web.Request) -> web.Response:
    """The banner as JSON: text in both languages, successors, contact, instant."""
    return web.json_response(notice_json(request.app[keys.SETTINGS]),
                             headers={"Cache-Control": "public, max-age=3600",
                                      "Access-Control-Allow-Origin": "*", **PUBLIC_PAGE_HEADERS})


def _after(request: web.Request) -> bool:
    settings = request.app[keys.SETTINGS]
    return phase_at(request.app[keys.CLOCK].now(), settings.site.shutdown_at) == Phase.AFTER


async def get_robots(request: web.Request) -> web.StreamResponse:
    """Proxied before the instant; after it, blocks nothing and names the sitemap."""
    if not _after(request):
        return await handle_any(request)
    text = robots_txt(request.app[keys.SETTINGS].site.public_base_url)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


def sitemap_documents(request: web.Request) -> dict[str, bytes]:
    """The sitemap files for the current snapshot (built once per store version)."""
    app = request.app
    snap = app[keys.LIVE].snapshot
    cache = app[keys.SITEMAPS]
    if snap.version not in cache:
        paths = set(snap.table.redirect_paths())
        for post in snap.registry.posts():
            if not post.tombstone and snap.table.lookup(post.path).kind == "redirect":
                paths.add(urlsplit(post.permalink).path or post.path)
        cache.clear()
        cache[snap.version] = build_sitemaps(app[keys.SETTINGS].site.public_base_url,
                                             sorted(paths))
    return cache[snap.version]


async def get_sitemap(request: web.Request) -> web.StreamResponse:
    """`/sitemap.xml` and `/sitemap-N.xml` after the instant; proxied before it."""
    if not _after(request):
        return await handle_any(request)
    docs = sitemap_documents(request)
    body = docs.get(request.path)
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="application/xml", charset="utf-8")
