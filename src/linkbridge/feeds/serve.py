"""Feed bytes built once per content version, answered with validators, 304s and gzip."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import cached_property, lru_cache

from linkbridge.feeds.build import BuiltFeed
from linkbridge.feeds.grammar import FeedFormat
from linkbridge.phase import Phase

RSS_CONTENT_TYPE = "application/rss+xml; charset=UTF-8"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=UTF-8"
ALLOW = "GET, HEAD"
_ETAG_ITEM = re.compile(r'(?:W/)?"[^"]*"|\*|[^\s,"]+')
_QVALUE = re.compile(r"(?:0(?:\.\d*)?|1(?:\.0*)?|\.\d+)")

DEFAULT_CACHE_ENTRIES = 512
"""The default of settings.feeds.cache_entries."""

ACCEPT_ENCODING_CACHE_ENTRIES = 256
"""Accept-Encoding values whose gzip verdict is remembered."""

PollShape = tuple[str, FeedFormat, Phase, str, str | None, str | None, str | None]
"""(feed key, format, phase, method, If-None-Match, If-Modified-Since, Accept-Encoding)."""
PollAnswer = tuple[tuple[int, int], tuple[int, dict[str, str], bytes]]
"""((content version, feed sequence) it was answered at, (status, headers, body))."""

CacheKey = tuple[str, int, int, str, str]
"""(feed key, content version, feed scope version, phase "before"/"after", format)."""


def content_type(fmt: FeedFormat) -> str:
    """The Content-Type of a feed format."""
    return ATOM_CONTENT_TYPE if fmt is FeedFormat.ATOM else RSS_CONTENT_TYPE


@dataclass(frozen=True)
class Representation:
    """One feed's bytes, identity and gzip, with their validators: built once, served often."""

    body: bytes
    gzip_body: bytes
    etag: str
    gzip_etag: str
    last_modified: datetime
    content_type: str

    @classmethod
    def build(cls, body: bytes, *, content_type: str, last_modified: datetime) -> Representation:
        """Compress (deterministically: mtime 0) and derive strong ETags for both codings."""
        digest = hashlib.sha256(body).hexdigest()[:32]
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=UTC)
        return cls(
            body=body,
            gzip_body=gzip.compress(body, compresslevel=9, mtime=0),
            etag=f'"{digest}"',
            gzip_etag=f'"{digest}-gz"',
            last_modified=last_modified.astimezone(UTC).replace(microsecond=0),
            content_type=content_type,
        )

    @cached_property
    def last_modified_http(self) -> str:
        """`last_modified` as an HTTP date, formatted once."""
        return http_date(self.last_modified)

    @classmethod
    def of_feed(cls, feed: BuiltFeed) -> Representation:
        """The representation of a rendered feed (Last-Modified: its newest change)."""
        return cls.build(
            feed.body, content_type=content_type(feed.format), last_modified=feed.updated
        )


