"""Feed requests: cached representations, conditional GET, and the after-shutdown rule."""

from __future__ import annotations

from aiohttp import web

from linkbridge import keys
from linkbridge.feeds.grammar import FeedRequest, FeedScope
from linkbridge.feeds.plan import Plan, build_representation, find_post, plan_feed
from linkbridge.feeds.serve import CacheKey, PollShape, Representation, conditional_response
from linkbridge.metrics import bump
from linkbridge.model import Post, feed_scopes
from linkbridge.phase import Phase
from linkbridge.web.body import method_not_allowed


def conditional(
    request: web.Request, rep: Representation, *, max_age_s: int
) -> tuple[int, dict[str, str], bytes]:
    """`conditional_response` for this request's method and validator headers (feeds, API)."""
    headers = request.headers
    return conditional_response(
        rep,
        method=request.method,
        if_none_match=headers.get("If-None-Match"),
        if_modified_since=headers.get("If-Modified-Since"),
        accept_encoding=headers.get("Accept-Encoding"),
        max_age_s=max_age_s,
    )

POLL_ANSWER_MEMO_ENTRIES = 1024
"""Distinct polls (feed, validators, coding) whose answer is remembered (`keys.FEED_ANSWERS`):
a client varying its If-None-Match costs one insert per poll."""

POST_SCOPE_MEMO_ENTRIES = 4096
"""Post feed paths whose post (and so feed scope) is remembered per content version."""


def _redirect(location: str, status: int = 301) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _find_post(request: web.Request, feed: FeedRequest) -> Post | None:
    app = request.app
    return find_post(app[keys.SETTINGS], app[keys.LIVE].snapshot.registry, feed)


async def serve_feed(request: web.Request, feed: FeedRequest, phase: Phase) -> web.StreamResponse:
    """GET/HEAD of any feed-shaped path: a feed, a redirect to one, or 410 — never HTML.

    `phase`: the catch-all's, from the one clock reading it made for this request.
    """
    method = request.method
    if method not in ("GET", "HEAD"):
        return method_not_allowed(("GET", "HEAD"))
    app = request.app
    settings = app[keys.SETTINGS]
    if phase is Phase.AFTER:
        mode = settings.retire.feeds_after_shutdown
        if mode == "redirect":
            return _redirect(
                settings.retire.successor_feed_url or settings.successors.web,
                settings.retire.redirect_status,
            )
        if mode == "gone":
            return web.Response(
                status=410, text="this feed has closed\n", content_type="text/plain"
            )
    # The hot path of every reader's poll: the same poll (feed, validators, coding) at the same
    # versions gets the answer it got before, from one lookup.
    live = app[keys.LIVE]
    versions = (live.snapshot.version, live.feeds_seq)
    request_headers = request.headers
    shape: PollShape = (
        feed.key, feed.format, phase, method,
        request_headers.get("If-None-Match"), request_headers.get("If-Modified-Since"),
        request_headers.get("Accept-Encoding"),
    )
    answers = app[keys.FEED_ANSWERS]
    known = answers.get(shape)
    if known is not None and known[0] == versions:
        status, headers, body = known[1]
    else:
        # A feed is cached only once it was found known at this content version: a hit
        # skips the post lookups.
        key = _cache_key(request, feed, phase)
        cache = app[keys.FEED_CACHE]
        rep = cache.get(key)
        # only an answer from this version's cached representation is remembered, not one
        # built now or a previous version's served while another request builds
        remember = rep is not None
        if rep is None:
            plan = _plan(request, feed, phase)
            if isinstance(plan, web.Response):
                return plan
            rep = await cache.get_or_build(
                key,
                lambda: _representation(request, plan, phase),
                serve_stale=settings.feeds.serve_stale_while_rebuilding,
            )
        status, headers, body = conditional(request, rep, max_age_s=settings.feeds.max_age_s)
        if remember:
            answers.remember(shape, (versions, (status, headers, body)))
    bump(app[keys.METRICS].feed_responses, status)
    response = web.Response(status=status, body=body or None, headers=headers)
    if method == "HEAD":  # keep the full length, as for GET
        response.headers["Content-Length"] = headers.get("Content-Length", "0")
    return response


def _plan(request: web.Request, feed: FeedRequest, phase: Phase) -> Plan | web.Response:
    """Resolve what a feed shows, or the redirect to the nearest known feed (before)."""
    app = request.app
    plan = plan_feed(app[keys.SETTINGS], app[keys.LIVE].snapshot.registry, feed, phase)
    return _redirect(plan) if isinstance(plan, str) else plan


def _cache_key(request: web.Request, feed: FeedRequest, phase: Phase) -> CacheKey:
    """One representation per (feed, content version, scope version, phase, format).

    A comment feed also carries its scope's version, so a decision on one post rebuilds that
    post's, its sub-blog's and the network's comment feeds only.
    """
    live = request.app[keys.LIVE]
    version = live.snapshot.version
    scope = feed.scope
    if scope is FeedScope.COMMENTS_NETWORK or scope is FeedScope.UNKNOWN:
        scope_version = live.feed_version("")  # moves with every change: always safe
    elif scope is FeedScope.COMMENTS_BLOG:
        scope_version = live.feed_version(feed.blog)
    elif scope is FeedScope.POST or scope is FeedScope.COMMENTS_POST:
        scope_version = live.feed_version(_post_scope(request, feed, version))
    else:
        scope_version = 0  # posts feeds change with the content version only
    # The members themselves, not `.value` (a Python-level property, per poll): a StrEnum
    # member is equal to its value and hashes as it, so the key is the same.
    return (feed.key, version, scope_version, phase, feed.format)


def _post_scope(request: web.Request, feed: FeedRequest, version: int) -> str:
    """The feed scope of a post feed ("" when the post is unknown), memoised per version."""
    memo = request.app[keys.FEED_SCOPES]
    memo_key = (feed.key, version)
    scope = memo.get(memo_key)
    if scope is None:  # a new content version, or a crawler's many post paths: one insert
        post = _find_post(request, feed)
        found = "" if post is None else feed_scopes(post.blog, post.post_id)[2]
        scope = memo.remember(memo_key, found)
    return scope


async def _representation(request: web.Request, plan: Plan, phase: Phase) -> Representation:
    app = request.app
    app[keys.METRICS].feed_builds += 1
    registry = app[keys.LIVE].snapshot.registry
    return await build_representation(app[keys.SETTINGS], registry, app[keys.STORE], plan, phase)
