"""The hit counter's UTC day, made once per day: exact at the midnight edge, either direction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from linkbridge.model import RuleKind
from linkbridge.retire.hits import HitCounter
from tests.support import ManualClock

MIDNIGHT = datetime(2018, 2, 2, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def days(hits: HitCounter) -> list[str]:
    return sorted(h.day for h in hits.drain().paths)


def test_midnight_edge_both_ways() -> None:
    clock = ManualClock(MIDNIGHT - ONE_MICROSECOND)
    hits = HitCounter(10, clock)
    hits.count("/a", 301, RuleKind.PREFIX)
    clock.set(MIDNIGHT)
    hits.count("/b", 301, RuleKind.PREFIX)
    clock.set(MIDNIGHT - ONE_MICROSECOND)  # a clock set back: the day follows it
    hits.count("/c", 301, RuleKind.PREFIX)
    assert days(hits) == ["2018-02-01", "2018-02-01", "2018-02-02"]


def test_explicit_now_wins_and_may_carry_any_zone() -> None:
    hits = HitCounter(10, ManualClock(MIDNIGHT))
    cet = timezone(timedelta(hours=1))
    hits.count("/a", 301, RuleKind.EXACT, now=datetime(2018, 2, 2, 0, 30, tzinfo=cet))
    hits.count("/a", 301, RuleKind.EXACT, now=datetime(2018, 2, 3, 0, 30, tzinfo=cet))
    assert days(hits) == ["2018-02-01", "2018-02-02"]


def test_ignored_paths_stay_ignored_after_counted_ones() -> None:
    hits = HitCounter(10, ManualClock(MIDNIGHT))
    hits.count("/a", 301, RuleKind.EXACT)
    hits.count("/a", 301, RuleKind.EXACT)
    hits.count("/favicon.ico", 301, RuleKind.DEFAULT)
    hits.count("/favicon.ico", 301, RuleKind.DEFAULT)
    assert [(h.path, h.count) for h in hits.drain().paths] == [("/a", 2)]
    assert hits.ignored == 2


def test_the_last_day_datetime_can_hold() -> None:
    last = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    hits = HitCounter(10, ManualClock(last))
    hits.count("/a", 301, RuleKind.EXACT)
    hits.count("/a", 301, RuleKind.EXACT)
    assert [(h.day, h.count) for h in hits.drain().paths] == [("9999-12-31", 2)]
