"""The in-memory hit counter: keys, caps, "other paths", ignore list and drain."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.model import Hit, HitBatch, HitDay, RuleKind
from linkbridge.retire.hits import HitCounter, is_ignored
from tests.support import ManualClock


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


def test_cap_at_the_edge_a_new_path_takes_the_place_of_a_least_hit_one(
    clock: ManualClock,
) -> None:
    hits = HitCounter(2, clock)
    hits.count("/a", 301, RuleKind.DEFAULT)
    hits.count("/a", 301, RuleKind.DEFAULT)
    hits.count("/b", 301, RuleKind.DEFAULT)
    assert (hits.pending(), hits.other_paths, hits.evicted) == (2, 0, 0)
    hits.count("/c", 301, RuleKind.DEFAULT)  # a third key: "/b" (1 hit, the least) makes room
    assert (hits.pending(), hits.other_paths, hits.evicted) == (2, 1, 1)
    hits.count("/a", 301, RuleKind.DEFAULT)  # a held key still counts
    batch = hits.drain()
    assert {h.path: h.count for h in batch.paths} == {"/a": 3, "/c": 1}
    assert day_totals(batch) == {"default": (5, 1, 0)}  # nothing lost: "/b" is "other paths"
    hits.count("/b", 301, RuleKind.DEFAULT)  # the drain starts afresh
    assert hits.pending() == 1


def test_a_heavy_path_arriving_after_the_counter_is_full_is_kept(clock: ManualClock) -> None:
    hits = HitCounter(50, clock)
    for i in range(50):
        hits.count(f"/fill/{i}", 301, RuleKind.DEFAULT)
    for i in range(5000):  # a crawler's distinct paths, with a reader's favourite among them
        hits.count(f"/crawl/{i}", 301, RuleKind.DEFAULT)
        if i % 10 == 0:
            hits.count("/hot", 301, RuleKind.DEFAULT)
    batch = hits.drain()
    counts = {h.path: h.count for h in batch.paths}
    assert counts["/hot"] == 500  # exact: held from its first hit on
    assert len(counts) == 50
    assert day_totals(batch) == {"default": (5550, 5550 - sum(counts.values()), 0)}


Event = tuple[int, int, int]  # path number, status choice, hours to advance first


@settings(max_examples=200, deadline=None)
@given(
    cap=st.integers(min_value=0, max_value=6),
    events=st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 1), st.sampled_from([0, 0, 0, 0, 7])),
        max_size=300,
    ),
)
def test_totals_always_add_up(cap: int, events: list[Event]) -> None:
    clock = ManualClock(datetime.fromisoformat("2018-02-01T12:00:00+00:00"))
    hits = HitCounter(cap, clock, path_max_chars=12)
    truth: Counter[tuple[str, str, int]] = Counter()
    days: Counter[tuple[str, int]] = Counter()
    paths = [f"/p/{n}" for n in range(11)] + ["/favicon.ico", "/" + "x" * 12]
    for n, status_choice, hours in events:
        clock.advance(hours * 3600)
        path, status = paths[n], (301, 410)[status_choice]
        hits.count(path, status, RuleKind.DEFAULT)
        day = clock.now().date().isoformat()
        truth[(day, path, status)] += 1
        days[(day, status)] += 1
        assert hits.pending() <= cap
    batch = hits.drain()
    assert {(d.day, d.status): d.hits for d in batch.days} == +days  # exact per-day totals
    for d in batch.days:
        rows = sum(h.count for h in batch.paths if (h.day, h.status) == (d.day, d.status))
        assert rows + d.other_paths + d.ignored == d.hits
    kept = {(h.day, h.path, h.status): h.count for h in batch.paths}
    assert len(kept) <= cap
    for key, count in kept.items():
        assert 1 <= count <= truth[key]  # exact since held
        assert len(key[1]) <= 12
    # space-saving's guarantee: a key hit more than 1 in `cap` times is held, its count short
    # by at most that share of the requests that could have a key
    held = sum(n for key, n in truth.items() if len(key[1]) <= 12)
    for key, n in truth.items():
        if cap and len(key[1]) <= 12 and n > held / cap:
            assert key in kept or is_ignored(key[1])  # ignored paths are sorted out at drain
            assert kept.get(key, n) >= n - held / cap


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
