"""The live snapshot: each input rebuilt only when its own version moves, small table changes
applied to a copy, and a full rebuild that lets other tasks run between slices."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from linkbridge import live as live_module
from linkbridge.live import LiveState
from linkbridge.model import ChangeNote, Mapping, RuleKind
from linkbridge.retire.table import RedirectTable
from linkbridge.store import open_store, rows
from linkbridge.store.base import Store
from tests.support import BEFORE, load_test_settings

TARGET = "https://www.regeringen.se/ny-sida/"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    settings = load_test_settings(tmp_path)
    s = open_store(settings.store.url)
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def live(tmp_path: Path, store: Store) -> LiveState:
    state = LiveState(load_test_settings(tmp_path), store)
    await state.refresh(force=True)
    return state


async def test_a_host_list_change_keeps_the_table_and_registry(
    live: LiveState, store: Store
) -> None:
    old = live.snapshot
    await store.edit_host(
        "spam.example", "block", present=True, note=ChangeNote("block", "t", "", BEFORE)
    )
    assert await live.refresh()
    new = live.snapshot
    assert new.lists.is_blocked("spam.example")
    assert new.table is old.table
    assert new.registry is old.registry


async def test_one_mapping_is_applied_to_a_copy_and_removing_it_uncovers_the_config(
    live: LiveState, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "/innovation/om"  # the example config maps it; a store row overrides it
    config_rule = live.snapshot.table.lookup(key)
    original = RedirectTable.build_in_slices
    rebuilds: list[object] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        rebuilds.append(args[2] if len(args) > 2 else kwargs.get("store_mappings", ()))
        return original(*args, **kwargs)

    monkeypatch.setattr(RedirectTable, "build_in_slices", spy)
    await store.put_mappings([Mapping("/innovation/om/", TARGET, origin="store")], BEFORE)
    await live.refresh()
    assert live.snapshot.table.lookup(key).location == TARGET
    await store.edit_mappings([], ["/innovation/om/"], ChangeNote("unmap", "t", "", BEFORE))
    await live.refresh()
    assert live.snapshot.table.lookup(key) == config_rule
    assert all(not rows for rows in rebuilds)  # only the configuration's own layer was built


async def test_two_rows_sharing_a_key_are_rebuilt_in_order(live: LiveState, store: Store) -> None:
    await store.put_mappings([Mapping("/a/B/", TARGET, origin="store")], BEFORE)
    await live.refresh()
    await store.put_mappings([Mapping("/a/b", "gone", origin="store")], BEFORE)
    await live.refresh()  # two sources, one key: a full build decides (later source wins)
    expected = live.snapshot.table.lookup("/a/b")
    fresh = LiveState(live.settings, store)
    await fresh.refresh(force=True)
    assert fresh.snapshot.table.lookup("/a/b") == expected
    assert expected.rule is RuleKind.EXACT


async def test_a_full_rebuild_yields_to_other_tasks(
    live: LiveState, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "SLICE_ROWS", 100)
    monkeypatch.setattr(live_module, "INCREMENTAL_ROWS_MAX", 10)
    await store.put_mappings(
        [Mapping(f"/arkiv/{i}/", TARGET, origin="store") for i in range(1000)], BEFORE
    )
    ticks = 0
    building = True

    async def ticker() -> None:
        nonlocal ticks
        while building:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    original = RedirectTable.build_in_slices
    slices = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal slices
        steps = original(*args, **kwargs)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value
            slices += 1
            before = ticks
            yield
            assert ticks > before  # the ticker ran between two slices

    monkeypatch.setattr(RedirectTable, "build_in_slices", counting)
    try:
        await live.refresh()
    finally:
        building = False
        await task
    assert live.snapshot.table.lookup("/arkiv/999").location == TARGET
    assert slices == 10


async def test_a_small_change_reads_only_the_changed_rows(
    live: LiveState, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put_mappings(
        [Mapping(f"/arkiv/{i}/", TARGET, origin="store") for i in range(50)], BEFORE
    )
    await live.refresh()
    full_reads = 0
    original = store.mapping_pairs

    async def counting() -> list[tuple[str, str]]:
        nonlocal full_reads
        full_reads += 1
        return await original()

    monkeypatch.setattr(store, "mapping_pairs", counting)
    await store.put_mappings([Mapping("/arkiv/7/", "gone", origin="store")], BEFORE)
    await store.edit_mappings([], ["/arkiv/8/"], ChangeNote("unmap", "t", "", BEFORE))
    assert await live.refresh()
    assert live.snapshot.table.lookup("/arkiv/7").status == 410
    assert live.snapshot.table.lookup("/arkiv/8").rule is not RuleKind.EXACT
    assert live.snapshot.table.lookup("/arkiv/9").location == TARGET
    assert full_reads == 0
    await store.bump_version()  # a change that names no rows: everything is read
    assert await live.refresh()
    assert full_reads == 1
    assert live.snapshot.table.lookup("/arkiv/7").status == 410


async def test_a_changed_row_the_table_refuses_is_skipped_not_fatal(
    live: LiveState, store: Store
) -> None:
    await store.put_mappings([Mapping("inte-en-sökväg", TARGET, origin="store"),
                              Mapping("/arkiv/1/", TARGET, origin="store")], BEFORE)
    assert await live.refresh()
    assert [row.source for row in live.snapshot.table.skipped] == ["inte-en-sökväg"]
    assert live.snapshot.table.lookup("/arkiv/1").location == TARGET


async def test_the_first_small_change_after_a_full_build_counts_keys_in_slices(
    live: LiveState, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys of every store row are counted when first needed, between turns of the loop:
    with 100,000 rows one count in one go held it for some 30 ms."""
    monkeypatch.setattr(live_module, "SLICE_ROWS", 100)
    await store.put_mappings(
        [Mapping(f"/arkiv/{i}/", TARGET, origin="store") for i in range(1000)], BEFORE
    )
    await live.refresh(force=True)  # a full build: the keys are not counted yet
    ticks = 0
    running = True
    seen: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    class Counting(Counter[str]):
        def update(self, *args: Any, **kwargs: Any) -> None:
            if args and args[0] is not None:  # not the empty update of Counter()
                seen.append(ticks)
            super().update(*args, **kwargs)

    monkeypatch.setattr(live_module, "Counter", Counting)
    await store.put_mappings([Mapping("/arkiv/1000/", "gone", origin="store")], BEFORE)
    task = asyncio.create_task(ticker())
    try:
        assert await live.refresh()
    finally:
        running = False
        await task
    assert len(seen) >= 10  # 1,000 rows (and the test store's own) by 100
    assert all(a < b for a, b in pairwise(seen)), seen  # the loop ran between two slices
    assert live.snapshot.table.lookup("/arkiv/1000").status == 410
    assert live.snapshot.table.lookup("/arkiv/999").location == TARGET


