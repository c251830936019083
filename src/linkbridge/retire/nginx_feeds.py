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

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from linkbridge.feeds.grammar import FeedFormat, FeedRequest, FeedScope, parse_feed_path
from linkbridge.feeds.plan import Plan, build_representation, plan_feed
from linkbridge.feeds.serve import Representation
from linkbridge.model import LinkbackMark, PostKey, feed_scopes
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


class _PathReader:
    """Which plain request paths nginx can match exactly, and the feed linkbridge reads in
    each: read as the catch-all reads it (canonicalised, then the feed grammar), so a path is
    listed only with the feed linkbridge itself would serve there. A path's reading depends on
    the path and the settings only: it is remembered, and a new registry reads only new paths."""

    def __init__(self, settings: Settings, canonicaliser: Canonicaliser) -> None:
        self.base_url = settings.site.public_base_url
        self.blog_paths = tuple(settings.site.blog_paths)
        self.canonicaliser = canonicaliser
        self.read: dict[str, FeedRequest | None] = {}

    def add(self, out: dict[str, FeedRequest], base: str, suffixes: tuple[str, ...]) -> None:
        """The known feeds among `base` + each suffix, into `out`."""
        for suffix in suffixes:
            path = base + suffix
            if path in out:
                continue
            if path in self.read:
                feed = self.read[path]
            else:
                feed = self.read[path] = self._read(path)
            if feed is not None:
                out[path] = feed

    def _read(self, path: str) -> FeedRequest | None:
        if not PLAIN_KEY.fullmatch(path.rstrip("/")):
            return None
        if "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
            return None
        key = self.canonicaliser.path_key(public_url(self.base_url, path))
        if "?" in key:
            return None
        feed = parse_feed_path(key, {}, self.blog_paths)
        return None if feed is None or feed.scope is FeedScope.UNKNOWN else feed


def _scope(feed: FeedRequest, plan: Plan) -> str | None:
    """The feed-version scope a feed's linkbacks move with (as web/feeds.py keys its cache),
    None for posts feeds (compared by what they list instead)."""
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
    plan: Plan
    """What the representation shows: unchanged plan, unchanged posts feed."""
    marks: tuple[int, int]
    """A linkback feed's (feed scope version, linkback generation) when built; (0, 0) else."""
    rep: Representation


YIELD_EVERY = 200
"""Feeds looked at between two yields to the event loop (each build yields too)."""

MARKS_ONE_BY_ONE = 50
"""Posts whose linkback marks are read one by one; more and all are read in one query."""

BeforeBuild = Callable[[str], Awaitable[None]]
"""Called with the map text without the feeds about to be rebuilt (see `FeedFiles.update`)."""


