"""Counts requests to retired URLs in memory, bounded, for batched additive flushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkbridge.clock import Clock
from linkbridge.model import Hit, HitBatch, HitDay, RuleKind

IGNORED_NAMES = frozenset({"favicon.ico", "robots.txt", "wp-login.php", "xmlrpc.php", "xmlrpc"})
"""Last path segments that browsers and probes ask for: not worth a moderator's look."""
IGNORED_PREFIXES = ("apple-touch-icon",)
IGNORED_SEGMENTS = frozenset({"wp-admin"})
"""A path with one of these segments anywhere (e.g. /innovation/wp-admin/...) is a probe."""
IGNORED_EXTENSIONS = (
    ".css",
    ".js",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".ico",
    ".woff",
    ".woff2",
)

_Key = tuple[str, str, int, RuleKind]
_DayKey = tuple[str, int, RuleKind]


def is_ignored(path: str) -> bool:
    """True for static assets, icons, robots and login/admin/xmlrpc probes."""
    path = path.partition("?")[0].lower()
    segments = path.split("/")
    name = segments[-1]
    return (
        name in IGNORED_NAMES
        or name.startswith(IGNORED_PREFIXES)
        or name.endswith(IGNORED_EXTENSIONS)
        or not IGNORED_SEGMENTS.isdisjoint(segments)
    )


class HitCounter:
    """Requests after the instant, counted in memory until the next flush; no I/O.

    Every request is counted exactly in its day's total for its (status, rule). Per-path
    counts are a space-saving sketch (Metwally et al.) of at most `max_keys` (day, path,
    status, rule) keys: a new key on a full counter takes the place of a key with the smallest
    estimate, whose exact hits move to its day's "other paths". So a path hit more often than
    1 in `max_keys` requests since the last flush is always held, whenever it first came, and
    every row's count is exact since the path got its place (a lower bound): rows plus "other
    paths" plus ignored always equal the day's total. A path longer than `path_max_chars`
    never gets a key. The work per request is the same few dict operations for a new path as
    for a repeated one; sorting out ignored paths waits for the drain.
    """

    def __init__(self, max_keys: int, clock: Clock, *, path_max_chars: int = 512) -> None:
        if max_keys < 0:
            raise ValueError("hits: max_keys must not be negative")
        if path_max_chars < 1:
            raise ValueError("hits: path_max_chars must be at least 1")
        self.max_keys = max_keys
        self.path_max_chars = path_max_chars
        self.clock = clock
        self.other_paths = 0
        """Requests counted in "other paths" since start (here, and by the store's cap)."""
        self.ignored = 0
        """Requests for assets and probes since start (counted in totals, no path row)."""
        self.evicted = 0
        """Keys that gave their place to a new one since start (their hits: "other paths")."""
        self._entries: dict[_Key, list[int]] = {}
        """key -> [estimate (space-saving's count, an upper bound), exact hits since held]"""
        self._buckets: dict[int, dict[_Key, None]] = {}
        """estimate -> the keys with that estimate (insertion-ordered dicts as sets)"""
        self._min = 0
        """The smallest estimate held: its bucket gives the key to replace."""
        self._other: dict[_DayKey, int] = {}
        self._day = ""
        self._day_start = self._day_end = datetime.min.replace(tzinfo=UTC)
        """The UTC day of the last count and its bounds: the string is made once per day."""

    def count(self, path: str, status: int, rule: RuleKind, now: datetime | None = None) -> None:
        """Count one request at `now` (default: the clock's)."""
        if now is None:
            now = self.clock.now()
        if not self._day_start <= now < self._day_end:
            self._set_day(now)
        key = (self._day, path, status, rule)
        buckets = self._buckets
        entry = self._entries.get(key)
        if entry is not None:
            estimate = entry[0]
            bucket = buckets[estimate]
            del bucket[key]
            if not bucket:
                del buckets[estimate]
                if estimate == self._min:
                    self._min = estimate + 1  # where this key goes next: never empty
        elif len(path) > self.path_max_chars or not self.max_keys:
            day_key = (self._day, status, rule)
            self._other[day_key] = self._other.get(day_key, 0) + 1
            self.other_paths += 1
            return
        else:
            if len(self._entries) < self.max_keys:
                estimate = 0
                self._min = 1
            else:
                estimate = self._evict()
            entry = self._entries[key] = [0, 0]
        estimate += 1
        entry[0] = estimate
        entry[1] += 1
        target = buckets.get(estimate)
        if target is None:
            buckets[estimate] = {key: None}
        else:
            target[key] = None

    def _evict(self) -> int:
        """Drop a key with the smallest estimate (its hits go to "other paths"); its estimate,
        which the newcomer inherits (space-saving's bound on what the newcomer missed)."""
        estimate = self._min
        bucket = self._buckets[estimate]
        (day, path, status, rule), _ = bucket.popitem()
        if not bucket:
            del self._buckets[estimate]
            self._min = estimate + 1  # the newcomer goes there
        hits = self._entries.pop((day, path, status, rule))[1]
        day_key = (day, status, rule)
        self._other[day_key] = self._other.get(day_key, 0) + hits
        self.other_paths += hits
        self.evicted += 1
        return estimate

    def _set_day(self, now: datetime) -> None:
        day = now.astimezone(UTC).date()
        self._day = day.isoformat()
        self._day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        try:
            self._day_end = self._day_start + timedelta(days=1)
        except OverflowError:  # the last day datetime can hold
            self._day_end = datetime.max.replace(tzinfo=UTC)

    def drain(self) -> HitBatch:
        """Take everything counted so far and start afresh (one swap, no await in between)."""
        entries, self._entries = self._entries, {}
        self._buckets, self._min = {}, 0
        other, self._other = self._other, {}
        days: dict[_DayKey, list[int]] = {}  # day key -> [hits, other paths, ignored]
        for day_key, n in other.items():
            days[day_key] = [n, n, 0]
        paths = []
        for (day, path, status, rule), (_, n) in entries.items():
            totals = days.setdefault((day, status, rule), [0, 0, 0])
            totals[0] += n
            if is_ignored(path):
                totals[2] += n
                self.ignored += n
            else:
                paths.append(Hit(day, path, status, rule, n))
        return HitBatch(
            tuple(paths),
            tuple(HitDay(d, s, r, *totals) for (d, s, r), totals in days.items()),
        )

    def pending(self) -> int:
        """Distinct path keys waiting for the next drain."""
        return len(self._entries)