def test_a_server_never_asks_for_more_changes_than_the_store_keeps() -> None:
    """Then pruning the record never turns an incremental update into a full read."""
    assert live_module.INCREMENTAL_ROWS_MAX <= rows.MAPPING_CHANGES_KEPT


async def test_a_server_behind_the_pruned_record_reads_the_whole_table(
    tmp_path: Path, live: LiveState, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "MAPPING_CHANGES_KEPT", 3)
    # more than are kept: the full read below comes from the pruned record, not from the limit
    monkeypatch.setattr(live_module, "INCREMENTAL_ROWS_MAX", 10)
    behind = LiveState(load_test_settings(tmp_path), store)
    await behind.refresh(force=True)
    for i in range(5):  # five changes, one row each: the first two are pruned
        await store.put_mappings([Mapping(f"/arkiv/{i}/", TARGET, origin="store")], BEFORE)
        await live.refresh()  # keeps up, one change at a time
    full_reads = 0
    original = store.mapping_pairs

    async def counting() -> list[tuple[str, str]]:
        nonlocal full_reads
        full_reads += 1
        return await original()

    monkeypatch.setattr(store, "mapping_pairs", counting)
    assert await behind.refresh()
    assert full_reads == 1
    for i in range(5):
        assert behind.snapshot.table.lookup(f"/arkiv/{i}").location == TARGET
    await store.put_mappings([Mapping("/arkiv/5/", "gone", origin="store")], BEFORE)
    assert await live.refresh()
    assert await behind.refresh()  # at the edge now: incremental
    assert full_reads == 1
    assert live.snapshot.table.lookup("/arkiv/5").status == 410
    assert behind.snapshot.table.lookup("/arkiv/5").status == 410


async def test_removing_a_row_the_table_skipped_is_applied(live: LiveState, store: Store) -> None:
    """A stored source the current config refuses (say its host left `site.hosts`) was never
    in the table: removing it must not stop every later refresh."""
    await store.put_mappings([Mapping("inte-en-sökväg", TARGET, origin="store")], BEFORE)
    assert await live.refresh()
    await store.edit_mappings([], ["inte-en-sökväg"], ChangeNote("unmap", "t", "", BEFORE))
    assert await live.refresh()
    assert live.snapshot.table.skipped == ()
    await store.put_mappings([Mapping("/arkiv/1/", TARGET, origin="store")], BEFORE)
    assert await live.refresh()
    assert live.snapshot.table.lookup("/arkiv/1").location == TARGET
