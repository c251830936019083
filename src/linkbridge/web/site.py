"""The catch-all, as a table of outcomes: the first whose condition holds answers.

Like GOV.UK's bouncer, the request is canonicalised once (`Asked`), then each outcome is tried
in order:

| outcome   | when                              | answer                                  |
|-----------|-----------------------------------|-----------------------------------------|
| feed      | the path (and query) names a feed | web/feeds.py: cached body, 200/304      |
| trackback | a TrackBack ping URL (any shape)  | web/trackback.py: the intake            |
| blog      | before the shutdown instant       | the origin proxy, else 404              |
| retired   | from the instant on               | the redirect table: 301/308 or 410 page |

Feeds and retired URLs are the hot outcomes: they run without the request context and log a
sampled line themselves (no request id is made unless the line is written); the others run
inside the full context (every request logged, the client's address known). Undecodable paths
get the context's 400. A route already inside the context (robots.txt and the sitemaps before
the instant) hands its request to `in_context`, the second handler `make_catch_all` returns.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from aiohttp import web

from linkbridge import keys
from linkbridge.clock import Clock
from linkbridge.errors import LinkbridgeError
from linkbridge.feeds.grammar import FeedRequest, could_be_feed, parse_feed_path
from linkbridge.memo import BoundedMemo
from linkbridge.metrics import is_store_error
from linkbridge.phase import Phase
from linkbridge.posts.ping_urls import is_trackback_url
from linkbridge.retire.pages import old_url_for, render_gone_page
from linkbridge.retire.proxy import discovery_headers
from linkbridge.settings import Settings
from linkbridge.urls import public_url
from linkbridge.web.body import method_not_allowed
from linkbridge.web.feeds import serve_feed
from linkbridge.web.middleware import RequestContext
from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS
from linkbridge.web.trackback import handle_trackback

READ_METHODS = ("GET", "HEAD")
_NO_QUERY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class SiteConstants:
    """What the catch-all derives from settings, once (not per request)."""

    base_url: str
    shutdown_utc: datetime
    blog_paths: tuple[str, ...]
    retire_cache_control: str
    retire_log_sample_rate: float
    feed_log_sample_rate: float

    @classmethod
    def of(cls, settings: Settings) -> SiteConstants:
        return cls(
            base_url=settings.site.public_base_url,
            shutdown_utc=settings.site.shutdown_at.astimezone(UTC),
            blog_paths=tuple(settings.site.blog_paths),
            retire_cache_control=f"public, max-age={settings.retire.cache_max_age_s}",
            retire_log_sample_rate=settings.retire.log_sample_rate,
            feed_log_sample_rate=settings.feeds.log_sample_rate,
        )


READINGS_MEMO_ENTRIES = 4096
"""Raw paths whose reading the catch-all remembers (a crawler's many distinct paths cost one
insert each)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a raw request path (with its query) means, at any moment: read once, remembered.

    Every field is a function of the raw path and the settings alone, so one raw path is
    canonicalised and parsed once, not on every poll of the same feed or the same old URL.
    """

    key: str
    path: str
    feed: FeedRequest | None
    query: Mapping[str, str]
    trackback: bool

    @classmethod
    def of(cls, request: web.Request, raw_path: str, site: SiteConstants) -> Reading:
        """Canonicalise under the public base URL: a raw "//x/y" would otherwise parse as host
        "x", path "/y". Undecodable: LinkbridgeError, answered 400 by the request context."""
        key = request.app[keys.LIVE].canonicaliser.path_key(public_url(site.base_url, raw_path))
        path = key.partition("?")[0]
        has_query = "?" in raw_path
        query = request.query if has_query else _NO_QUERY
        feed = None
        if has_query or could_be_feed(path):  # else not feed-shaped: skip the parser
            feed = parse_feed_path(path, query, site.blog_paths)
        return cls(key, path, feed, query, is_trackback_url(path, query))


class Asked:
    """One request to the catch-all: its reading and the one clock reading it is answered at."""

    __slots__ = ("app", "feed", "key", "now", "path", "query", "request", "trackback")
    request: web.Request
    app: web.Application
    key: str
    path: str
    now: datetime
    feed: FeedRequest | None
    query: Mapping[str, str]
    trackback: bool

    def __init__(self, request: web.Request, reading: Reading, now: datetime) -> None:
        self.request = request
        self.app = request.app
        self.key = reading.key
        self.path = reading.path
        self.feed = reading.feed
        self.query = reading.query
        self.trackback = reading.trackback
        self.now = now


Answer = Callable[[Asked, SiteConstants], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Outcome:
    """One row of the table: a name, its condition, its answer, and, for a hot outcome, the
    share of its reads that are logged (None: not hot, it runs inside the full context)."""

    name: str
    applies: Callable[[Asked, SiteConstants], bool]
    answer: Answer
    sample_rate: Callable[[SiteConstants], float] | None


def _feed(asked: Asked, site: SiteConstants) -> Awaitable[web.StreamResponse]:
    """serve_feed's own coroutine (not one more around it: this is every reader's poll)."""
    assert asked.feed is not None
    phase = Phase.AFTER if asked.now >= site.shutdown_utc else Phase.BEFORE  # as phase_at
    return serve_feed(asked.request, asked.feed, phase)


async def _trackback(asked: Asked, site: SiteConstants) -> web.StreamResponse:
    def retire_now(request: web.Request, key: str) -> web.StreamResponse:
        _set_sample_rate(request, RETIRED, site)  # inside the context: its line is sampled
        return retire(request, asked.app, key, asked.now, site)

    answered = await handle_trackback(asked.request, asked.key, retire=retire_now)
    if answered is not None:
        return answered
    # the URL names no post: answered as any other path (the rows after this one)
    return await _answer_in_context(asked, site, BLOG if asked.now < site.shutdown_utc else RETIRED)


async def _blog(asked: Asked, site: SiteConstants) -> web.StreamResponse:
    """Pass the reader through to the still-running blog, or 404 without an origin."""
    request = asked.request
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


async def _retired(asked: Asked, site: SiteConstants) -> web.StreamResponse:
    return retire(asked.request, asked.app, asked.key, asked.now, site)


FEED = Outcome(
    "feed", lambda asked, site: asked.feed is not None, _feed,
    sample_rate=lambda site: site.feed_log_sample_rate,
)
TRACKBACK = Outcome(
    "trackback", lambda asked, site: asked.trackback, _trackback, sample_rate=None
)
BLOG = Outcome("blog", lambda asked, site: asked.now < site.shutdown_utc, _blog, sample_rate=None)
RETIRED = Outcome(
    "retired", lambda asked, site: True, _retired,
    sample_rate=lambda site: site.retire_log_sample_rate,
)
OUTCOMES: tuple[Outcome, ...] = (FEED, TRACKBACK, BLOG, RETIRED)


def outcome_for(asked: Asked, site: SiteConstants) -> Outcome:
    """The first outcome whose condition holds (the last always does)."""
    for outcome in OUTCOMES:
        if outcome.applies(asked, site):
            return outcome
    raise AssertionError("site: the last outcome always applies")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_catch_all(
    settings: Settings, context: RequestContext, clock: Clock
) -> tuple[Handler, Handler]:
    """The catch-all route's handler for these settings (its constants derived once, here),
    and the same for a route already inside the request context."""
    site = SiteConstants.of(settings)
    readings: BoundedMemo[str, Reading] = BoundedMemo(READINGS_MEMO_ENTRIES)

    def read(request: web.Request) -> Reading:
        raw_path = request.raw_path
        reading = readings.get(raw_path)
        if reading is None:
            reading = readings.remember(raw_path, Reading.of(request, raw_path, site))
        return reading

    async def handle_any(request: web.Request) -> web.StreamResponse:
        """Every path that is not one of linkbridge's reserved ones."""
        started = time.perf_counter()
        try:
            reading = read(request)
        except LinkbridgeError:  # undecodable: the full context renders and logs the 400
            return await context.run(request, in_context)
        asked = Asked(request, reading, clock.now())
        outcome = outcome_for(asked, site)
        if outcome.sample_rate is None:
            return await context.run(request, lambda _: outcome.answer(asked, site))
        try:
            response = await outcome.answer(asked, site)
        except Exception as exc:  # unexpected: aiohttp answers 500, and 5xx is always logged
            if is_store_error(exc):  # a feed build could not read the store
                asked.app[keys.METRICS].store_errors += 1
            context.log_sampled(request, 500, started, 1.0)
            raise
        # other methods are a 405, logged every time
        rate = outcome.sample_rate(site) if request.method in READ_METHODS else 1.0
        context.log_sampled(request, response.status, started, rate)
        return response

    async def in_context(request: web.Request) -> web.StreamResponse:
        """The catch-all's answer for a request already inside the context."""
        asked = Asked(request, read(request), clock.now())
        return await _answer_in_context(asked, site, outcome_for(asked, site))

    return handle_any, in_context


