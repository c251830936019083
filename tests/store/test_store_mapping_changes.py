"""The record of changed mappings: a server reads only the rows that moved since its version,
and reads everything when a change since was not recorded row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkbridge.model import ChangeNote, Mapping
from linkbridge.store import Store, rows
from tests.store.conftest import Backend

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
NOTE = ChangeNote("map", "anna", "", NOW)


async def mappings_version(store: Store) -> int:
    return (await store.versions())["mappings"]


async def test_changes_since_a_version_name_the_written_and_removed_rows(store: Store) -> None:
    start = await mappings_version(store)
    await store.put_mappings([Mapping("/a/", "web"), Mapping("/b/*", "social")], NOW)
    middle = await mappings_version(store)
    await store.edit_mappings([], ["/a/"], NOTE)
    await store.edit_mappings([Mapping("/c/", "gone", note="borta")], [], NOTE)
    await store.edit_mappings([], ["/b/*"], NOTE)
    now = await mappings_version(store)

    everything = await store.mapping_changes(start, 10)
    assert everything is not None
    assert everything.version == now
    assert everything.changed == (Mapping("/c/", "gone", origin="store", note="borta"),)
    assert sorted(everything.removed) == ["/a/", "/b/*"]

    since_middle = await store.mapping_changes(middle, 10)
    assert since_middle is not None
    assert since_middle.changed == (Mapping("/c/", "gone", origin="store", note="borta"),)
    assert sorted(since_middle.removed) == ["/a/", "/b/*"]

    nothing = await store.mapping_changes(now, 10)
    assert nothing is not None
    assert (nothing.changed, nothing.removed) == ((), ())


async def test_more_changes_than_the_limit_mean_read_everything(store: Store) -> None:
    start = await mappings_version(store)
    await store.put_mappings([Mapping(f"/p/{i}/", "web") for i in range(5)], NOW)
    assert await store.mapping_changes(start, 4) is None
    at_limit = await store.mapping_changes(start, 5)
    assert at_limit is not None
    assert len(at_limit.changed) == 5


async def test_a_version_bump_that_names_no_rows_means_read_everything(store: Store) -> None:
    await store.put_mappings([Mapping("/a/", "web")], NOW)
    before = await mappings_version(store)
    await store.bump_version()  # a writer that names no rows (a restore, an older release)
    assert await store.mapping_changes(before, 10) is None
    untracked = await mappings_version(store)
    await store.put_mappings([Mapping("/b/", "web")], NOW)
    assert await store.mapping_changes(before, 10) is None  # still: the gap is remembered
    after = await store.mapping_changes(untracked, 10)  # a reader that read everything then
    assert after is not None
    assert [m.source for m in after.changed] == ["/b/"]


async def test_another_instance_sees_the_changes_of_one(backend: Backend, store: Store) -> None:
    other = backend.make()
    await other.open()
    try:
        start = await mappings_version(other)
        await store.put_mappings([Mapping("/a/", "web")], NOW)
        seen = await other.mapping_changes(start, 10)
        assert seen is not None
        assert [m.source for m in seen.changed] == ["/a/"]
    finally:
        await other.close()


async def test_mapping_pairs_are_every_source_and_target_by_source(store: Store) -> None:
    await store.put_mappings([Mapping("/b/", "web", note="n"), Mapping("/a/*", "gone")], NOW)
    assert await store.mapping_pairs() == [("/a/*", "gone"), ("/b/", "web")]
    assert [(m.source, m.target) for m in await store.list_mappings()] == [
        ("/a/*", "gone"), ("/b/", "web")
    ]


async def test_the_record_keeps_the_newest_rows_and_a_reader_behind_them_reads_everything(
    backend: Backend, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "MAPPING_CHANGES_KEPT", 3)
    versions = []
    for i in range(5):
        await store.put_mappings([Mapping(f"/p/{i}/", "web")], NOW)
        versions.append(await mappings_version(store))
    recorded = await backend.peek("SELECT source FROM mapping_versions ORDER BY source")
    assert recorded == [("/p/2/",), ("/p/3/",), ("/p/4/",)]  # /p/0/ and /p/1/ pruned

    at_the_edge = await store.mapping_changes(versions[1], 3)  # needs only what is kept
    assert at_the_edge is not None
    assert [m.source for m in at_the_edge.changed] == ["/p/2/", "/p/3/", "/p/4/"]
    assert await store.mapping_changes(versions[0], 10) is None  # needs /p/1/: reads all

    await store.edit_mappings([], ["/p/3/"], NOTE)  # a removal is recorded and kept too
    since = await store.mapping_changes(versions[2], 3)
    assert since is not None
    assert (since.changed, since.removed) == ((Mapping("/p/4/", "web", origin="store"),),
                                              ("/p/3/",))
    await store.put_mappings([Mapping("/p/5/", "web")], NOW)  # a fourth row: /p/2/ goes
    assert await store.mapping_changes(versions[1], 10) is None
    assert await store.mapping_changes(versions[2], 10) is not None


async def test_one_write_of_more_rows_than_are_kept_leaves_no_record_to_read(
    backend: Backend, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "MAPPING_CHANGES_KEPT", 3)
    before = await mappings_version(store)
    await store.put_mappings([Mapping(f"/p/{i}/", "web") for i in range(4)], NOW)
    after = await mappings_version(store)
    assert await backend.peek("SELECT source FROM mapping_versions") == []
    assert await store.mapping_changes(before, 10) is None
    nothing = await store.mapping_changes(after, 10)
    assert nothing is not None
    assert (nothing.changed, nothing.removed) == ((), ())
