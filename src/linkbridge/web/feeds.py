"""Feed requests: cached representations, conditional GET, and the after-shutdown rule."""

from __future__ import annotations

from aiohttp import web

from linkbridge import keys
from linkbridge.feeds.build import BuiltFeed, build_comments_feed, build_posts_feed
from linkbridge.feeds.context import context_for
from linkbridge.feeds.grammar import (
    COMMENT_SCOPES,
    FeedRequest,
    FeedScope,
    feed_path,
    nearest_known,
)
from linkbridge.feeds.serve import CacheKey, Representation, conditional_response
from linkbridge.metrics import bump
from linkbridge.model import LinkbackState, Post, PostKey, feed_scopes
from linkbridge.phase import Phase, phase_at
from linkbridge.urls import public_url
from linkbridge.web.body import method_not_allowed

POST_SCOPE_MEMO_ENTRIES = 4096
"""Post feed paths whose post (and so feed scope) is remembered per content version."""


def _redirect(location: str, status: int = 301) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _find_post(request: web.Request, feed: FeedRequest) -> Post | None:
    registry = request.app[keys.LIVE].snapshot.registry
    if feed.post_id is not None:
        post = registry.get(PostKey(feed.blog, feed.post_id))
    else:
        base = request.app[keys.SETTINGS].site.public_base_url
        found = registry.resolve(public_url(base, feed.path + "/"))
        post = found.post
    return None if post is None or post.tombstone else post


def _posts_for(request: web.Request, feed: FeedRequest) -> tuple[list[Post], str]:
    """The posts a posts feed lists, and the title qualifier (category or author)."""
    registry = request.app[keys.LIVE].snapshot.registry
    posts = [
        p
        for p in registry.posts(None if feed.blog == "/" else feed.blog)
        if p.post_type == "post" and not p.tombstone
    ]
    if feed.scope == FeedScope.CATEGORY:
        posts = [p for p in posts if any(c.slug.casefold() == feed.slug for c in p.categories)]
        names = {c.name for p in posts for c in p.categories if c.slug.casefold() == feed.slug}
        return posts, next(iter(names), feed.slug)
    if feed.scope == FeedScope.AUTHOR:
        posts = [p for p in posts if p.author.casefold() == feed.slug]
        # titled as WordPress does: the author's display name from the export, not the login
        return posts, next((p.author_name for p in posts if p.author_name), feed.slug)
    return posts, ""


async def serve_feed(request: web.Request, feed: FeedRequest) -> web.StreamResponse:
    """GET/HEAD of any feed-shaped path: a feed, a redirect to one, or 410 — never HTML."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(("GET", "HEAD"))
    app = request.app
    settings = app[keys.SETTINGS]
    request[keys.LOG_SAMPLE_RATE] = settings.feeds.log_sample_rate
    phase = phase_at(app[keys.CLOCK].now(), settings.site.shutdown_at)
    if phase == Phase.AFTER:
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
    # A feed is cached only once it was found known at this content version: a hit skips the
    # post lookups (the hot path of every reader's poll).
    key = _cache_key(request, feed, phase)
    cache = app[keys.FEED_CACHE]
    rep = cache.get(key)
    if rep is None:
        plan = _plan(request, feed, phase)
        if isinstance(plan, web.Response):
            return plan
        rep = await cache.get_or_build(
            key,
            lambda: _representation(request, *plan, phase),
            serve_stale=settings.feeds.serve_stale_while_rebuilding,
        )
    status, headers, body = conditional_response(
        rep,
        method=request.method,
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
        accept_encoding=request.headers.get("Accept-Encoding"),
        max_age_s=settings.feeds.max_age_s,
    )
    bump(request.app[keys.METRICS].feed_responses, status)
    response = web.Response(status=status, body=body or None, headers=headers)
    if request.method == "HEAD":  # keep the full length, as for GET
        response.headers["Content-Length"] = headers.get("Content-Length", "0")
    return response


Plan = tuple[FeedRequest, Post | None, list[Post], str]
"""What to build: the feed, its post (post scopes), the posts it lists, the title qualifier."""


def _plan(request: web.Request, feed: FeedRequest, phase: Phase) -> Plan | web.Response:
    """Resolve what a feed shows, or the redirect to the nearest known feed (before)."""
    post: Post | None = None
    if feed.scope in (FeedScope.POST, FeedScope.COMMENTS_POST):
        post = _find_post(request, feed)
    qualifier = ""
    posts: list[Post] = []
    if feed.scope not in COMMENT_SCOPES and feed.scope != FeedScope.UNKNOWN:
        posts, qualifier = _posts_for(request, feed)
    known = (
        feed.scope != FeedScope.UNKNOWN
        and (post is not None or feed.scope not in (FeedScope.POST, FeedScope.COMMENTS_POST))
        and (feed.scope not in (FeedScope.CATEGORY, FeedScope.AUTHOR) or posts)
    )
    if not known and phase == Phase.BEFORE:
        base = request.app[keys.SETTINGS].site.public_base_url
        return _redirect(public_url(base, feed_path(nearest_known(feed))))
    if not known:  # after the instant: the nearest feed's farewell, no hop to a retired URL
        feed, post = nearest_known(feed), None
        posts, qualifier = _posts_for(request, feed)
    return feed, post, posts, qualifier


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
    return (feed.key, version, scope_version, phase.value, feed.format.value)


def _post_scope(request: web.Request, feed: FeedRequest, version: int) -> str:
    """The feed scope of a post feed ("" when the post is unknown), memoised per version."""
    memo = request.app[keys.FEED_SCOPES]
    memo_key = (feed.key, version)
    scope = memo.get(memo_key)
    if scope is None:
        post = _find_post(request, feed)
        scope = "" if post is None else feed_scopes(post.blog, post.post_id)[2]
        if len(memo) >= POST_SCOPE_MEMO_ENTRIES:
            memo.clear()  # a new content version, or a crawler's many post paths: start afresh
        memo[memo_key] = scope
    return scope


async def _representation(
    request: web.Request,
    feed: FeedRequest,
    post: Post | None,
    posts: list[Post],
    qualifier: str,
    phase: Phase,
) -> Representation:
    app = request.app
    settings = app[keys.SETTINGS]
    snapshot = app[keys.LIVE].snapshot
    ctx = context_for(
        settings, feed, farewell=phase == Phase.AFTER, html_url=post.permalink if post else None
    )
    limit = settings.feeds.items
    built: BuiltFeed
    if feed.scope in COMMENT_SCOPES:
        store = app[keys.STORE]
        blog = (
            post.blog if post else (None if feed.scope == FeedScope.COMMENTS_NETWORK else feed.blog)
        )
        post_id = post.post_id if post else None
        linkbacks = await store.list_linkbacks(
            states=[LinkbackState.APPROVED], blog=blog, post_id=post_id, limit=limit
        )
        posts_by_key = {p.key: p for p in snapshot.registry.posts()}
        built = build_comments_feed(
            linkbacks,
            posts_by_key,
            ctx,
            fmt=feed.format,
            post=post,
            limit=limit,
            changed_at=await store.last_change(blog=blog, post_id=post_id),
        )
    else:
        built = build_posts_feed(posts, ctx, fmt=feed.format, qualifier=qualifier, limit=limit)
    return Representation.of_feed(built)
