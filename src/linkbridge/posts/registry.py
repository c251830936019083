"""URL -> post resolution over every shape a sender may hold; immutable, swapped on change."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from linkbridge.errors import UndecodableURL
from linkbridge.model import Post, PostKey
from linkbridge.urls import Canonicaliser, canonical_path

PAGED_SUFFIXES = frozenset({"amp", "embed", "trackback"})
"""Last path segments that still mean the post in front of them."""
FEED_TYPES = frozenset({"rss", "rss2", "atom", "rdf", "comments-rss2"})
ARCHIVE_HEADS = frozenset({"category", "tag", "author", "page", "search", "feed", "comments"})
"""First segments (after the sub-blog) of listings that are never a post."""
HOME_FILES = frozenset({"index.php", "wp-trackback.php"})
"""Files under a sub-blog that take ?p=ID."""
WORDPRESS_FILES = frozenset({"xmlrpc.php", "index.php"})
"""WordPress files that are not posts (besides everything named wp-*)."""
NOT_A_POST_QUERY = ("feed", "s", "cat", "m")
TRASHED_SUFFIX = "__trashed"
RESOLVE_CACHE_ENTRIES = 1024
"""Resolutions a registry remembers."""
MAX_SUFFIXES = 2
_COMMENT_PAGE = re.compile(r"comment-page-[0-9]+")
_YEAR = re.compile(r"[0-9]{4}")
_NUMBER = re.compile(r"[0-9]+")


class ResolutionKind(StrEnum):
    """What a URL turned out to be."""

    POST = "post"
    TOMBSTONE = "tombstone"
    """A known post that was trashed, drafted, or dropped from a later import."""
    FOREIGN = "foreign"
    """Not on our hosts."""
    NOT_A_POST = "not_a_post"
    """Ours, but a home page, archive, listing, feed, search or WordPress file."""
    UNKNOWN = "unknown"
    """Ours, shaped like a post, but no such post."""


@dataclass(frozen=True)
class Resolution:
    """The answer of PostRegistry.resolve."""

    kind: ResolutionKind
    post: Post | None = None
    blog: str | None = None
    """The sub-blog the URL lies under ("/" for the network root); None when foreign."""

    @property
    def found(self) -> bool:
        return self.post is not None


def blog_form(path: str) -> str:
    """A sub-blog path as posts carry it: "/innovation/"; the network root is "/"."""
    canonical = canonical_path(path)
    return canonical if canonical == "/" else canonical + "/"


def _segments(canonical: str) -> tuple[str, ...]:
    return tuple(canonical.strip("/").split("/")) if canonical != "/" else ()


def _canonical_slug(slug: str) -> str:
    """A slug as a canonical path segment ("" when it does not decode)."""
    try:
        return canonical_path("/" + slug).strip("/")
    except UndecodableURL:
        return ""


@dataclass(frozen=True)
class _SlugEntry:
    post: Post
    categories: frozenset[str]


class PostRegistry:
    """Posts of every sub-blog, indexed by canonical path, slug and (blog, id)."""

    def __init__(
        self, posts: Iterable[Post], canonicaliser: Canonicaliser, blog_paths: Iterable[str]
    ) -> None:
        self._canon = canonicaliser
        live_first = sorted(posts, key=lambda p: (p.tombstone, p.blog, p.post_id))
        self._by_key: dict[PostKey, Post] = {}
        for post in live_first:  # a live post wins its key and its path over a tombstone
            self._by_key.setdefault(post.key, post)
        self._all = tuple(sorted(self._by_key.values(), key=lambda p: (p.blog, p.post_id)))
        known = {blog_form(b) for b in blog_paths} | {p.blog for p in self._by_key.values()}
        self._blogs = tuple(sorted(known))
        self._blog_segments = sorted(
            ((_segments(canonical_path(b)), b) for b in known | {"/"}),
            key=lambda pair: -len(pair[0]),
        )
        self._by_path: dict[str, Post] = {}
        self._by_slug: dict[tuple[str, str], list[_SlugEntry]] = {}
        self._categories: set[tuple[str, str]] = set()
        for post in self._by_key.values():
            self._index(post)
        self._resolved = lru_cache(maxsize=RESOLVE_CACHE_ENTRIES)(self._resolve)

    def _index(self, post: Post) -> None:
        home = canonical_path(post.blog)
        if post.path != home and "?" not in post.permalink:
            self._by_path.setdefault(post.path, post)
            head, _, last = post.path.rpartition("/")
            if post.tombstone and last.endswith(TRASHED_SUFFIX):
                self._by_path.setdefault(f"{head}/{last.removesuffix(TRASHED_SUFFIX)}", post)
        categories = frozenset(_canonical_slug(c.slug) for c in post.categories) - {""}
        self._categories.update((post.blog, c) for c in categories)
        slug = _canonical_slug(post.slug).removesuffix(TRASHED_SUFFIX)
        if slug:
            self._by_slug.setdefault((post.blog, slug), []).append(_SlugEntry(post, categories))

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: PostKey) -> Post | None:
        """The post with this (blog, id), tombstones included."""
        return self._by_key.get(key)

    def posts(self, blog: str | None = None) -> tuple[Post, ...]:
        """All posts (tombstones included) by blog and id, optionally of one sub-blog."""
        wanted = None if blog is None else blog_form(blog)
        return tuple(p for p in self._all if wanted in (None, p.blog))

    def blogs(self) -> tuple[str, ...]:
        """Sub-blog paths from the configuration and the imported posts, sorted."""
        return self._blogs

    def resolve(self, url: str) -> Resolution:
        """What `url` (absolute, or a raw undecoded path taken as ours) points at (remembered,
        bounded: the registry never changes, and a linkback resolves its target, then the link
        to it found in the source).

        Raises UndecodableURL when the URL cannot be decoded.
        """
        return self._resolved(url)

    def _resolve(self, url: str) -> Resolution:
        split = self._canon.split(url)
        if split.scheme not in ("", "http", "https") or (
            split.host and split.host not in self._canon.site_hosts
        ):
            return Resolution(ResolutionKind.FOREIGN)
        blog, prefix, rest = self._blog_of(_segments(split.path))
        query = dict(split.query)
        if any(name in query for name in NOT_A_POST_QUERY) or _is_feed(rest):
            return Resolution(ResolutionKind.NOT_A_POST, blog=blog)
        post_id = query.get("p") or query.get("page_id")
        if post_id is not None and (not rest or (len(rest) == 1 and rest[0] in HOME_FILES)):
            return self._by_id(blog, post_id)
        if not rest or rest == ("index.php",):
            return Resolution(ResolutionKind.NOT_A_POST, blog=blog)
        candidates = _stripped(rest)
        for candidate in candidates:
            post = self._by_path.get("/" + "/".join(prefix + candidate))
            if post is not None:
                return _found(post)
        if _is_listing(rest) or self._is_category(blog, rest):
            return Resolution(ResolutionKind.NOT_A_POST, blog=blog)
        for candidate in candidates:
            post = self._guess(blog, candidate)
            if post is not None:
                return _found(post)
        return Resolution(ResolutionKind.UNKNOWN, blog=blog)

    def _blog_of(self, segments: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """(sub-blog, its segments, the segments after it): the longest sub-blog wins."""
        for prefix, blog in self._blog_segments:
            if segments[: len(prefix)] == prefix:
                return blog, prefix, segments[len(prefix) :]
        return "/", (), segments  # not reached: "/" has the empty prefix

    def _is_category(self, blog: str, rest: tuple[str, ...]) -> bool:
        """ "/<blog>/<category slug>/" (and its pages): a listing without the category base."""
        return (blog, rest[0]) in self._categories and (len(rest) == 1 or rest[1] == "page")

    def _by_id(self, blog: str, value: str) -> Resolution:
        if not (value.isascii() and value.isdigit()):
            return Resolution(ResolutionKind.UNKNOWN, blog=blog)
        post = self._by_key.get(PostKey(blog, int(value)))
        return _found(post) if post else Resolution(ResolutionKind.UNKNOWN, blog=blog)

    def _guess(self, blog: str, rest: tuple[str, ...]) -> Post | None:
        """WordPress's canonical-redirect guesses: right slug, other category; bare slug."""
        entries = self._by_slug.get((blog, rest[-1]), [])
        if len(rest) > 1:
            entries = [e for e in entries if e.post.post_type == "post"]
            entries = [e for e in entries if rest[-2] in e.categories] or entries
        candidates = [e.post for e in entries]
        live = [p for p in candidates if not p.tombstone]
        if len(live) == 1:
            return live[0]
        if not live and len(candidates) == 1:
            return candidates[0]
        return None


def _found(post: Post) -> Resolution:
    kind = ResolutionKind.TOMBSTONE if post.tombstone else ResolutionKind.POST
    return Resolution(kind, post=post, blog=post.blog)


def _stripped(rest: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`rest` and the forms left after dropping up to two post suffixes (amp, page N, ...)."""
    forms = [rest]
    while len(forms) <= MAX_SUFFIXES and len(forms[-1]) > 1:
        last = forms[-1][-1]
        if last in PAGED_SUFFIXES or _NUMBER.fullmatch(last) or _COMMENT_PAGE.fullmatch(last):
            forms.append(forms[-1][:-1])
        else:
            break
    return forms


def _is_feed(rest: tuple[str, ...]) -> bool:
    if rest and rest[-1] == "feed":
        return True
    return len(rest) >= 2 and rest[-2] == "feed" and rest[-1] in FEED_TYPES


def _is_listing(rest: tuple[str, ...]) -> bool:
    """Home page N, category/tag/author archives, search, date archives, WordPress files."""
    head = rest[0]
    return (
        head in ARCHIVE_HEADS
        or head in WORDPRESS_FILES
        or head.startswith("wp-")
        or bool(_YEAR.fullmatch(head))
    )
