"""The closure notice (`/notice`, `/notice.json`), and robots/sitemap for crawlers."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from linkbridge import keys
from linkbridge.pages.render import stylesheet
from linkbridge.phase import Phase, phase_at
from linkbridge.retire.pages import notice_json, render_notice_fragment, render_notice_page
from linkbridge.retire.sitemap import build_sitemaps, robots_txt
from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS

_SHARED = {
    "Cache-Control": "public, max-age=3600",
    "Access-Control-Allow-Origin": "*",
    **PUBLIC_PAGE_HEADERS,
}
"""The embeddable forms (fragment, JSON) are fetched by other sites' pages: CORS open."""


async def get_notice(request: web.Request) -> web.Response:
    """The notice as a whole page in the blog's languages (the `Sunset` link's target)."""
    body = render_notice_page(request.app[keys.SETTINGS], after=_after(request))
    return web.Response(body=body, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=3600", **PUBLIC_PAGE_HEADERS})


async def get_notice_embed(request: web.Request) -> web.Response:
    """The notice as an HTML fragment other sites include (CORS open), at its own URL."""
    body = render_notice_fragment(request.app[keys.SETTINGS], after=_after(request))
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=_SHARED)


async def get_notice_json(request: web.Request) -> web.Response:
    """The notice as JSON: the current text in each language, successors, contact, instant."""
    return web.json_response(notice_json(request.app[keys.SETTINGS], after=_after(request)),
                             headers=_SHARED)


async def get_stylesheet(request: web.Request) -> web.Response:
    """`/notice.css`: the public pages' stylesheet (the override folder's, if it has one)."""
    return web.Response(body=stylesheet(request.app[keys.SETTINGS]), content_type="text/css",
                        charset="utf-8", headers={"Cache-Control": "public, max-age=3600",
                                                  "X-Content-Type-Options": "nosniff"})


def _after(request: web.Request) -> bool:
    settings = request.app[keys.SETTINGS]
    return phase_at(request.app[keys.CLOCK].now(), settings.site.shutdown_at) == Phase.AFTER


async def get_robots(request: web.Request) -> web.StreamResponse:
    """Proxied before the instant; after it, blocks nothing and names the sitemap."""
    if not _after(request):
        return await request.app[keys.CATCH_ALL_IN_CONTEXT](request)
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
        return await request.app[keys.CATCH_ALL_IN_CONTEXT](request)
    docs = sitemap_documents(request)
    body = docs.get(request.path)
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="application/xml", charset="utf-8")
