"""The catch-all: feeds, trackback ping URLs, then the blog (before) or retirement (after)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from aiohttp import web

from linkbridge import keys
from linkbridge.feeds.grammar import could_be_feed, parse_feed_path
from linkbridge.phase import Phase, phase_at
from linkbridge.posts.ping_urls import is_trackback_url
from linkbridge.retire.pages import render_gone_page
from linkbridge.retire.proxy import discovery_headers
from linkbridge.urls import public_url
from linkbridge.web.body import method_not_allowed
from linkbridge.web.feeds import serve_feed
from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS
from linkbridge.web.trackback import handle_trackback

READ_METHODS = ("GET", "HEAD")


_NO_QUERY: Mapping[str, str] = MappingProxyType({})




async def handle_any(request: web.Request) -> web.StreamResponse:
    """Every path that is not one of linkbridge's reserved ones."""
    app = request.app
    settings = app[keys.SETTINGS]
    raw_path = request.raw_path
    # Under the public base URL: a raw "//x/y" would otherwise parse as host "x", path "/y".
    # Undecodable: 400 via the middleware.
    key = app[keys.LIVE].canonicaliser.path_key(public_url(settings.site.public_base_url, raw_path))
    path = key.partition("?")[0]
    has_query = "?" in raw_path
    if has_query or could_be_feed(path):  # else not feed-shaped: skip the parser
        feed = parse_feed_path(
            path, request.query if has_query else _NO_QUERY, settings.site.blog_paths
        )
        if feed is not None:
            return await serve_feed(request, feed)
    if is_trackback_url(path, request.query if has_query else _NO_QUERY):
        answered = await handle_trackback(request, key, retire=retire)
        if answered is not None:
            return answered
    now = app[keys.CLOCK].now()
    if phase_at(now, settings.site.shutdown_at) == Phase.BEFORE:
        return await _before(request)
    return retire(request, key, now)


async def _before(request: web.Request) -> web.StreamResponse:
    """Pass the reader through to the still-running blog, or 404 without an origin."""
    app = request.app
    settings = app[keys.SETTINGS]
    proxy = app.get(keys.PROXY)
    if proxy is not None:
        return await proxy.forward(
            request,
            extra_headers=discovery_headers(
                settings.site.public_base_url, settings.site.shutdown_at
            ),
            client_ip=request.remote or "",  # the peer: a trusted proxy's XFF is kept
            client=request[keys.CLIENT_IP],
        )
    if request.method not in READ_METHODS:
        return method_not_allowed(READ_METHODS)
    return web.Response(status=404, text="not found\n", content_type="text/plain")


def retire(request: web.Request, key: str, now: datetime | None = None) -> web.StreamResponse:
    """The redirect hot path: one lookup, no I/O, no await; counted in memory (at `now`)."""
    if request.method not in READ_METHODS:
        return method_not_allowed(READ_METHODS)
    app = request.app
    retire_settings = app[keys.SETTINGS].retire
    request[keys.LOG_SAMPLE_RATE] = retire_settings.log_sample_rate
    outcome = app[keys.LIVE].snapshot.table.lookup(key)
    app[keys.HITS].count(key, outcome.status, outcome.rule, now)
    cache = f"public, max-age={retire_settings.cache_max_age_s}"
    if outcome.location is not None:
        return web.Response(
            status=outcome.status, headers={"Location": outcome.location, "Cache-Control": cache}
        )
    settings = app[keys.SETTINGS]
    memento = app[keys.ARCHIVE].get(key)
    old_url = public_url(settings.site.public_base_url, request.raw_path)
    headers = {"Cache-Control": cache, **PUBLIC_PAGE_HEADERS}
    if memento:  # RFC 7089: the page as it was, for clients that follow Memento links
        headers["Link"] = f'<{memento}>; rel="memento"'
    return web.Response(
        status=410,
        body=render_gone_page(settings, old_url, memento=memento),
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )
