"""The feeds as files for nginx: each known feed's bytes (identity and gzip) under their ETag,
and a map from the plain spellings of its URL to the file, for `linkbridge export nginx`.

nginx answers a feed only when it can give linkbridge's own answer: a GET or HEAD of a plain
lower-case path with no query (matched against the raw `$request_uri`, so percent-escapes,
doubled slashes and dot segments go to linkbridge), an Accept-Encoding without q-values, an
If-None-Match that is empty or a single tag of ours, and no If-Modified-Since alone, If-Match,
If-Unmodified-Since or Range. Every map key starts with the side of the shutdown instant it was
written for, and nginx compares it with its own clock, so at the instant nginx stops answering
the old side's feeds by itself and passes them to linkbridge until the new side's are written.

Files are named by their content (`<digest>.rss`, `<digest>-gz.rss`), never rewritten: the map
names body and ETag together, so a reload switches both at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from linkbridge.feeds.grammar import FeedFormat, FeedRequest, FeedScope, parse_feed_path
from linkbridge.feeds.plan import Plan, build_representation, plan_feed
from linkbridge.feeds.serve import Representation
from linkbridge.model import feed_scopes
from linkbridge.phase import Phase
from linkbridge.posts.registry import PostRegistry
from linkbridge.retire.nginx import PLAIN_KEY
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import Canonicaliser, public_url

FEEDS_MAP_FILE = "linkbridge-feeds.map"
FEEDS_FOLDER = "feeds"

_ALL_TYPES = ("feed/", "feed", "feed/rss2/", "feed/rss2", "feed/rss/", "feed/rss",
              "feed/rdf/", "feed/rdf", "feed/atom/", "feed/atom")
"""Spellings of a network, sub-blog or comments feed (RDF is answered with RSS 2.0)."""
_SHORT_TYPES = ("feed/", "feed", "feed/atom/", "feed/atom")
"""Spellings of a category, author or post feed."""
_LEGACY = ("wp-rss.php", "wp-rss2.php", "wp-rdf.php", "wp-atom.php", "wp-commentsrss2.php")

FeedId = tuple[str, str]
"""(FeedRequest.key, format): one representation, whatever the spelling."""


def _bases(settings: Settings, registry: PostRegistry) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(base path, suffixes) whose concatenations may name a known feed."""
    for blog in ("/", *settings.site.blog_paths):
        yield blog, _ALL_TYPES + _LEGACY
        yield blog + "comments/", _ALL_TYPES
    categories: set[str] = set()
    authors: set[str] = set()
    for post in registry.posts():
        if post.tombstone:
            continue
        yield post.path.rstrip("/") + "/", _SHORT_TYPES
        if post.post_type != "post":
            continue
        blog = post.blog
        categories.update(f"{blog}category/{c.slug.casefold()}/" for c in post.categories)
        if post.author:
            authors.add(f"{blog}author/{post.author.casefold()}/")
    for base in sorted(categories | authors):
        yield base, _SHORT_TYPES


def feed_paths(
    settings: Settings, registry: PostRegistry, canonicaliser: Canonicaliser
) -> dict[str, FeedRequest]:
    """Plain request paths nginx can match exactly → the feed linkbridge reads in them.

    Each path is read as the catch-all reads it (canonicalised, then the feed grammar), so a
    path is listed only with the feed linkbridge itself would serve there.
    """
    out: dict[str, FeedRequest] = {}
    base_url = settings.site.public_base_url
    blog_paths = tuple(settings.site.blog_paths)
    for base, suffixes in _bases(settings, registry):
        for suffix in suffixes:
            path = base + suffix
            if path in out or not PLAIN_KEY.fullmatch(path.rstrip("/")):
                continue
            if "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
                continue
            key = canonicaliser.path_key(public_url(base_url, path))
            if "?" in key:
                continue
            feed = parse_feed_path(key, {}, blog_paths)
            if feed is not None and feed.scope is not FeedScope.UNKNOWN:
                out[path] = feed
    return out


def _scope(feed: FeedRequest, plan: Plan) -> str | None:
    """The feed-version scope a feed's linkbacks move with (as web/feeds.py keys its cache),
    None for posts feeds (they move with the content version only)."""
    scope = feed.scope
    if scope is FeedScope.COMMENTS_NETWORK:
        return ""
    if scope is FeedScope.COMMENTS_BLOG:
        return feed.blog
    if scope in (FeedScope.POST, FeedScope.COMMENTS_POST):
        post = plan[1]
        return "" if post is None else feed_scopes(post.blog, post.post_id)[2]
    return None


