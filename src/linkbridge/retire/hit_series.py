"""Hits per day from the exact day totals: all, mapped, unmapped and gone, and per path.

The one place that sorts rules and statuses into those series, for the admin hits page and
`linkbridge hits --since DATE --csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from linkbridge.model import Hit, HitDay, is_mapped

GONE_STATUS = 410
SERIES = ("all", "mapped", "unmapped", "gone")
"""The per-day series, in the order they are drawn and tabled."""


@dataclass(frozen=True)
class DayCounts:
    """One day's requests: all, answered by a mapping (exact/regex), by anything else, 410."""

    day: str
    all: int = 0
    mapped: int = 0
    unmapped: int = 0
    gone: int = 0

    def value(self, series: str) -> int:
        return int(getattr(self, series))


def day_range(first: date, last: date, *, max_days: int) -> list[str]:
    """ISO days from `first` to `last` inclusive, the last `max_days` of them at most."""
    if last < first or max_days <= 0:
        return []
    start = max(first, last - timedelta(days=max_days - 1))
    return [(start + timedelta(days=i)).isoformat() for i in range((last - start).days + 1)]


def per_day(totals: Iterable[HitDay], days: Sequence[str]) -> list[DayCounts]:
    """Each of `days` with its totals summed over statuses and rules (0 where none)."""
    sums = {d: [0, 0, 0, 0] for d in days}
    for t in totals:
        row = sums.get(t.day)
        if row is None:
            continue
        row[0] += t.hits
        row[1 if is_mapped(t.rule) else 2] += t.hits
        if t.status == GONE_STATUS:
            row[3] += t.hits
    return [DayCounts(d, *sums[d]) for d in days]


def per_path(rows: Iterable[Hit], days: Sequence[str]) -> dict[str, list[int]]:
    """Each path's count on each of `days` (statuses and rules summed)."""
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = {}
    for h in rows:
        i = index.get(h.day)
        if i is not None:
            series.setdefault(h.path, [0] * len(days))[i] += h.count
    return series


def series_csv(rows: Sequence[DayCounts], paths: dict[str, list[int]]) -> str:
    """One CSV row per day: day, all, mapped, unmapped, gone, then one column per path (in
    the order given) with that path's count on the day."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", *SERIES, *paths])
    for i, row in enumerate(rows):
        writer.writerow([row.day, *(row.value(s) for s in SERIES),
                         *(counts[i] for counts in paths.values())])
    return out.getvalue()
