"""The read-only JSON API: approved linkbacks (JSON and JF2), counts, and what was removed.

Approved data is public, so no authentication; CORS for GET; answers are cached per query and
content version and served with ETag and 304 like the feeds (docs/api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from linkbridge import keys
from linkbridge.errors import UndecodableURL
from linkbridge.feeds.jf2 import counts_document, jf2_entry, jf2_feed, linkback_document
from linkbridge.feeds.serve import FeedCache, Representation
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, PostKey
from linkbridge.web.feeds import conditional
from linkbridge.web.middleware import ContextRoutes

JSON_TYPE = "application/json"
JF2_TYPE = "application/jf2feed+json"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Link",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
    "Allow": "GET, HEAD, OPTIONS",
}
REMOVED_STATES = (LinkbackState.DELETED, LinkbackState.REJECTED, LinkbackState.SPAM)
"""What a cache or widget must drop: deleted by its source, or refused by a moderator."""


class BadQuery(Exception):
    """A query parameter the API cannot take; answered 400 with a stable reason."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason, self.message, self.status = reason, message, status


@dataclass(frozen=True)
class Scope:
    """Which linkbacks a query is about: one post, or the whole network (None)."""

    key: PostKey | None
    target: str | None


def _error(exc: BadQuery) -> web.Response:
    body = orjson.dumps({"error": exc.reason, "message": exc.message})
    return web.Response(status=exc.status, body=body, content_type=JSON_TYPE, headers=CORS)


def _scope(request: web.Request, *, required: bool) -> Scope:
    target = request.query.get("target")
    if not target:
        if required:
            raise BadQuery("missing_target", "give target=<URL of one of the blog's posts>")
        return Scope(None, None)
    registry = request.app[keys.LIVE].snapshot.registry
    try:
        found = registry.resolve(target)
    except UndecodableURL:
        raise BadQuery("bad_target", "target is not a URL that can be decoded") from None
    if found.post is None:
        raise BadQuery("unknown_target", "target is not a post of this blog", status=404)
    return Scope(found.post.key, found.post.permalink)