class FeedCache:
    """Representations by (feed key, versions, phase, format); least recently used go first.

    One build per key at a time (single flight): a request that finds a build under way waits
    for it, or, with `serve_stale`, gets the feed's previous representation at once
    (stale-while-revalidate). Never a queue of identical queries.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("serve: the feed cache needs room for at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, Representation] = OrderedDict()
        self._latest: OrderedDict[tuple[str, str, str], Representation] = OrderedDict()
        """The newest representation of each (feed key, phase, format), whatever its version."""
        self._building: dict[CacheKey, asyncio.Future[Representation]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: CacheKey) -> Representation | None:
        """The cached representation of `key`, or None (a hit refreshes its recency)."""
        rep = self._entries.get(key)
        if rep is not None:
            self._entries.move_to_end(key)
        return rep

    async def get_or_build(
        self,
        key: CacheKey,
        build: Callable[[], Awaitable[Representation]],
        *,
        serve_stale: bool = False,
    ) -> Representation:
        """The representation of `key`: cached, or built once however many ask at a time."""
        rep = self.get(key)
        if rep is not None:
            return rep
        pending = self._building.get(key)
        if pending is not None:
            stale = self._latest.get(_family(key)) if serve_stale else None
            return stale if stale is not None else await asyncio.shield(pending)
        done: asyncio.Future[Representation] = asyncio.get_running_loop().create_future()
        self._building[key] = done
        try:
            rep = await build()
        except BaseException as exc:
            done.set_exception(exc)
            done.exception()  # retrieved here: waiters (if any) get it too
            raise
        finally:
            del self._building[key]
        self.put(key, rep)
        done.set_result(rep)
        return rep

    def put(self, key: CacheKey, rep: Representation) -> None:
        """Keep `rep` as the representation of `key` (and its feed's newest)."""
        self._entries[key] = rep
        family = _family(key)
        self._latest[family] = rep
        self._latest.move_to_end(family)
        for entries in (self._entries, self._latest):
            while len(entries) > self.max_entries:
                entries.popitem(last=False)

    def prune(self, version: int) -> int:
        """Drop entries of content versions older than `version`; returns how many went."""
        stale = [key for key in self._entries if key[1] < version]
        for key in stale:
            del self._entries[key]
        return len(stale)

    def clear(self) -> None:
        self._entries.clear()
        self._latest.clear()


def _family(key: CacheKey) -> tuple[str, str, str]:
    """What stays the same across versions of one feed: (feed key, phase, format)."""
    return (key[0], key[3], key[4])


def http_date(moment: datetime) -> str:
    """An IMF-fixdate ("Thu, 01 Feb 2018 00:00:00 GMT")."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=ACCEPT_ENCODING_CACHE_ENTRIES)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding allows gzip (an explicit q=0 refuses, "*" covers it).

    Memoised: readers send a handful of distinct values.
    """
    if not accept_encoding:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        q = _qvalue(params)
        if q is None:
            continue
        coding = name.strip().lower()
        if coding in ("gzip", "x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def _qvalue(params: str) -> float | None:
    """The q parameter of one Accept-Encoding element (1 when absent, None when invalid)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float("0" + value) if _QVALUE.fullmatch(value) else None
    return 1.0


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of `etag` against an If-None-Match list ("*" matches anything)."""
    if if_none_match == etag:  # the usual case: a reader echoing our one ETag
        return True
    wanted = etag.removeprefix("W/")
    for item in _ETAG_ITEM.findall(if_none_match):
        if item == "*":
            return True
        tag = item.removeprefix("W/")
        if not tag.startswith('"'):
            tag = f'"{tag}"'  # lenient: some clients drop the quotes
        if tag == wanted:
            return True
    return False


def _parse_http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _not_modified(
    rep: Representation, etag: str, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """RFC 9110 13.2.2: If-None-Match, when sent, decides alone; else If-Modified-Since."""
    if if_none_match is not None and if_none_match.strip():
        return etag_matches(if_none_match, etag)
    if if_modified_since:
        since = _parse_http_date(if_modified_since)
        if since is not None:
            try:
                return rep.last_modified <= since
            except OverflowError:  # an offset at the edge of datetime's range
                return False
    return False


def conditional_response(
    rep: Representation,
    *,
    method: str,
    if_none_match: str | None,
    if_modified_since: str | None,
    accept_encoding: str | None,
    max_age_s: int,
) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body answering a GET or HEAD for `rep`."""
    method = method.upper()
    if method not in ("GET", "HEAD"):
        return 405, {"Allow": ALLOW}, b""
    use_gzip = accepts_gzip(accept_encoding)
    etag = rep.gzip_etag if use_gzip else rep.etag
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age_s}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(rep, etag, if_none_match, if_modified_since):
        return 304, headers, b""
    body = rep.gzip_body if use_gzip else rep.body
    headers["Content-Type"] = rep.content_type
    headers["Content-Length"] = str(len(body))
    headers["Last-Modified"] = rep.last_modified_http
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    return 200, headers, b"" if method == "HEAD" else body
