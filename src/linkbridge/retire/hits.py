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

    Every request is counted exactly in its day's total for its (status, rule). A path gets a
    count of its own while fewer than `max_keys` distinct (day, path, status, rule) keys are
    held and the path is at most `path_max_chars` long; any other request is added to its day's
    "other paths" total instead, never dropped. The cost per request is one dict lookup and one
    add, for a new path as for a repeated one: sorting out ignored paths waits for the drain.
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
        self._counts: dict[_Key, int] = {}
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
        counts = self._counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < self.max_keys and len(path) <= self.path_max_chars:
            counts[key] = 1
        else:
            day_key = (self._day, status, rule)
            self._other[day_key] = self._other.get(day_key, 0) + 1
            self.other_paths += 1

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
        counts, self._counts = self._counts, {}
        other, self._other = self._other, {}
        days: dict[_DayKey, list[int]] = {}  # day key -> [hits, other paths, ignored]
        for day_key, n in other.items():
            days[day_key] = [n, n, 0]
        paths = []
        for (day, path, status, rule), n in counts.items():
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
        return len(self._counts)
