"""The store suite, on SQLite files and on PostgreSQL (the `backend` fixture in conftest.py):
migrations, linkback rows, transitions, jobs, lists. SQLite-only checks are marked so."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from linkbridge.errors import IllegalTransition
from linkbridge.model import (
    ALLOWED_TRANSITIONS,
    Category,
    ChangeNote,
    Decision,
    Hit,
    HitBatch,
    Linkback,
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    Mapping,
    Post,
    RuleKind,
)
from linkbridge.store import Store
from linkbridge.store.sqlite import SqliteStore
from linkbridge.urls import Canonicaliser
from tests.store.conftest import Backend

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
BLOCK = ChangeNote("block", "anna", "spam", NOW)
UNBLOCK = ChangeNote("unblock", "anna", "", NOW)
BLOG = "/innovation/"
S = LinkbackState


def draft(
    n: int = 1,
    *,
    state: LinkbackState = S.UNVERIFIED,
    protocol: LinkbackProtocol = LinkbackProtocol.PINGBACK,
    post_id: int = 2187,
    host: str = "www.logistikfokus.se",
) -> LinkbackDraft:
    return LinkbackDraft(
        blog=BLOG,
        post_id=post_id,
        source_url=f"http://{host}/2013/11/spaning-{n}/",
        source_canonical=f"{host.removeprefix('www.')}/2013/11/spaning-{n}",
        source_host=host,
        protocol=protocol,
        title=f"Spaning {n}",
        state=state,
    )


def post(post_id: int, title: str = "Ett inlägg", **over: object) -> Post:
    fields: dict[str, object] = {
        "blog": BLOG,
        "post_id": post_id,
        "permalink": f"http://www.naringsbloggen.se/innovation/kat/inlagg-{post_id}/",
        "path": f"/innovation/kat/inlagg-{post_id}",
        "slug": f"inlagg-{post_id}",
        "title": title,
        "published_at": datetime(2013, 10, 8, 13, 41, tzinfo=UTC),
        "categories": (Category("kat", "Kategori"),),
    }
    fields.update(over)
    return Post(**fields)  # type: ignore[arg-type]


def raw(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read the file with a separate plain sqlite3 connection (what another process sees)."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "linkbridge.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    """For the checks that only make sense on SQLite (WAL, group commit)."""
    s = SqliteStore(db_path)
    await s.open()
    yield s
    await s.close()


# ------------------------------------------------------------------ migrations, WAL


async def feeds_version(store: Store) -> int:
    """The feed sequence number: moves when what a comment feed shows changes."""
    return (await store.feed_changes(0))[0]


async def test_migrations_applied_once(store: Store, backend: Backend) -> None:
    shipped = [(number,) for number, _ in backend.migrations()]
    assert shipped[:2] == [(1,), (2,)]
    applied = "SELECT number FROM schema_migrations ORDER BY number"
    assert await backend.peek(applied) == shipped
    await store.bump_version()
    version = await store.version()
    await store.close()

    again = backend.make()
    await again.open()  # reopening does not re-apply 0001 (it would fail on CREATE TABLE)
    try:
        assert await backend.peek(applied) == shipped
        assert await again.version() == version
        assert await again.ping()
    finally:
        await again.close()


async def test_sqlite_folder_made_and_wal_on(sqlite_store: SqliteStore, db_path: Path) -> None:
    assert db_path.exists()  # the missing parent folder was created
    assert raw(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_both_backends_ship_the_same_migration_numbers() -> None:
    from linkbridge.store.postgres.engine import migrations as pg
    from linkbridge.store.sqlite.engine import migrations as sqlite

    assert [n for n, _ in pg()] == [n for n, _ in sqlite()], (
        "every migration needs its PostgreSQL twin in store/migrations/postgres/"
    )


async def test_a_newer_schema_is_refused(store: Store, backend: Backend) -> None:
    """Rolling upgrades: an older release does not (re)start on a schema it does not know."""
    from linkbridge.errors import ConfigError

    newer = backend.migrations()[-1][0] + 1
    await store.close()
    other = backend.make()
    await other.open()
    await other.close()
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.url.removeprefix("sqlite://"))
        conn.execute("INSERT INTO schema_migrations (number) VALUES (?)", (newer,))
        conn.commit()
        conn.close()
    else:
        import asyncpg

        pg = await asyncpg.connect(backend.url)
        await pg.execute("INSERT INTO schema_migrations (number) VALUES ($1)", newer)
        await pg.close()
    refused = backend.make()
    with pytest.raises(ConfigError, match=rf"schema is at migration {newer}, newer than"):
        await refused.open()
    await refused.close()


async def test_closed_store_is_not_ready(backend: Backend) -> None:
    s = backend.make()
    assert not await s.ping()


# ------------------------------------------------------------------ record_linkback


async def test_new_row_is_unverified_with_its_job_in_the_same_commit(
    store: Store, backend: Backend
) -> None:
    result = await store.record_linkback(draft(), NOW, resend_is_duplicate=True, job_kind="verify")
    assert result.created
    assert not result.duplicate
    assert result.linkback.state == S.UNVERIFIED
    assert result.job_id is not None
    # visible to another connection right away: committed before the call returned
    rows = [(i, k, json.loads(str(p))) for i, k, p in await backend.peek(
        "SELECT id, kind, payload FROM jobs")]
    assert rows == [(result.job_id, "verify", {"linkback_id": result.linkback.id})]
    assert await backend.peek("SELECT state FROM linkbacks") == [("unverified",)]


async def test_resend_of_pending_row_reuses_it_and_its_job(store: Store) -> None:
    first = await store.record_linkback(draft(), NOW, resend_is_duplicate=True, job_kind="verify")
    again = await store.record_linkback(
        draft(), NOW + timedelta(seconds=5), resend_is_duplicate=True, job_kind="verify"
    )
    assert not again.created
    assert not again.duplicate
    assert again.linkback.id == first.linkback.id
    assert again.job_id == first.job_id
    assert await store.count_jobs() == 1


@pytest.mark.parametrize("state", [S.HELD, S.APPROVED, S.REJECTED, S.SPAM])
async def test_resend_of_verified_row_is_a_duplicate_and_untouched(
    store: Store, state: LinkbackState
) -> None:
    first = await store.record_linkback(draft(state=state), NOW, resend_is_duplicate=True)
    version = await feeds_version(store)
    again = await store.record_linkback(
        draft(), NOW + timedelta(hours=1), resend_is_duplicate=True, job_kind="verify"
    )
    assert again.duplicate
    assert not again.created
    assert again.job_id is None
    assert again.linkback == first.linkback
    assert await store.get_linkback(first.linkback.id) == first.linkback
    assert await store.count_jobs() == 0
    assert await feeds_version(store) == version


ROUTE: dict[LinkbackState, tuple[LinkbackState, ...]] = {
    S.HELD: (S.HELD,),
    S.APPROVED: (S.APPROVED,),
    S.FAILED: (S.FAILED,),
    S.DELETED: (S.APPROVED, S.DELETED),
    S.REJECTED: (S.HELD, S.REJECTED),
    S.SPAM: (S.HELD, S.SPAM),
}
"""How a received (not imported) row reaches each state."""


async def received(store: Store, state: LinkbackState, **over: Any) -> Linkback:
    """A row a sender sent (not imported), moved to `state` through the state machine."""
    lb = (await store.record_linkback(draft(**over), NOW, resend_is_duplicate=True)).linkback
    for step in ROUTE[state]:
        lb = await store.set_state(lb.id, step, actor="t", reason="t", now=NOW)
    return lb


async def test_resend_of_failed_row_reopens_it_unverified(store: Store) -> None:
    first = await received(store, S.FAILED)
    later = NOW + timedelta(hours=1)
    again = await store.record_linkback(draft(), later, resend_is_duplicate=True, job_kind="verify")
    assert not again.duplicate
    assert not again.created
    assert again.linkback.id == first.id
    assert again.linkback.state == S.UNVERIFIED
    assert again.linkback.updated_at == later
    assert again.job_id is not None
    decisions = await store.decisions(first.id)
    assert decisions[-1] == Decision(first.id, S.FAILED, S.UNVERIFIED, "sender", "re-sent", later)


@pytest.mark.parametrize("state", [S.APPROVED, S.HELD, S.DELETED])
async def test_resend_of_a_verified_row_marks_it_and_keeps_its_state(
    store: Store, state: LinkbackState
) -> None:
    first = await received(store, state, protocol=LinkbackProtocol.WEBMENTION)
    version = await feeds_version(store)
    decisions = await store.decisions(first.id)
    later = NOW + timedelta(minutes=1)
    resent = replace(draft(protocol=LinkbackProtocol.WEBMENTION), source_url="https://x.example/")
    again = await store.record_linkback(resent, later, resend_is_duplicate=False, job_kind="verify")
    assert not again.duplicate
    assert again.linkback.id == first.id
    assert again.linkback.state == state
    assert (again.linkback.reverify_url, again.linkback.reverify_since) == (
        "https://x.example/",
        later,
    )
    assert again.linkback.source_url == first.source_url  # what is shown waits for evidence
    assert again.job_id is not None
    assert await feeds_version(store) == version  # feeds show exactly what they showed
    assert await store.decisions(first.id) == decisions


@pytest.mark.parametrize("state", [S.HELD, S.APPROVED, S.REJECTED, S.SPAM, S.FAILED, S.DELETED])
async def test_a_resend_never_touches_imported_history(
    store: Store, state: LinkbackState
) -> None:
    first = await store.record_linkback(draft(state=state), NOW, resend_is_duplicate=True)
    assert first.linkback.imported
    again = await store.record_linkback(
        replace(draft(protocol=LinkbackProtocol.WEBMENTION), public_id="status-1"),
        NOW + timedelta(minutes=1),
        resend_is_duplicate=False,
        job_kind="verify",
    )
    assert again.duplicate
    assert again.job_id is None
    assert again.linkback == replace(first.linkback, public_id="status-1")
    allowed = await store.record_linkback(
        draft(protocol=LinkbackProtocol.WEBMENTION),
        NOW + timedelta(minutes=2),
        resend_is_duplicate=False,
        job_kind="verify",
        reverify_imported=True,
    )
    if state in (S.REJECTED, S.SPAM):  # a moderator's no stands even then
        assert allowed.duplicate
    else:
        assert not allowed.duplicate


@pytest.mark.parametrize("state", [S.REJECTED, S.SPAM])
async def test_webmention_resend_of_rejected_or_spam_stays(
    store: Store, state: LinkbackState
) -> None:
    first = await received(store, state)
    again = await store.record_linkback(
        draft(), NOW + timedelta(minutes=1), resend_is_duplicate=False, job_kind="verify"
    )
    assert again.duplicate
    assert await store.get_linkback(first.id) == first
    assert await store.count_jobs() == 0


async def test_one_row_per_canonical_source_and_post(store: Store) -> None:
    a = await store.record_linkback(draft(1), NOW, resend_is_duplicate=True)
    b = await store.record_linkback(draft(1, post_id=12), NOW, resend_is_duplicate=True)
    c = await store.record_linkback(draft(2), NOW, resend_is_duplicate=True)
    assert len({a.linkback.id, b.linkback.id, c.linkback.id}) == 3
    again = await store.record_linkback(draft(1, post_id=12), NOW, resend_is_duplicate=True)
    assert not again.created  # the same (source, post): its row, not a new one
    assert again.linkback.id == b.linkback.id


# ------------------------------------------------------------------ state machine

PAIRS = [(old, new) for old, new in itertools.product(S, S) if old != new]


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o}->{n}" for o, n in PAIRS])
async def test_set_state_follows_the_state_machine(
    store: Store, old: LinkbackState, new: LinkbackState
) -> None:
    lb = (await store.record_linkback(draft(state=old), NOW, resend_is_duplicate=True)).linkback
    before_decisions = await store.decisions(lb.id)
    version = await feeds_version(store)
    later = NOW + timedelta(minutes=3)
    if new in ALLOWED_TRANSITIONS[old]:
        out = await store.set_state(
            lb.id, new, actor="moderator-anna", reason="läst och bedömd", now=later
        )
        assert out.state == new
        assert out.updated_at == later
        decisions = await store.decisions(lb.id)
        assert decisions == [
            *before_decisions,
            Decision(lb.id, old, new, "moderator-anna", "läst och bedömd", later),
        ]
        shown = S.APPROVED in (old, new)
        assert await feeds_version(store) == (version + 1 if shown else version)
    else:
        with pytest.raises(IllegalTransition, match=r"^store: "):
            await store.set_state(lb.id, new, actor="moderator-anna", reason="nej", now=later)
        assert await store.get_linkback(lb.id) == lb
        assert await store.decisions(lb.id) == before_decisions
        assert await feeds_version(store) == version


async def test_staying_put_records_nothing(store: Store) -> None:
    lb = (await store.record_linkback(draft(state=S.HELD), NOW, resend_is_duplicate=True)).linkback
    before = await store.decisions(lb.id)
    out = await store.set_state(lb.id, S.HELD, actor="anna", reason="", now=NOW)
    assert out.state == S.HELD
    assert await store.decisions(lb.id) == before


async def test_verification_stamps_verified_at(store: Store) -> None:
    lb = (await store.record_linkback(draft(), NOW, resend_is_duplicate=True)).linkback
    assert lb.verified_at is None
    later = NOW + timedelta(seconds=2)
    out = await store.set_state(lb.id, S.HELD, actor="rule", reason="verified", now=later)
    assert out.verified_at == later


async def test_a_known_host_is_looked_up_in_the_deciding_transaction(store: Store) -> None:
    first = (await store.record_linkback(draft(1), NOW, resend_is_duplicate=True)).linkback
    out = await store.set_state(first.id, S.HELD, actor="rule", reason="verified", now=NOW,
                                state_if_host_known=S.APPROVED)
    assert out.state == S.HELD  # no approved linkback from the host yet
    await store.set_state(first.id, S.APPROVED, actor="anna", reason="ok", now=NOW)
    second = (await store.record_linkback(draft(2), NOW, resend_is_duplicate=True)).linkback
    out = await store.set_state(second.id, S.HELD, actor="rule", reason="verified", now=NOW,
                                state_if_host_known=S.APPROVED)
    assert out.state == S.APPROVED
    assert (await store.decisions(second.id))[-1].new_state == S.APPROVED
    other = (await store.record_linkback(draft(3, host="annan.example"), NOW,
                                         resend_is_duplicate=True)).linkback
    out = await store.set_state(other.id, S.HELD, actor="rule", reason="verified", now=NOW,
                                state_if_host_known=S.APPROVED)
    assert out.state == S.HELD  # another host is not known by this one's approval


async def test_imported_row_records_an_import_decision(store: Store) -> None:
    version = await feeds_version(store)
    lb = (
        await store.record_linkback(draft(state=S.APPROVED), NOW, resend_is_duplicate=True)
    ).linkback
    assert [(d.old_state, d.new_state, d.actor) for d in await store.decisions(lb.id)] == [
        (S.UNVERIFIED, S.APPROVED, "import")
    ]
    assert await feeds_version(store) == version + 1


async def test_a_decision_moves_its_posts_feed_scopes_only(store: Store) -> None:
    version = await store.version()
    seq, _ = await store.feed_changes(0)
    lb = (await store.record_linkback(draft(), NOW, resend_is_duplicate=True)).linkback
    await store.set_state(lb.id, S.APPROVED, actor="t", reason="", now=NOW)
    new_seq, changed = await store.feed_changes(seq)
    assert new_seq == seq + 1
    assert changed == {"": new_seq, lb.blog: new_seq, f"{lb.blog}#{lb.post_id}": new_seq}
    assert await store.version() == version  # the redirect table and registry stay as they are
    assert await store.feed_changes(new_seq) == (new_seq, {})


# ------------------------------------------------------------------ posts


async def test_import_posts_is_idempotent_and_updates(store: Store, backend: Backend) -> None:
    pings = [draft(1, state=S.APPROVED), draft(2, state=S.HELD)]
    v0 = await store.version()
    assert await store.import_posts(BLOG, [post(1), post(2)], pings, NOW) == (2, 2)
    assert await store.version() > v0
    assert await store.import_posts(BLOG, [post(1), post(2)], pings, NOW) == (2, 0)
    assert await backend.peek("SELECT COUNT(*) FROM posts") == [(2,)]
    assert await backend.peek("SELECT COUNT(*) FROM linkbacks") == [(2,)]

    await store.import_posts(
        BLOG, [post(1, "Ny rubrik", ping_status="closed"), post(2)], pings, NOW
    )
    by_id = {p.post_id: p for p in await store.all_posts()}
    assert by_id[1].title == "Ny rubrik"
    assert not by_id[1].pings_open
    assert by_id[1].categories == (Category("kat", "Kategori"),)
    assert by_id[1].published_at == datetime(2013, 10, 8, 13, 41, tzinfo=UTC)
    assert await backend.peek("SELECT COUNT(*) FROM posts") == [(2,)]


async def test_posts_missing_from_a_later_import_become_tombstones(store: Store) -> None:
    await store.import_posts(BLOG, [post(1), post(2)], [], NOW)
    await store.import_posts("/transport/", [post(7, blog="/transport/")], [], NOW)
    await store.import_posts(BLOG, [post(1)], [], NOW)
    by_key = {(p.blog, p.post_id): p for p in await store.all_posts()}
    assert len(by_key) == 3
    assert by_key[(BLOG, 2)].tombstone
    assert not by_key[(BLOG, 1)].tombstone
    assert not by_key[("/transport/", 7)].tombstone  # other sub-blogs are left alone


async def test_imported_linkback_does_not_override_a_live_row(store: Store) -> None:
    live = await store.record_linkback(draft(1), NOW, resend_is_duplicate=True)
    _, added = await store.import_posts(BLOG, [post(2187)], [draft(1, state=S.APPROVED)], NOW)
    assert added == 0
    assert await store.get_linkback(live.linkback.id) == live.linkback


# ------------------------------------------------------------------ jobs


async def test_job_lease_expiry_restart_retry_and_complete(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    job_id = await first.enqueue_job("verify", {"linkback_id": 1}, NOW)
    job = await first.claim_job(NOW, lease_s=60)
    assert job is not None
    assert job.id == job_id
    assert job.attempts == 1
    assert job.lease_until == NOW + timedelta(seconds=60)
    assert job.payload == {"linkback_id": 1}
    # leased: nobody else gets it before the lease runs out (edge: one microsecond before)
    assert (
        await first.claim_job(NOW + timedelta(seconds=60) - timedelta(microseconds=1), 60) is None
    )
    await first.close()  # the process "dies" holding the lease

    second = backend.make()
    await second.open()
    try:
        assert await second.count_jobs() == 1
        expired = NOW + timedelta(seconds=60)
        again = await second.claim_job(expired, lease_s=60)
        assert again is not None
        assert again.id == job_id
        assert again.attempts == 2

        later = expired + timedelta(seconds=30)
        await second.retry_job(job_id, later, "fetcher: source answered 503")
        assert await second.claim_job(later - timedelta(microseconds=1), 60) is None
        retried = await second.claim_job(later, lease_s=60)
        assert retried is not None
        assert retried.id == job_id
        assert retried.last_error == "fetcher: source answered 503"
        assert retried.attempts == 3

        await second.complete_job(job_id)
        assert await second.count_jobs() == 0
        assert await second.claim_job(later + timedelta(days=1), 60) is None
    finally:
        await second.close()


async def test_jobs_are_claimed_in_due_order(store: Store) -> None:
    late = await store.enqueue_job("verify", {"n": 2}, NOW + timedelta(seconds=10))
    early = await store.enqueue_job("verify", {"n": 1}, NOW)
    assert await store.claim_job(NOW - timedelta(seconds=1), 60) is None  # nothing due yet
    a = await store.claim_job(NOW + timedelta(seconds=10), 60)
    b = await store.claim_job(NOW + timedelta(seconds=10), 60)
    assert (a and a.id, b and b.id) == (early, late)


async def test_dedupe_key_reuses_the_job(store: Store) -> None:
    a = await store.enqueue_job("verify", {"n": 1}, NOW, dedupe_key="verify:1")
    b = await store.enqueue_job("verify", {"n": 1}, NOW, dedupe_key="verify:1")
    assert a == b
    assert await store.count_jobs() == 1


# ------------------------------------------------------------------ two processes


async def test_two_store_instances_see_each_others_commits(backend: Backend) -> None:
    server, cli = backend.make(), backend.make()
    await server.open()
    await cli.open()
    try:
        rec = await server.record_linkback(draft(state=S.HELD), NOW, resend_is_duplicate=True)
        seen = await cli.get_linkback(rec.linkback.id)
        assert seen == rec.linkback
        v = await feeds_version(server)
        await cli.set_state(rec.linkback.id, S.APPROVED, actor="anna", reason="ok", now=NOW)
        assert await feeds_version(server) == v + 1
        got = await server.get_linkback(rec.linkback.id)
        assert got is not None
        assert got.state == S.APPROVED
        await cli.edit_host("spam.example", "block", present=True, note=BLOCK)
        assert await server.list_hosts("block") == ["spam.example"]
    finally:
        await cli.close()
        await server.close()


# ------------------------------------------------------------------ lists, mappings, hits


async def test_host_lists_bump_the_version(store: Store) -> None:
    v = await store.version()
    await store.edit_host("spam.example", "block", present=True, note=BLOCK)
    await store.edit_host(
        "vän.example", "allow", present=True, note=ChangeNote("allow", "anna", "", NOW)
    )
    assert await store.version() == v + 2
    assert await store.list_hosts("block") == ["spam.example"]
    assert await store.list_hosts("allow") == ["vän.example"]
    assert await store.edit_host("spam.example", "block", present=False, note=UNBLOCK)
    assert await store.version() == v + 3
    assert not await store.edit_host("spam.example", "block", present=False, note=UNBLOCK)
    assert await store.version() == v + 3  # nothing removed, nothing bumped


async def test_mappings_bump_the_version(store: Store) -> None:
    v = await store.version()
    await store.put_mappings(
        [Mapping("/innovation/om/", "social"), Mapping("/transport/*", "web", note="hela bloggen")],
        NOW,
    )
    assert await store.version() == v + 1
    await store.put_mappings([Mapping("/innovation/om/", "gone")], NOW)
    assert await store.version() == v + 2
    assert await store.list_mappings() == [
        Mapping("/innovation/om/", "gone", origin="store"),
        Mapping("/transport/*", "web", origin="store", note="hela bloggen"),
    ]
    unmap = ChangeNote("unmap", "anna", "", NOW)
    assert await store.edit_mappings([], ["/transport/*"], unmap)
    assert not await store.edit_mappings([], ["/transport/*"], unmap)
    assert await store.version() == v + 3


async def test_add_hits_is_additive_and_top_hits_can_exclude_rules(store: Store) -> None:
    day1, day2 = "2018-02-01", "2018-02-02"
    await store.add_hits(
        HitBatch.of([
            Hit(day1, "/innovation/a", 301, RuleKind.EXACT, 3),
            Hit(day1, "/innovation/b", 301, RuleKind.PREFIX, 2),
        ])
    )
    await store.add_hits(
        HitBatch.of([
            Hit(day1, "/innovation/a", 301, RuleKind.EXACT, 1),
            Hit(day2, "/innovation/b", 301, RuleKind.PREFIX, 5),
            Hit(day2, "/x", 410, RuleKind.UNRESOLVED, 1),
        ])
    )
    await store.add_hits(HitBatch())
    top = await store.top_hits(limit=10)
    assert [(h.path, h.count, h.day) for h in top] == [
        ("/innovation/b", 7, day2),
        ("/innovation/a", 4, day1),
        ("/x", 1, day2),
    ]
    unmapped = await store.top_hits(limit=10, exclude_rules=[RuleKind.EXACT.value])
    assert [h.path for h in unmapped] == ["/innovation/b", "/x"]
    assert [h.path for h in await store.top_hits(limit=1)] == ["/innovation/b"]


async def test_settings_round_trip(store: Store) -> None:
    assert await store.get_setting("admin_password_hash") is None
    await store.put_setting("admin_password_hash", "x")
    await store.put_setting("admin_password_hash", "y")
    assert await store.get_setting("admin_password_hash") == "y"


async def test_post_author_name_round_trips(store: Store) -> None:
    post = Post(blog="/innovation/", post_id=7, permalink="http://x/a/", path="/a", slug="a",
                title="A", author="annieloof", author_name="Annie Lööf")
    await store.import_posts("/innovation/", [post], [], datetime.now(UTC))
    (stored,) = await store.all_posts()
    assert stored.author_name == "Annie Lööf"


async def test_grouped_writes_commit_together_and_fail_alone(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    store = sqlite_store
    import asyncio

    def failing(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO admin_kv (key, value) VALUES ('half-done', 'x')")
        raise ValueError("store: this write fails")

    results = await asyncio.gather(
        *(store.put_setting(f"k{i}", "v") for i in range(300)),
        store.engine.write(failing),
        *(store.put_setting(f"m{i}", "v") for i in range(20)),
        return_exceptions=True,
    )
    assert isinstance(results[300], ValueError)
    assert [r for r in results if r is not None] == [results[300]]
    assert raw(db_path, "SELECT COUNT(*) FROM admin_kv WHERE key LIKE 'k%'") == [(300,)]
    assert raw(db_path, "SELECT COUNT(*) FROM admin_kv WHERE key LIKE 'm%'") == [(20,)]
    assert raw(db_path, "SELECT COUNT(*) FROM admin_kv WHERE key = 'half-done'") == [(0,)]


@pytest.mark.parametrize(("group_max", "commits"), [(1, 5), (2, 3), (4, 2), (5, 1), (6, 1)])
async def test_group_commit_size_is_capped_by_its_setting(
    tmp_path: Path, group_max: int, commits: int
) -> None:
    import asyncio

    store = SqliteStore(tmp_path / "group.db", group_commit_max_writes=group_max)
    await store.open()
    try:
        seen: list[str] = []
        writer = store.engine._writer
        assert writer is not None
        writer.set_trace_callback(seen.append)
        await asyncio.gather(*(store.put_setting(f"k{i}", "v") for i in range(5)))
        writer.set_trace_callback(None)
        assert seen.count("COMMIT") == commits
        assert raw(tmp_path / "group.db", "SELECT COUNT(*) FROM admin_kv") == [(5,)]
    finally:
        await store.close()


async def test_prune_failed_takes_only_failed_rows_older_than_the_cut(store: Store) -> None:
    kept = {state: await received(store, state, n=i) for i, state in enumerate(ROUTE, start=10)}
    failed = (await store.record_linkback(
        replace(draft(99), public_id="status-99"), NOW, resend_is_duplicate=False
    )).linkback
    failed = await store.set_state(failed.id, S.FAILED, actor="verifier", reason="no link",
                                   now=NOW)
    assert await store.prune_failed(NOW + timedelta(seconds=1)) == 2  # both failed rows
    assert await store.get_linkback(failed.id) is None
    assert await store.decisions(failed.id) == []
    assert await store.pruned_reason("status-99") == "no link"
    assert await store.pruned_reason("status-1") is None
    for state, lb in kept.items():  # held, approved, rejected, spam, deleted: kept as they are
        assert (await store.get_linkback(lb.id)) == (None if state == S.FAILED else lb)


async def test_prune_failed_at_its_edge(store: Store) -> None:
    lb = (await store.record_linkback(draft(), NOW, resend_is_duplicate=True)).linkback
    await store.set_state(lb.id, S.FAILED, actor="verifier", reason="gone", now=NOW)
    assert await store.prune_failed(NOW) == 0  # changed exactly at the cut: kept
    assert await store.prune_failed(NOW + timedelta(microseconds=1)) == 1


# ------------------------------------------------------------------ source keys


async def test_rekeying_sources_merges_and_loses_nothing(store: Store) -> None:
    canon = Canonicaliser(["www.naringsbloggen.se"], ["p"])
    sources = [  # stored under the old rule: path case and trailing slash folded
        ("http://example.org/Notes/Q1", "example.org/notes/q1"),
        ("https://example.org/watch?v=AbCdE", "example.org/watch?v=abcde"),
        ("http://example.org/a/./b", "example.org/a/./b"),  # the old rule kept dot segments
        ("http://example.org/a/b", "example.org/a/b"),  # ... so this one meets it now
    ]
    ids = []
    for url, old in sources:
        recorded = await store.record_linkback(
            replace(draft(), source_url=url, source_canonical=old), NOW, resend_is_duplicate=True
        )
        ids.append(recorded.linkback.id)
    assert await store.rekey_sources("2", canon.source_key) == 4
    keys = [(await store.get_linkback(i)) for i in ids]
    assert [lb.source_canonical for lb in keys if lb is not None] == [
        "example.org/Notes/Q1",
        "example.org/watch?v=AbCdE",
        "example.org/a/b",
        f"example.org/a/b#{ids[3]}",  # the same page as the row before: kept apart, not merged
    ]
    assert await store.rekey_sources("2", canon.source_key) == 0  # once per rule version
    again = await store.record_linkback(  # a re-send under the new rule meets the rekeyed row
        replace(draft(), source_url=sources[0][0], source_canonical="example.org/Notes/Q1"),
        NOW, resend_is_duplicate=True,
    )
    assert not again.created
    assert again.linkback.id == ids[0]


async def test_stores_opening_a_new_file_together_migrate_it_once(tmp_path: Path) -> None:
    """`serve --workers N` on a new SQLite file: N processes migrate at the same moment."""
    import asyncio

    stores = [SqliteStore(tmp_path / "together.db") for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        assert all([await s.ping() for s in stores])
    finally:
        for s in stores:
            await s.close()
    from linkbridge.store.sqlite.engine import migrations

    shipped = raw(tmp_path / "together.db", "SELECT COUNT(*) FROM schema_migrations")
    assert shipped == [(len(migrations()),)]


_OPEN_AND_CLOSE = """
import asyncio, sys
from pathlib import Path
from linkbridge.store.sqlite import SqliteStore

async def main() -> None:
    store = SqliteStore(Path(sys.argv[1]))
    await store.open()
    await store.close()

asyncio.run(main())
"""


@pytest.mark.slow
def test_processes_opening_a_new_file_together_all_start(tmp_path: Path) -> None:
    """Separate processes, as `serve --workers` starts them: one switching the new file to WAL
    while another migrates must not fail with "database is locked"."""
    import subprocess
    import sys

    for round_ in range(5):
        path = tmp_path / f"round{round_}.db"
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AND_CLOSE, str(path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(6)]
        errors = [p.communicate(timeout=60)[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors
