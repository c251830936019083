"""Counts requests to retired URLs in memory, bounded, for batched additive flushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkbridge.clock import Clock
from linkbridge.model import Hit, RuleKind

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
    """Hits keyed by (UTC day, canonical path, status, rule), at most `max_keys` distinct keys.

    Past the cap a new key is not stored: it is added to `overflow` (cumulative since start).
    """

    def __init__(self, max_keys: int, clock: Clock) -> None:
        if max_keys < 0:
            raise ValueError("hits: max_keys must not be negative")
        self.max_keys = max_keys
        self.clock = clock
        self.overflow = 0
        self.ignored = 0
        self._counts: dict[_Key, int] = {}
        self._day = ""
        self._day_start = self._day_end = datetime.min.replace(tzinfo=UTC)
        """The UTC day of the last count and its bounds: the string is made once per day."""

    def count(self, path: str, status: int, rule: RuleKind, now: datetime | None = None) -> None:
        """Count one request at `now` (default: the clock's); no I/O.

        Ignored paths are only tallied in `ignored`.
        """
        if now is None:
            now = self.clock.now()
        if not self._day_start <= now < self._day_end:
            self._set_day(now)
        key = (self._day, path, status, rule)
        counts = self._counts
        if key in counts:  # counted before, so not ignored: skip the ignore check
            counts[key] += 1
        elif is_ignored(path):
            self.ignored += 1
        elif len(counts) < self.max_keys:
            counts[key] = 1
        else:
            self.overflow += 1

    def _set_day(self, now: datetime) -> None:
        day = now.astimezone(UTC).date()
        self._day = day.isoformat()
        self._day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        try:
            self._day_end = self._day_start + timedelta(days=1)
        except OverflowError:  # the last day datetime can hold
            self._day_end = datetime.max.replace(tzinfo=UTC)

    def drain(self) -> list[Hit]:
        """Take everything counted so far and start afresh (one swap, no await in between)."""
        counts, self._counts = self._counts, {}
        return [Hit(day, path, status, rule, n) for (day, path, status, rule), n in counts.items()]

    def pending(self) -> int:
        """Distinct keys waiting for the next drain."""
        return len(self._counts)
