"""Fixtures for retirement end to end: a stand-in blog (origin) and stand-in successors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

ORIGIN_PAGE = (
    "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
    "<title>Innovationsupphandling på frammarsch</title></head>"
    "<body><h1>Innovationsupphandling på frammarsch</h1></body></html>"
)
SUCCESSOR_PAGE = (
    "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
    "<title>Klimat- och näringslivsdepartementet</title></head>"
    "<body><h1>Klimat- och näringslivsdepartementet</h1>"
    "<p>Stand-in successor page on loopback.</p></body></html>"
)


def origin_app() -> web.Application:
    """The still-running blog: echoes what it was asked, and serves robots and a sitemap."""

    async def page(request: web.Request) -> web.Response:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /wp-admin/\n# origin\n")
        if request.path == "/sitemap.xml":
            return web.Response(
                text="<urlset><!-- origin --></urlset>", content_type="application/xml"
            )
        body = await request.read()
        return web.Response(
            text=ORIGIN_PAGE,
            content_type="text/html",
            headers={
                "X-Origin-Path": request.raw_path,
                "X-Origin-Method": request.method,
                "X-Origin-Body": str(len(body)),
                "X-Origin-Forwarded-For": request.headers.get("X-Forwarded-For", ""),
                "Link": '<http://www.naringsbloggen.se/?p=1>; rel="shortlink"',
            },
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    return app


def successor_app() -> web.Application:
    """A stand-in successor site: 200 at /successor, 404 at /moved-away, /hop/N: N redirects."""

    async def successor(request: web.Request) -> web.Response:
        return web.Response(text=SUCCESSOR_PAGE, content_type="text/html")

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=404, text="not here any more")

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        if left == 0:
            return web.Response(text=SUCCESSOR_PAGE, content_type="text/html")
        raise web.HTTPFound(f"/hop/{left - 1}")

    app = web.Application()
    app.router.add_get("/successor", successor)
    app.router.add_get("/moved-away", moved)
    app.router.add_get(r"/hop/{n:\d+}", hop)
    return app


@pytest.fixture
async def origin(source_server: ServerFactory) -> TestServer:
    """The stand-in blog on 127.0.0.1."""
    return await source_server(origin_app())


@pytest.fixture
async def successor(source_server: ServerFactory) -> TestServer:
    """The stand-in successor site on 127.0.0.1."""
    return await source_server(successor_app())