def file_name(rep: Representation, fmt: str, *, gzip: bool) -> str:
    """`<digest>[-gz].<rss|atom>`: the ETag without quotes, and the format for Content-Type."""
    tag = (rep.gzip_etag if gzip else rep.etag).strip('"')
    return f"{tag}.{fmt}"


def _write_file(path: Path, body: bytes, mtime: float) -> None:
    """Write once, atomically, with the feed's Last-Modified as the file's time."""
    if path.exists():
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    os.utime(tmp, (mtime, mtime))
    tmp.replace(path)


@dataclass
class _Built:
    version: tuple[int, int]
    """(posts version, feed scope version) the representation was built at."""
    rep: Representation


class FeedFiles:
    """Keeps FOLDER/feeds/ and its map current; rebuilds only feeds whose versions moved."""

    def __init__(self, folder: Path, settings: Settings, canonicaliser: Canonicaliser) -> None:
        self.folder = folder
        self.files = folder / FEEDS_FOLDER
        self.settings = settings
        self.canonicaliser = canonicaliser
        self._built: dict[tuple[FeedId, str], _Built] = {}
        self._paths: tuple[PostRegistry | None, dict[str, FeedRequest]] = (None, {})
        self._version: int | None = None
        """The posts version of the last update."""
        self._previous: set[str] = set()
        """Files the previous map named: kept one more round for nginx workers still on it."""

    def rebuilds_all(self, version: int) -> bool:
        """Whether an update at this posts version rebuilds every feed written so far."""
        return self._version is not None and self._version != version

    def served(self, phase: Phase) -> bool:
        """Whether nginx answers feeds on this side of the instant (after it: farewell only)."""
        return phase == Phase.BEFORE or self.settings.retire.feeds_after_shutdown == "farewell"

    async def update(
        self,
        registry: PostRegistry,
        store: Store,
        version: int,
        feed_version: Callable[[str], int],
        phase: Phase,
    ) -> str:
        """Build what changed, write new files; return the map text (`"PHASE PATH" "FILE";`)."""
        paths: dict[str, FeedRequest] = {}
        if self.served(phase):
            if self._paths[0] is not registry:  # the posts changed: list the paths afresh
                self._paths = (registry, feed_paths(self.settings, registry, self.canonicaliser))
            paths = self._paths[1]
        entries: list[tuple[str, Representation, str]] = []
        built: dict[tuple[FeedId, str], _Built] = {}
        for path, feed in sorted(paths.items()):
            ident = ((feed.key, feed.format.value), phase.value)
            entry = built.get(ident)
            if entry is None:
                plan = plan_feed(self.settings, registry, feed, phase)
                if isinstance(plan, str):  # not known: linkbridge redirects
                    continue
                scope = _scope(feed, plan)
                versions = (version, 0 if scope is None else feed_version(scope))
                entry = self._built.get(ident)
                if entry is None or entry.version != versions:
                    rep = await build_representation(self.settings, registry, store, plan, phase)
                    entry = _Built(versions, rep)
                built[ident] = entry
            entries.append((path, entry.rep, "atom" if feed.format is FeedFormat.ATOM else "rss"))
        self._built, self._version = built, version
        return self._write(entries, phase)

    def _write(self, entries: list[tuple[str, Representation, str]], phase: Phase) -> str:
        """Write the files not yet there, drop those no map names any more; the map text."""
        self.files.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        named: set[str] = set()
        for path, rep, ext in entries:
            for gz in (False, True):
                name = file_name(rep, ext, gzip=gz)
                if name not in named:
                    body = rep.gzip_body if gz else rep.body
                    _write_file(self.files / name, body, rep.last_modified.timestamp())
                    named.add(name)
            lines.append(f'"{phase.value} {path}" "{file_name(rep, ext, gzip=False)}";')
        for old in self.files.iterdir():  # neither in this map nor the previous one
            if old.name not in named and old.name not in self._previous:
                old.unlink(missing_ok=True)
        self._previous = named
        return "\n".join(lines) + ("\n" if lines else "")
