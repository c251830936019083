"""Which feed a path asks for: the feed grammar (docs/architecture.md), as pure code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache
from urllib.parse import quote


class FeedScope(StrEnum):
    """What a feed lists."""

    NETWORK = "network"
    BLOG = "blog"
    POST = "post"
    """`/<post path>/feed/` or `?p=ID&feed=rss2`: WordPress serves the post's comments there."""
    CATEGORY = "category"
    AUTHOR = "author"
    COMMENTS_NETWORK = "comments_network"
    COMMENTS_BLOG = "comments_blog"
    COMMENTS_POST = "comments_post"
    """A post's comments asked for by name (`?feed=comments-rss2`): served as POST."""
    UNKNOWN = "unknown"
    """Feed-shaped, but no feed we know: the caller serves the nearest known feed."""


class FeedFormat(StrEnum):
    """The two formats served; RDF requests get RSS 2.0."""

    RSS = "rss"
    ATOM = "atom"


COMMENT_SCOPES = frozenset(
    {FeedScope.POST, FeedScope.COMMENTS_NETWORK, FeedScope.COMMENTS_BLOG, FeedScope.COMMENTS_POST}
)
"""Scopes whose items are linkbacks (a post's feed is its comment feed, as in WordPress)."""

_TYPES = {
    "feed": FeedFormat.RSS,
    "rss": FeedFormat.RSS,
    "rss2": FeedFormat.RSS,
    "rdf": FeedFormat.RSS,
    "atom": FeedFormat.ATOM,
}
_COMMENT_TYPES = {"comments-rss2": FeedFormat.RSS, "comments-atom": FeedFormat.ATOM}
_LEGACY = {
    "wp-rss.php": (FeedFormat.RSS, False),
    "wp-rss2.php": (FeedFormat.RSS, False),
    "wp-rdf.php": (FeedFormat.RSS, False),
    "wp-atom.php": (FeedFormat.ATOM, False),
    "wp-commentsrss2.php": (FeedFormat.RSS, True),
}
"""Pre-2.1 WordPress feed files, still in old subscriptions."""
_ARCHIVE_WORDS = frozenset({"tag", "page", "search", "date", "type", "comments"})
"""First segments under a blog that are archives, not posts: feed-shaped but unknown."""
PARSE_CACHE_ENTRIES = 1024
"""Parsed feed paths remembered (results are immutable, so they are shared)."""


@dataclass(frozen=True)
class FeedRequest:
    """One parsed feed path."""

    scope: FeedScope
    blog: str
    """Sub-blog path as in settings ("/innovation/"), "/" for the network root."""
    format: FeedFormat = FeedFormat.RSS
    path: str = ""
    """Canonical post path (no trailing slash) for post scopes, else empty."""
    slug: str = ""
    """Category slug or author login."""
    post_id: int | None = None
    """WordPress post id from `?p=ID` (post scopes reached by query)."""

    @cached_property
    def key(self) -> str:
        """Cache key without the format: equal for every spelling of the same feed."""
        scope = FeedScope.COMMENTS_POST if self.scope is FeedScope.POST else self.scope
        ident = self.path or (f"?p={self.post_id}" if self.post_id is not None else "")
        return f"{scope}|{self.blog}|{ident}|{self.slug}"


def _segments(path: str) -> list[str]:
    return [seg for seg in path.split("?", 1)[0].casefold().split("/") if seg]


def blog_key(blog_path: str) -> str:
    """A sub-blog path as FeedRequest.blog spells it: folded, slashes on both ends."""
    segs = _segments(blog_path)
    return "/" + "/".join(segs) + "/" if segs else "/"


@lru_cache(maxsize=8)
def _blog_table(blog_paths: tuple[str, ...]) -> Mapping[tuple[str, ...], str]:
    """Sub-blog segments -> blog key; built once per configured list (read-only, shared)."""
    table: dict[tuple[str, ...], str] = {}
    for blog_path in blog_paths:
        segs = tuple(_segments(blog_path))
        if segs:
            table[segs] = blog_key(blog_path)
    return table


def could_be_feed(path: str) -> bool:
    """False only when `parse_feed_path(path, {}, ...)` is None: a cheap pre-check for paths
    without a query (every feed-shaped path has a "feed" or a legacy "wp-" file segment)."""
    folded = path.casefold()
    return "feed" in folded or "wp-" in folded


def parse_feed_path(
    path: str, query: Mapping[str, str], blog_paths: Iterable[str]
) -> FeedRequest | None:
    """The feed `path` (+ `query`) asks for, or None when it is not feed-shaped."""
    return _parse(path, query.get("feed"), query.get("p"), tuple(blog_paths))