def _set_sample_rate(request: web.Request, outcome: Outcome, site: SiteConstants) -> None:
    """Inside the context, a hot outcome's read is logged at its share, as on the hot path."""
    if outcome.sample_rate is not None and request.method in READ_METHODS:
        request[keys.LOG_SAMPLE_RATE] = outcome.sample_rate(site)


async def _answer_in_context(
    asked: Asked, site: SiteConstants, outcome: Outcome
) -> web.StreamResponse:
    _set_sample_rate(asked.request, outcome, site)
    return await outcome.answer(asked, site)


def retire(
    request: web.Request, app: web.Application, key: str, now: datetime, site: SiteConstants
) -> web.StreamResponse:
    """The redirect hot path: one lookup, no I/O, no await; counted in memory (at `now`)."""
    if request.method not in READ_METHODS:
        return method_not_allowed(READ_METHODS)
    outcome = app[keys.LIVE].snapshot.table.lookup(key)
    app[keys.HITS].count(key, outcome.status, outcome.rule, now)
    if outcome.location is not None:
        return web.Response(
            status=outcome.status,
            headers={"Location": outcome.location, "Cache-Control": site.retire_cache_control},
        )
    settings = app[keys.SETTINGS]
    memento = app[keys.ARCHIVE].get(key)
    old_url = old_url_for(settings, request.raw_path)
    headers = {"Cache-Control": site.retire_cache_control, **PUBLIC_PAGE_HEADERS}
    if memento:  # RFC 7089: the page as it was, for clients that follow Memento links
        headers["Link"] = f'<{memento}>; rel="memento"'
    return web.Response(
        status=410,
        body=render_gone_page(settings, old_url, memento=memento),
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )
