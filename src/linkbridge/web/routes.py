"""The one route table. Reserved paths win over the catch-all; every 405 carries Allow."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from linkbridge import keys
from linkbridge.admin.routes import add_admin_routes
from linkbridge.web import health, notice, pingback, webmention
from linkbridge.web.api import add_api_routes
from linkbridge.web.body import method_not_allowed
from linkbridge.web.metrics import get_public_metrics
from linkbridge.web.middleware import ContextRoutes, RequestContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def read_only(handler: Handler) -> Handler:
    """GET and HEAD go to `handler`; anything else is 405 (not the catch-all's proxy)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(("GET", "HEAD"))
        return await handler(request)

    return guarded


FIRST_SEGMENT_FREE = re.compile(r"/(?:sitemap(?:-\d+)?\.xml|[^/]+/xmlrpc\.php)")
"""The reserved paths whose first segment is not fixed: the sitemaps and a sub-blog's
xmlrpc.php (matched, as aiohttp matches a route, against the decoded path)."""
_FIRST_SEGMENT_FREE_ENDINGS = (".xml", "/xmlrpc.php")
"""What every FIRST_SEGMENT_FREE path ends with: a cheap test before the regex."""


def with_first_segment_free(
    catch_all: Handler, sitemap: Handler, xmlrpc: Handler, context: RequestContext
) -> Handler:
    """The catch-all route, answering the sitemaps and `/{blog}/xmlrpc.php` first.

    Why not routes of their own: aiohttp indexes routes by their fixed leading segments, so a
    route that starts with a variable is tried (an awaited resolve and a regex match) for every
    path before the catch-all, feed polls and retired URLs included. Here they cost a string
    test on the path aiohttp has already decoded.
    """

    async def route(request: web.Request) -> web.StreamResponse:
        path = request.rel_url.path_safe
        if path.endswith(_FIRST_SEGMENT_FREE_ENDINGS) and FIRST_SEGMENT_FREE.fullmatch(path):
            # only the xmlrpc.php alternative has a second "/"
            handler = xmlrpc if path.count("/") > 1 else sitemap
            return await context.run(request, handler)
        return await catch_all(request)

    return route


def add_routes(app: web.Application, context: RequestContext) -> None:
    """Register every route inside the request context; the catch-all (its own) goes last."""
    r = ContextRoutes(app.router, context)
    r.add_route("*", "/healthz", read_only(health.get_healthz))
    r.add_route("*", "/readyz", read_only(health.get_readyz))
    r.add_route("*", "/notice", read_only(notice.get_notice))
    r.add_route("*", "/notice.json", read_only(notice.get_notice_json))
    r.add_route("*", "/notice/embed", read_only(notice.get_notice_embed))
    r.add_route("*", "/notice.css", read_only(notice.get_stylesheet))
    r.add_route("*", "/robots.txt", read_only(notice.get_robots))
    # "[^/]+": aiohttp's default "[^{}/]+" would hand "/webmention/{" to the catch-all, where
    # `redirects check` (retire/explain.py) calls it an endpoint.
    for path in ("/xmlrpc.php", "/xmlrpc"):
        r.add_route("*", path, pingback.handle_xmlrpc)
    r.add_route("*", "/webmention", webmention.handle_webmention)
    r.add_route("*", "/webmention/{public_id:[^/]+}", read_only(webmention.get_status))
    add_api_routes(app, r)
    r.add_route("*", "/metrics", read_only(get_public_metrics))
    add_admin_routes(app, r)
    # also a decoded "\n" in the path; not wrapped: the catch-all keeps its own context. The
    # sitemaps and /{blog}/xmlrpc.php are answered in front of it (`with_first_segment_free`).
    catch_all = with_first_segment_free(
        app[keys.CATCH_ALL], read_only(notice.get_sitemap), pingback.handle_xmlrpc, context
    )
    app.router.add_route("*", r"/{tail:[\s\S]*}", catch_all)