@lru_cache(maxsize=PARSE_CACHE_ENTRIES)
def _parse(
    path: str, feed_param: str | None, post_param: str | None, blog_paths: tuple[str, ...]
) -> FeedRequest | None:
    """parse_feed_path on hashable inputs, memoised: readers poll the same few feed paths."""
    segs = _segments(path)
    query_type = (feed_param or "").strip().casefold()
    fmt = FeedFormat.RSS
    comments = False
    unknown_type = False
    if segs and segs[-1] in _LEGACY:
        fmt, comments = _LEGACY[segs.pop()]
    elif len(segs) >= 2 and segs[-2] == "feed":
        kind = segs[-1]
        segs = segs[:-2]
        if kind in _TYPES:
            fmt = _TYPES[kind]
        elif kind in _COMMENT_TYPES:
            fmt, comments = _COMMENT_TYPES[kind], True
        else:
            unknown_type = True
    elif segs and segs[-1] == "feed":
        segs.pop()
    elif not query_type:
        return None
    if query_type in _TYPES:
        fmt = _TYPES[query_type]
    elif query_type in _COMMENT_TYPES:
        fmt, comments = _COMMENT_TYPES[query_type], True
    elif query_type:
        unknown_type = True
    blog, rest = _split_blog(segs, _blog_table(tuple(blog_paths)))
    if unknown_type:
        return FeedRequest(FeedScope.UNKNOWN, blog, fmt)
    return _classify(blog, rest, fmt, comments=comments, post_param=post_param)


def _split_blog(segs: list[str], blogs: Mapping[tuple[str, ...], str]) -> tuple[str, list[str]]:
    """The longest configured sub-blog that prefixes `segs`, and what follows it."""
    for size in range(len(segs), 0, -1):
        blog = blogs.get(tuple(segs[:size]))
        if blog is not None:
            return blog, segs[size:]
    return "/", segs


def _classify(
    blog: str, rest: list[str], fmt: FeedFormat, *, comments: bool, post_param: str | None
) -> FeedRequest:
    if post_param is not None and not rest:
        post_id = _post_id(post_param)
        if post_id is None:
            return FeedRequest(FeedScope.UNKNOWN, blog, fmt)
        return FeedRequest(_post_scope(comments), blog, fmt, post_id=post_id)
    if not rest:
        scope = FeedScope.BLOG if blog != "/" else FeedScope.NETWORK
        if comments:
            scope = FeedScope.COMMENTS_BLOG if blog != "/" else FeedScope.COMMENTS_NETWORK
        return FeedRequest(scope, blog, fmt)
    if rest == ["comments"]:
        scope = FeedScope.COMMENTS_BLOG if blog != "/" else FeedScope.COMMENTS_NETWORK
        return FeedRequest(scope, blog, fmt)
    head = rest[0]
    if head in ("category", "author") and len(rest) >= 2:
        if head == "author" and len(rest) != 2:
            return FeedRequest(FeedScope.UNKNOWN, blog, fmt)
        if comments:  # WordPress has no per-category comment feed: the blog's is nearest
            scope = FeedScope.COMMENTS_BLOG if blog != "/" else FeedScope.COMMENTS_NETWORK
            return FeedRequest(scope, blog, fmt)
        scope = FeedScope.CATEGORY if head == "category" else FeedScope.AUTHOR
        return FeedRequest(scope, blog, fmt, slug=rest[-1])
    if head in _ARCHIVE_WORDS or head in ("category", "author") or _is_year(head):
        return FeedRequest(FeedScope.UNKNOWN, blog, fmt)
    post_path = blog.rstrip("/") + "/" + "/".join(rest)
    return FeedRequest(_post_scope(comments), blog, fmt, path=post_path)


def _post_scope(comments: bool) -> FeedScope:
    return FeedScope.COMMENTS_POST if comments else FeedScope.POST


def _post_id(value: str) -> int | None:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    number = int(value)
    return number if number > 0 else None


def _is_year(segment: str) -> bool:
    return len(segment) == 4 and segment.isascii() and segment.isdigit()


def nearest_known(request: FeedRequest) -> FeedRequest:
    """The feed an unknown (or unresolvable) request falls back to: its blog's posts feed."""
    scope = FeedScope.BLOG if request.blog != "/" else FeedScope.NETWORK
    return FeedRequest(scope, request.blog, request.format)


def feed_path(request: FeedRequest) -> str:
    """The canonical public path of a known feed (percent-encoded, trailing slash)."""
    suffix = "feed/atom/" if request.format is FeedFormat.ATOM else "feed/"
    blog = request.blog
    scope = request.scope
    if scope in (FeedScope.NETWORK, FeedScope.BLOG, FeedScope.UNKNOWN):
        base = blog
    elif scope in (FeedScope.COMMENTS_NETWORK, FeedScope.COMMENTS_BLOG):
        base = blog + "comments/"
    elif scope in (FeedScope.CATEGORY, FeedScope.AUTHOR):
        base = f"{blog}{scope.value}/{request.slug}/"
    elif request.path:
        base = request.path.rstrip("/") + "/"
    else:
        kind = "comments-atom" if request.format is FeedFormat.ATOM else "comments-rss2"
        return quote(f"{blog}?p={request.post_id}&feed={kind}", safe="/?&=")
    return quote(base + suffix, safe="/")