class FeedFiles:
    """Keeps FOLDER/feeds/ and its map current; rebuilds only the feeds whose content can
    have changed.

    A posts feed (network, sub-blog, category, author) is rebuilt when its plan changed: the
    posts it lists, any of them edited, its title. A linkback feed (a post's, a sub-blog's or
    the network's comments) when its feed scope's version moved (a decision), or when a posts
    version move changed a post of its scope or that post's linkback rows (an import, an
    erasure: `Store.linkback_marks`). So a WXR import that edits one post rebuilds that post's
    feeds and the listings that include it, and a version move that changes neither posts nor
    linkbacks (a mapping, a host list, a moderator's password) rebuilds none.
    """

    def __init__(self, folder: Path, settings: Settings, canonicaliser: Canonicaliser) -> None:
        self.folder = folder
        self.files = folder / FEEDS_FOLDER
        self.settings = settings
        self._built: dict[tuple[FeedId, str], _Built] = {}
        self._reader = _PathReader(settings, canonicaliser)
        self._registry: PostRegistry | None = None
        self._paths: list[tuple[str, FeedRequest]] = []
        """Sorted (path, feed) of `_registry`."""
        self._plans: dict[tuple[FeedId, str], Plan | str] = {}
        """Plans at `_registry`, by feed and side of the instant."""
        self._version: int | None = None
        """The posts version of the last update."""
        self._marks: dict[PostKey, LinkbackMark] = {}
        """The store's linkback marks at `_version`."""
        self._generations: dict[str, int] = {}
        """Per feed scope: moved by each posts version move that changed its posts or rows."""
        self._present: set[str] = set()
        """Files this process wrote or found in FOLDER/feeds/."""
        self._previous: set[str] = set()
        """Files the previous map named: kept one more round for nginx workers still on it."""

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
        before_build: BeforeBuild | None = None,
    ) -> str:
        """Build what changed, write new files; return the map text (`"PHASE PATH" "FILE";`).

        When the posts version moved since the last update and some feeds are to be rebuilt,
        `before_build` gets the map without them first (so that linkbridge, not nginx, answers
        them meanwhile).
        """
        moved = self._version != version
        first = self._version is None
        if moved:
            await self._take_version(registry, store)
        if registry is not self._registry:
            self._registry, self._plans = registry, {}
            found: dict[str, FeedRequest] = {}
            for n, (base, suffixes) in enumerate(_bases(self.settings, registry)):
                if n % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
                self._reader.add(found, base, suffixes)
            self._paths = sorted(found.items())
        self._version = version
        paths = self._paths if self.served(phase) else []
        kept: list[tuple[str, tuple[FeedId, str], str]] = []
        wanted: dict[tuple[FeedId, str], tuple[Plan, tuple[int, int]]] = {}
        stale: list[tuple[FeedId, str]] = []
        for n, (path, feed) in enumerate(paths):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            ident = ((feed.key, feed.format.value), phase.value)
            if ident not in wanted:
                plan = self._plans.get(ident)
                if plan is None:
                    plan = self._plans[ident] = self._plan(registry, feed, phase)
                if isinstance(plan, str):  # not known: linkbridge redirects
                    continue
                scope = _scope(feed, plan)
                marks = (0, 0) if scope is None else (
                    feed_version(scope), self._generations.get(scope, 0))
                wanted[ident] = (plan, marks)
                old = self._built.get(ident)
                if old is None or old.marks != marks or not (old.plan is plan or old.plan == plan):
                    stale.append(ident)
            kept.append((path, ident, "atom" if feed.format is FeedFormat.ATOM else "rss"))
        if stale and moved and not first and before_build is not None:
            fresh = set(stale)
            await before_build(_map_text(
                [(path, self._built[i].rep, ext) for path, i, ext in kept if i not in fresh],
                phase,
            ))
        if not moved:
            await self._take_marks({p.key for i in stale if (p := wanted[i][0][1]) is not None},
                                   store)
        for ident in stale:
            plan = wanted[ident][0]
            rep = await build_representation(self.settings, registry, store, plan, phase)
            self._built[ident] = _Built(plan, wanted[ident][1], rep)
            await asyncio.sleep(0)  # a long rebuild never holds the event loop
        built = {ident: self._built[ident] for ident in wanted}
        for ident, (plan, marks) in wanted.items():  # the newest plan: `is` next time
            built[ident].plan, built[ident].marks = plan, marks
        self._built = built
        return await self._write([(path, built[i].rep, ext) for path, i, ext in kept], phase)

    def _plan(self, registry: PostRegistry, feed: FeedRequest, phase: Phase) -> Plan | str:
        """`plan_feed`, once per feed for both formats: what a feed shows does not depend on
        its format (a known feed's plan differs in the feed alone)."""
        for fmt in FeedFormat:
            other = self._plans.get(((feed.key, fmt.value), phase.value))
            if fmt is feed.format or other is None:
                continue
            if isinstance(other, str):  # not known in either format
                return other
            if other[0].key == feed.key:  # known: the same plan for this format's feed
                return (feed, *other[1:])
        return plan_feed(self.settings, registry, feed, phase)

    async def _take_version(self, registry: PostRegistry, store: Store) -> None:
        """A posts version move: move the generation of each feed scope whose posts or
        linkback rows changed since the last one (a first update builds everything anyway)."""
        marks = await store.linkback_marks()
        old = self._registry
        if old is not None:
            before = {p.key: p for p in old.posts()}
            now = {p.key: p for p in registry.posts()}
            changed = {k for k in before.keys() | now.keys() if before.get(k) != now.get(k)}
            changed.update(k for k in self._marks.keys() | marks.keys()
                           if self._marks.get(k) != marks.get(k))
            for key in changed:
                for scope in feed_scopes(key.blog, key.post_id):
                    self._generations[scope] = self._generations.get(scope, 0) + 1
        self._marks = marks

    async def _take_marks(self, posts: set[PostKey], store: Store) -> None:
        """The marks of these posts, whose linkback feeds are about to be rebuilt (a decision):
        what the rebuild shows is then no change at the next posts version move."""
        if len(posts) > MARKS_ONE_BY_ONE:
            marks = await store.linkback_marks()
        else:
            marks = {}
            for key in posts:
                marks.update(await store.linkback_marks(key))
        for key in posts:
            if key in marks:
                self._marks[key] = marks[key]
            else:
                self._marks.pop(key, None)

    async def _write(self, entries: list[tuple[str, Representation, str]], phase: Phase) -> str:
        """Write the files not yet there, drop those no map names any more; the map text."""
        self.files.mkdir(parents=True, exist_ok=True)
        named: set[str] = set()
        for n, (_path, rep, ext) in enumerate(entries):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            for gz in (False, True):
                name = file_name(rep, ext, gzip=gz)
                if name not in named:
                    if name not in self._present:
                        body = rep.gzip_body if gz else rep.body
                        _write_file(self.files / name, body, rep.last_modified.timestamp())
                        self._present.add(name)
                    named.add(name)
        for n, old in enumerate(os.listdir(self.files)):  # in neither this map nor the last
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            if old not in named and old not in self._previous:
                (self.files / old).unlink(missing_ok=True)
                self._present.discard(old)
        self._previous = named
        return _map_text(entries, phase)


def _map_text(entries: list[tuple[str, Representation, str]], phase: Phase) -> str:
    """The feed map's lines: `"PHASE PATH" "FILE";`."""
    lines = [f'"{phase.value} {path}" "{file_name(rep, ext, gzip=False)}";'
             for path, rep, ext in entries]
    return "\n".join(lines) + ("\n" if lines else "")
