"""The in-memory hit counter: keys, caps, "other paths", ignore list and drain."""

from __future__ import annotations

from datetime import datetime

import pytest

from linkbridge.clock import ManualClock
from linkbridge.model import Hit, HitBatch, HitDay, RuleKind
from linkbridge.retire.hits import HitCounter, is_ignored


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.fromisoformat("2018-02-01T12:00:00+01:00"))


def test_counts_by_day_path_status_rule(clock: ManualClock) -> None:
    hits = HitCounter(100, clock)
    hits.count("/innovation/x", 301, RuleKind.PREFIX)
    hits.count("/innovation/x", 301, RuleKind.PREFIX)
    hits.count("/innovation/x", 410, RuleKind.UNRESOLVED)
    clock.advance(86400)
    hits.count("/innovation/x", 301, RuleKind.PREFIX)
    assert hits.pending() == 3
    batch = hits.drain()
    assert sorted(batch.paths, key=lambda h: (h.day, h.status)) == [
        Hit("2018-02-01", "/innovation/x", 301, RuleKind.PREFIX, 2),
        Hit("2018-02-01", "/innovation/x", 410, RuleKind.UNRESOLVED, 1),
        Hit("2018-02-02", "/innovation/x", 301, RuleKind.PREFIX, 1),
    ]
    assert sorted(batch.days, key=lambda d: (d.day, d.status)) == [
        HitDay("2018-02-01", 301, RuleKind.PREFIX, 2),
        HitDay("2018-02-01", 410, RuleKind.UNRESOLVED, 1),
        HitDay("2018-02-02", 301, RuleKind.PREFIX, 1),
    ]


def test_day_is_utc() -> None:
    clock = ManualClock(datetime.fromisoformat("2018-02-01T00:30:00+01:00"))
    hits = HitCounter(10, clock)
    hits.count("/", 301, RuleKind.EXACT)
    assert hits.drain().paths[0].day == "2018-01-31"


def day_totals(batch: HitBatch) -> dict[str, tuple[int, int, int]]:
    return {d.rule.value: (d.hits, d.other_paths, d.ignored) for d in batch.days}


def test_cap_at_the_edge_counts_the_rest_as_other_paths(clock: ManualClock) -> None:
    hits = HitCounter(2, clock)
    hits.count("/a", 301, RuleKind.DEFAULT)
    hits.count("/b", 301, RuleKind.DEFAULT)
    assert (hits.pending(), hits.other_paths) == (2, 0)
    hits.count("/c", 301, RuleKind.DEFAULT)  # a third key: no row of its own
    hits.count("/a", 301, RuleKind.DEFAULT)  # a known key still counts
    assert (hits.pending(), hits.other_paths) == (2, 1)
    batch = hits.drain()
    assert {h.path: h.count for h in batch.paths} == {"/a": 2, "/b": 1}
    assert day_totals(batch) == {"default": (4, 1, 0)}  # nothing lost
    hits.count("/c", 301, RuleKind.DEFAULT)  # room again after the drain
    assert hits.pending() == 1


def test_zero_cap_keeps_only_totals(clock: ManualClock) -> None:
    hits = HitCounter(0, clock)
    hits.count("/a", 301, RuleKind.DEFAULT)
    batch = hits.drain()
    assert (hits.pending(), hits.other_paths, batch.paths) == (0, 1, ())
    assert day_totals(batch) == {"default": (1, 1, 0)}


@pytest.mark.parametrize(("length", "kept"), [(16, True), (17, False)])
def test_path_length_cap_at_the_edge(clock: ManualClock, length: int, kept: bool) -> None:
    hits = HitCounter(10, clock, path_max_chars=16)
    path = "/" + "x" * (length - 1)
    hits.count(path, 301, RuleKind.DEFAULT)
    batch = hits.drain()
    assert [h.path for h in batch.paths] == ([path] if kept else [])
    assert day_totals(batch) == {"default": (1, 0 if kept else 1, 0)}


def test_drain_swaps_out(clock: ManualClock) -> None:
    hits = HitCounter(10, clock)
    hits.count("/a", 301, RuleKind.DEFAULT)
    assert len(hits.drain().paths) == 1
    assert not hits.drain()
    assert hits.pending() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/favicon.ico",
        "/innovation/favicon.ico",
        "/robots.txt",
        "/apple-touch-icon.png",
        "/apple-touch-icon-precomposed.png",
        "/apple-touch-icon-120x120",
        "/wp-content/themes/a/style.css",
        "/wp-includes/js/jquery.js",
        "/innovation/files/2013/10/bild.jpg",
        "/a.jpeg",
        "/b.gif",
        "/c.svg",
        "/d.png",
        "/font.woff",
        "/font.woff2",
        "/wp-login.php",
        "/innovation/wp-login.php",
        "/wp-admin",
        "/wp-admin/admin-ajax.php",
        "/innovation/wp-admin/x",
        "/xmlrpc.php",
        "/innovation/xmlrpc.php",
        "/style.css?ver=4.9",
    ],
)
def test_ignored(clock: ManualClock, path: str) -> None:
    assert is_ignored(path)
    hits = HitCounter(10, clock)
    hits.count(path, 301, RuleKind.DEFAULT)
    batch = hits.drain()
    assert (batch.paths, hits.ignored) == ((), 1)
    assert day_totals(batch) == {"default": (1, 0, 1)}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/innovation/om",
        "/innovation/wp-administration-av-bloggen",
        "/innovation/jsfiddle",
        "/innovation/css-tips",
        "/innovation?p=12",
        "/feed/atom",
    ],
)
def test_counted(path: str) -> None:
    assert not is_ignored(path)