def _since(request: web.Request) -> datetime | None:
    text = request.query.get("since")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery("bad_since", "since is not an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise BadQuery("bad_since", "since needs a timezone offset (e.g. Z or +01:00)")
    return moment


def _page(request: web.Request) -> int:
    text = request.query.get("page", "1")
    limit = request.app[keys.SETTINGS].api.max_page
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= limit:
        raise BadQuery("bad_page", f"page is a whole number from 1 to {limit}")
    return int(text)


def _protocol(request: web.Request) -> LinkbackProtocol | None:
    text = request.query.get("protocol")
    if not text:
        return None
    try:
        return LinkbackProtocol(text)
    except ValueError:
        raise BadQuery("bad_protocol", "protocol is pingback, trackback or webmention") from None


def _target_of(request: web.Request, linkback: Linkback) -> str:
    post = request.app[keys.LIVE].snapshot.registry.get(linkback.post_key)
    return post.permalink if post is not None else linkback.target_url


def _next_link(request: web.Request, page: int, more: bool) -> str | None:
    """The next page's URL (path and query), when there are more rows."""
    return str(request.rel_url.update_query(page=str(page + 1))) if more else None


async def _page_of(
    request: web.Request, *, scope: Scope, states: tuple[LinkbackState, ...],
    since: datetime | None, protocol: LinkbackProtocol | None, page: int,
) -> tuple[list[Linkback], bool]:
    """One page of rows, and whether another page follows (one row more is asked for)."""
    size = request.app[keys.SETTINGS].api.page_size
    rows = await request.app[keys.STORE].list_linkbacks(
        states=states,
        blog=scope.key.blog if scope.key else None,
        post_id=scope.key.post_id if scope.key else None,
        protocol=protocol,
        changed_since=since,
        limit=size + 1,
        offset=(page - 1) * size,
    )
    return rows[:size], len(rows) > size


async def _linkbacks(request: web.Request, *, jf2: bool) -> tuple[dict[str, Any], str]:
    scope, since = _scope(request, required=False), _since(request)
    protocol, page = _protocol(request), _page(request)
    rows, more = await _page_of(request, scope=scope, states=(LinkbackState.APPROVED,),
                                since=since, protocol=protocol, page=page)
    if jf2:
        name = request.app[keys.SETTINGS].site.title or "linkbacks"
        doc = jf2_feed((jf2_entry(lb, _target_of(request, lb)) for lb in rows), name=name)
        doc["next"] = _next_link(request, page, more)
        return doc, JF2_TYPE
    return {
        "target": scope.target,
        "page": page,
        "next": _next_link(request, page, more),
        "linkbacks": [linkback_document(lb, _target_of(request, lb)) for lb in rows],
    }, JSON_TYPE


async def _counts(request: web.Request) -> tuple[dict[str, Any], str]:
    scope = _scope(request, required=True)
    assert scope.key is not None
    assert scope.target is not None
    counts = await request.app[keys.STORE].linkback_counts(
        state=LinkbackState.APPROVED, blog=scope.key.blog, post_id=scope.key.post_id
    )
    return counts_document(scope.target, counts), JSON_TYPE


async def _deleted(request: web.Request) -> tuple[dict[str, Any], str]:
    since, page = _since(request), _page(request)
    if since is None:
        raise BadQuery("missing_since", "give since=<ISO 8601 instant>")
    rows, more = await _page_of(request, scope=Scope(None, None), states=REMOVED_STATES,
                                since=since, protocol=None, page=page)
    return {
        "since": since.isoformat(),
        "page": page,
        "next": _next_link(request, page, more),
        "deleted": [
            {"id": lb.id, "source": lb.source_url, "target": _target_of(request, lb),
             "state": lb.state.value, "at": lb.updated_at.isoformat(timespec="seconds")}
            for lb in rows
        ],
    }, JSON_TYPE


async def _answer(request: web.Request, build: Any) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=PREFLIGHT)
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, headers={**CORS, "Allow": "GET, HEAD, OPTIONS"})
    app = request.app
    live = app[keys.LIVE]  # linkbacks move the network's feed version, not the snapshot's
    cache_key = (request.path_qs, live.snapshot.version, live.feed_version(""), "", "api")
    rep = app[keys.API_CACHE].get(cache_key)
    if rep is None:
        try:
            doc, content_type = await build(request)
        except BadQuery as exc:
            return _error(exc)
        built = Representation.build(orjson.dumps(doc), content_type=content_type,
                                     last_modified=app[keys.CLOCK].now())
        app[keys.API_CACHE].put(cache_key, built)
        rep = built
    status, headers, body = conditional(request, rep, max_age_s=app[keys.SETTINGS].api.max_age_s)
    headers.update(CORS)
    return web.Response(status=status, headers=headers, body=body or None)


async def get_linkbacks(request: web.Request) -> web.StreamResponse:
    async def build(r: web.Request) -> tuple[dict[str, Any], str]:
        return await _linkbacks(r, jf2=False)

    return await _answer(request, build)


async def get_linkbacks_jf2(request: web.Request) -> web.StreamResponse:
    async def build(r: web.Request) -> tuple[dict[str, Any], str]:
        return await _linkbacks(r, jf2=True)

    return await _answer(request, build)


async def get_counts(request: web.Request) -> web.StreamResponse:
    return await _answer(request, _counts)


async def get_deleted(request: web.Request) -> web.StreamResponse:
    return await _answer(request, _deleted)


def add_api_routes(app: web.Application, r: ContextRoutes) -> None:
    """/api/*: its own cache of answers, sized by api.cache_entries."""
    app[keys.API_CACHE] = FeedCache(app[keys.SETTINGS].api.cache_entries)
    r.add_route("*", "/api/linkbacks", get_linkbacks)
    r.add_route("*", "/api/linkbacks.jf2", get_linkbacks_jf2)
    r.add_route("*", "/api/counts", get_counts)
    r.add_route("*", "/api/deleted", get_deleted)
