"""The record of changed mappings: a server reads only the rows that moved since its version,
and reads everything when a change since was not recorded row by row."""

from __future__ import annotations

from datetime import UTC, datetime

from linkbridge.model import ChangeNote, Mapping
from linkbridge.store import Store
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
