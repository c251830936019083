"""The one rule for hits in the store: exact day totals, capped path rows, additive flushes."""

from __future__ import annotations

import pytest

from linkbridge.model import Hit, HitBatch, HitDay, RuleKind
from linkbridge.store import Store

DAY1, DAY2 = "2018-03-01", "2018-03-02"
P = RuleKind.PREFIX


def hits(day: str, **counts: int) -> HitBatch:
    return HitBatch.of(Hit(day, f"/{name}", 301, P, n) for name, n in counts.items())


async def rows(store: Store) -> dict[str, int]:
    return {h.path: h.count for h in await store.top_hits(limit=1000)}


async def test_day_totals_add_up_exactly_and_forever(store: Store) -> None:
    await store.add_hits(hits(DAY1, a=3, b=1), paths_per_day_max=10)
    await store.add_hits(
        HitBatch((Hit(DAY1, "/a", 301, P, 2),), (HitDay(DAY1, 301, P, 9, 5, 2),)),
        paths_per_day_max=10,
        keep_paths_from_day=DAY2,  # prunes DAY1's path rows, never its totals
    )
    assert await rows(store) == {}
    assert await store.hit_days() == [HitDay(DAY1, 301, P, 13, 5, 2)]
    assert await store.hit_days(since_day=DAY2) == []


@pytest.mark.parametrize("cap", [0, 1, 2])
async def test_rows_per_day_capped_at_the_edge(store: Store, cap: int) -> None:
    await store.add_hits(hits(DAY1, a=5, b=4), paths_per_day_max=cap)
    kept = dict(list({"/a": 5, "/b": 4}.items())[:cap])
    assert await rows(store) == kept
    [day] = await store.hit_days()
    assert (day.hits, day.other_paths) == (9, 9 - sum(kept.values()))
    await store.add_hits(hits(DAY2, c=1), paths_per_day_max=cap)  # each day has its own cap
    assert len(await store.top_hits(limit=10)) == min(cap, 2) + min(cap, 1)


async def test_a_busier_path_displaces_the_least_hit_row(store: Store) -> None:
    await store.add_hits(hits(DAY1, a=5, b=2), paths_per_day_max=2)
    moved = await store.add_hits(hits(DAY1, c=3, d=1), paths_per_day_max=2)
    assert await rows(store) == {"/a": 5, "/c": 3}  # c (3) took b's (2) place; d (1) did not
    assert moved == 2 + 1
    [day] = await store.hit_days()
    assert (day.hits, day.other_paths) == (11, 3)  # 5 + 3 kept + 3 other = 11, exactly


async def test_existing_rows_keep_adding_past_the_cap(store: Store) -> None:
    await store.add_hits(hits(DAY1, a=1), paths_per_day_max=1)
    for _ in range(3):  # two instances flushing the same path: counts add, never overwrite
        await store.add_hits(hits(DAY1, a=2), paths_per_day_max=1)
    assert await rows(store) == {"/a": 7}
    [day] = await store.hit_days()
    assert (day.hits, day.other_paths) == (7, 0)


async def test_path_days_and_prefix_hits_read_per_path_rows(store: Store) -> None:
    await store.add_hits(HitBatch.of([
        Hit(DAY1, "/innovation/a", 301, P, 3), Hit(DAY2, "/innovation/a", 301, P, 4),
        Hit(DAY2, "/innovation_x/b", 404, RuleKind.UNRESOLVED, 2),
        Hit(DAY2, "/naring/%", 301, P, 1),
    ]))
    days = await store.path_days(["/innovation/a", "/nowhere"])
    assert [(h.day, h.count) for h in days] == [(DAY1, 3), (DAY2, 4)]
    assert [h.day for h in await store.path_days(["/innovation/a"], since_day=DAY2)] == [DAY2]
    assert await store.path_days([]) == []
    # an exact string prefix: "_" and "%" are no wildcards
    assert await store.prefix_hits(["/innovation/", "/innovation_", "/naring/%", "/x/"]) == {
        "/innovation/": 7, "/innovation_": 2, "/naring/%": 1, "/x/": 0}
    assert await store.prefix_hits(["/innovation/"], since_day=DAY2) == {"/innovation/": 4}
