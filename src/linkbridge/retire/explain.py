"""What one URL does at one instant: `linkbridge redirects check` and the admin form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from linkbridge.errors import LinkbridgeError
from linkbridge.feeds.grammar import parse_feed_path
from linkbridge.model import Mapping, Post
from linkbridge.phase import Phase, phase_at
from linkbridge.posts.ping_urls import is_trackback_url, pinged_post
from linkbridge.posts.registry import PostRegistry
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser

RESERVED = re.compile(
    r"/(?:xmlrpc\.php|xmlrpc|[^/]+/xmlrpc\.php|webmention(?:/[^/]+)?|healthz|readyz|notice"
    r"|notice\.json|robots\.txt|sitemap(?:-\d+)?\.xml|admin(?:/.*)?)",
    re.DOTALL,
)
"""Paths of web/routes.py's own routes, matched like the router: decoded, case as sent."""


def is_reserved(url: str) -> bool:
    """True when the route table answers `url` itself, before the catch-all."""
    raw = urlsplit(url.strip()).path or "/"
    routed = "%2F".join(unquote(part) for part in re.split("%2[fF]", raw))  # as yarl's path_safe
    return RESERVED.fullmatch(routed) is not None


def explain_url(
    settings: Settings,
    canonicaliser: Canonicaliser,
    mappings: Iterable[Mapping],
    url: str,
    at: datetime,
    posts: PostRegistry | None = None,
) -> dict[str, Any]:
    """Outcome, status, Location and rule for a GET of `url` at instant `at` (with `posts`,
    a TrackBack ping URL is explained as the post it names, as the app answers it)."""
    phase = phase_at(at, settings.site.shutdown_at)
    out: dict[str, Any] = {"url": url, "at": at.isoformat(), "phase": phase.value}
    if not canonicaliser.is_own(url):
        out.update(outcome="foreign", status=None, detail="not one of this site's hosts")
        return out
    if is_reserved(url):  # the router answers these before any canonicalisation
        out.update(outcome="endpoint", status=None, detail="served by linkbridge itself")
        return out
    try:
        key = canonicaliser.path_key(url)
    except LinkbridgeError as exc:
        out.update(outcome="bad_request", status=400, detail=exc.message)
        return out
    out["canonical"] = key
    path = key.partition("?")[0]
    query = dict(canonicaliser.split(url).query)
    feed = parse_feed_path(path, query, settings.site.blog_paths)
    if feed is not None:
        mode = "served" if phase == Phase.BEFORE else settings.retire.feeds_after_shutdown
        out.update(outcome="feed", status=None, detail=f"feed ({feed.scope.value}): {mode}")
        return out
    if is_trackback_url(path, query):
        post = None if posts is None else pinged_post(
            posts, settings.site.public_base_url, key, query
        )
        if posts is None:
            out.update(outcome="endpoint", status=None, detail="TrackBack ping URL (POST)")
            return out
        if isinstance(post, Post):  # a GET answers as the post: 302 to it, or its outcome
            if phase == Phase.BEFORE:
                out.update(outcome="trackback", status=302, location=post.permalink,
                           detail="TrackBack ping URL: a GET goes to the post")
                return out
            key = canonicaliser.path_key(post.permalink)
    if phase == Phase.BEFORE:
        origin = settings.site.origin_url
        out.update(
            outcome="proxy" if origin else "not_found",
            status=None if origin else 404,
            detail=f"proxied to {origin}" if origin else "no origin_url set",
        )
        return out
    table = RedirectTable.build(settings, canonicaliser, mappings)
    outcome = table.lookup(key)
    out.update(
        outcome=outcome.kind,
        status=outcome.status,
        location=outcome.location,
        rule=outcome.rule.value,
        matched=outcome.matched or "(site default)",
    )
    return out
