"""The one route table. Reserved paths win over the catch-all; every 405 carries Allow."""

from __future__ import annotations

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
    r.add_route("*", r"/{name:sitemap(-\d+)?\.xml}", read_only(notice.get_sitemap))
    # "[^/]+": aiohttp's default "[^{}/]+" would hand "/webmention/{" to the catch-all, where
    # `redirects check` (retire/explain.py) calls it an endpoint.
    for path in ("/xmlrpc.php", "/xmlrpc", "/{blog:[^/]+}/xmlrpc.php"):
        r.add_route("*", path, pingback.handle_xmlrpc)
    r.add_route("*", "/webmention", webmention.handle_webmention)
    r.add_route("*", "/webmention/{public_id:[^/]+}", read_only(webmention.get_status))
    add_api_routes(app, r)
    r.add_route("*", "/metrics", read_only(get_public_metrics))
    add_admin_routes(app, r)
    # also a decoded "\n" in the path; not wrapped: the catch-all keeps its own context
    app.router.add_route("*", r"/{tail:[\s\S]*}", app[keys.CATCH_ALL])
