"""TrackBack endpoint: every ping URL WordPress answers, under each sub-blog: `/<post path>/
trackback/`, `/wp-trackback.php?p=ID`, `/wp-trackback.php/ID` (path info) and `?p=ID&tb=1`
(any URL of the post with `tb=1`). A GET of one answers as WordPress does: before the instant a
302 to the post, after it the post's retirement outcome (counted as a hit)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from linkbridge import keys
from linkbridge.intake import Answer, Incoming, Refusal
from linkbridge.model import LinkbackProtocol, Post
from linkbridge.phase import Phase, phase_at
from linkbridge.posts.ping_urls import pinged_post
from linkbridge.receive.trackback_wire import (
    TrackbackError,
    parse_trackback,
    render_trackback_error,
    render_trackback_ok,
)
from linkbridge.web.body import BodyTooLarge, method_not_allowed, read_body

Retire = Callable[[web.Request, str], web.StreamResponse]
"""The retirement hot path (web/site.py's `retire`): outcome for a path key, counted."""

_MESSAGES: dict[Refusal, str] = {
    Refusal.TARGET_FOREIGN: "Sorry, this post does not accept trackbacks.",
    Refusal.TARGET_NOT_POST: "Sorry, this post does not accept trackbacks.",
    Refusal.TARGET_UNKNOWN: "I really need an ID for this to work.",
    Refusal.TARGET_TOMBSTONE: "This post no longer exists.",
    Refusal.PINGS_CLOSED: "Sorry, trackbacks are closed for this item.",
    Refusal.SAME_POST: "The trackback points at the post itself.",
    Refusal.BAD_SOURCE: "The url is not an http(s) URL.",
    Refusal.URL_TOO_LONG: "The url is too long.",
    Refusal.BLOCKED: "Trackbacks from this site are not accepted.",
    Refusal.RATE_LIMITED: "Too many trackbacks; try again later.",
    Refusal.DAILY_CAP: "Too many trackbacks from this site today.",
}


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


def find_post(request: web.Request, path_key: str) -> Post | str | None:
    """The post a ping URL names; None when it names nothing, "tombstone" for a gone post."""
    return pinged_post(
        request.app[keys.LIVE].snapshot.registry,
        request.app[keys.SETTINGS].site.public_base_url,
        path_key,
        request.query,
    )


async def handle_trackback(
    request: web.Request, path_key: str, *, retire: Retire
) -> web.StreamResponse | None:
    """POST: the TrackBack XML with error 0 or 1 and a message. GET/HEAD: 302 to the post
    before the instant, its retirement outcome after (None: the URL names no post, so the
    caller answers it as any other path)."""
    app = request.app
    settings = app[keys.SETTINGS]
    after = phase_at(app[keys.CLOCK].now(), settings.site.shutdown_at) == Phase.AFTER
    if request.method in ("GET", "HEAD"):
        found = find_post(request, path_key)
        if not isinstance(found, Post):
            return None
        if after:  # the post's own outcome: 301 to its successor, or the 410 page
            return retire(request, app[keys.LIVE].canonicaliser.path_key(found.permalink))
        # as wp-trackback.php does for a request that carries no ping
        return web.Response(status=302, headers={"Location": found.permalink})
    if request.method != "POST":
        return method_not_allowed(["POST", "GET", "HEAD"])
    if after:
        found = find_post(request, path_key)
        named = found.permalink if isinstance(found, Post) else path_key
        successor = app[keys.INTAKE].successor_for(named.removesuffix("/trackback"))
        return _xml(render_trackback_error(f"This blog has closed; see {successor}"))
    try:
        body = await read_body(request, settings.trackback.max_body_bytes)
        ping = parse_trackback(body, request.headers.get("Content-Type"),
                               max_body_bytes=settings.trackback.max_body_bytes)
    except TrackbackError as exc:
        return _xml(render_trackback_error(exc.detail))
    except BodyTooLarge:
        return _xml(render_trackback_error("The trackback is too large."))
    post = find_post(request, path_key)
    if post == "tombstone":
        return _xml(render_trackback_error(_MESSAGES[Refusal.TARGET_TOMBSTONE]))
    if not isinstance(post, Post):
        return _xml(render_trackback_error(_MESSAGES[Refusal.TARGET_UNKNOWN]))
    result = await app[keys.INTAKE].receive(
        Incoming(LinkbackProtocol.TRACKBACK, ping.url, post.permalink,
                 client_ip=request[keys.CLIENT_IP], title=ping.title, excerpt=ping.excerpt,
                 blog_name=ping.blog_name, post=post)
    )
    if result.answer == Answer.REFUSED and result.refusal is not None:
        if result.refusal == Refusal.AFTER_SHUTDOWN:
            return _xml(render_trackback_error(f"This blog has closed; see {result.successor}"))
        return _xml(render_trackback_error(_MESSAGES[result.refusal]))
    if result.answer == Answer.DUPLICATE:
        return _xml(render_trackback_error("We already have a ping from that URL for this post."))
    app[keys.WORKER].wake()
    return _xml(render_trackback_ok())
