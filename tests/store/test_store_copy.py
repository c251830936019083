"""`linkbridge store copy SQLITE_URL POSTGRES_URL`: every row over, counts checked, idempotent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linkbridge.commands.exporting import export_document
from linkbridge.model import ChangeNote, Hit, HitBatch, LinkbackState, Mapping, RuleKind
from linkbridge.store import open_store
from tests.store.test_sqlite_store import BLOG, draft, post
from tests.support.pg import fresh_schema
from tests.support.serve import config_args, run_cli

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_schema() as url:
        yield url


async def test_a_sqlite_store_copies_to_postgresql_once_and_again(
    tmp_path: Path, pg_url: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path}/gammal.db"
    source = open_store(sqlite_url)
    await source.open()
    try:
        shown = draft(1, state=LinkbackState.APPROVED)
        await source.import_posts(BLOG, [post(1), post(2)], [shown], NOW)
        lb = (await source.record_linkback(draft(2), NOW, resend_is_duplicate=True,
                                           job_kind="verify")).linkback
        await source.set_state(lb.id, LinkbackState.HELD, actor="rule", reason="ok", now=NOW)
        await source.put_mappings([Mapping("/innovation/om/", "social")], NOW)
        await source.add_hits(HitBatch.of([Hit("2018-02-01", "/x", 410, RuleKind.UNRESOLVED, 3)]))
        await source.edit_host(
            "spam.example", "block", present=True, note=ChangeNote("block", "anna", "spam", NOW)
        )
        before = await export_document(source)
    finally:
        await source.close()

    first = run_cli("store", "copy", sqlite_url, pg_url, *config_args())
    assert first.returncode == 0, first.stderr
    assert "row counts equal" in first.stdout
    assert "2 posts" in first.stdout
    again = run_cli("store", "copy", sqlite_url, pg_url, *config_args())  # idempotent
    assert again.returncode == 0, again.stderr
    assert again.stdout.split(";")[1] == first.stdout.split(";")[1]

    target = open_store(pg_url)
    await target.open()
    try:
        after = await export_document(target)
        version = await target.version()
    finally:
        await target.close()
    tables = set(before["tables"]) - {"meta"}  # the version row is each store's own
    assert {t: plain(after["tables"][t]) for t in tables} == {
        t: plain(before["tables"][t]) for t in tables
    }
    assert version >= 1


def plain(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """JSON columns parsed: jsonb keeps its keys sorted, SQLite the text as written."""
    def parsed(value: object) -> object:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    return [{k: parsed(v) for k, v in row.items()} for row in rows]


async def test_counts_that_differ_fail_the_copy(tmp_path: Path, pg_url: str) -> None:
    target = open_store(pg_url)
    await target.open()
    try:  # a target that is not empty and not a copy of this source
        await target.put_mappings([Mapping("/annat/", "web")], NOW)
    finally:
        await target.close()
    sqlite_url = f"sqlite:///{tmp_path}/tom.db"
    source = open_store(sqlite_url)
    await source.open()
    try:
        await source.put_mappings([Mapping("/innovation/om/", "social")], NOW)
    finally:
        await source.close()
    out = run_cli("store", "copy", sqlite_url, pg_url, *config_args())
    assert out.returncode == 1
    assert "row counts differ: mappings 1 → 2" in out.stderr
