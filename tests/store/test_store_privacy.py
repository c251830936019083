"""Personal data in the store, on both backends: an erasure removes a person's linkbacks with
their decisions, jobs and webhook deliveries, records itself without the erased data, and keeps
a WXR re-import from bringing them back; old sender addresses are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkbridge.model import (
    ChangeNote,
    Erasure,
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    Post,
)
from linkbridge.store import Store
from tests.store.conftest import Backend

T0 = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
NOTE = ChangeNote("erase", "moderator", "request 2026-17", T0 + timedelta(days=30))


def draft(n: int, host: str, *, author: str = "") -> LinkbackDraft:
    return LinkbackDraft(
        blog="/b/", post_id=1, source_url=f"https://{host}/inlagg-{n}/",
        source_canonical=f"{host}/inlagg-{n}", source_host=host,
        protocol=LinkbackProtocol.WEBMENTION, client_ip=f"203.0.113.{n}",
        title=author,
    )


def payload(linkback_id: int) -> str:
    return f'{{"linkback": {{"id": {linkback_id}}}}}'


async def seed(store: Store, n: int, host: str) -> int:
    result = await store.record_linkback(draft(n, host), T0 + timedelta(hours=n),
                                         resend_is_duplicate=False, job_kind="verify",
                                         job_run_after=T0)
    await store.enqueue_webhook("linkback.received", payload(result.linkback.id), T0,
                                job_kind="webhook")
    return result.linkback.id


async def test_erase_by_host_takes_rows_decisions_jobs_and_deliveries(
    store: Store, backend: Backend
) -> None:
    gone = [await seed(store, 1, "karin.example"), await seed(store, 2, "karin.example")]
    kept = await seed(store, 3, "other.example")
    await store.set_state(gone[0], LinkbackState.HELD, actor="verifier", reason="", now=T0)
    assert await store.erase_linkbacks(Erasure(host="karin.example"), NOTE) == 2
    assert [r.id for r in await store.list_linkbacks()] == [kept]
    for table, column in (("decisions", "linkback_id"),):
        rows = await backend.peek(f"SELECT COUNT(*) FROM {table} WHERE {column} IN (?, ?)",
                                  *gone)
        assert rows == [(0,)]
    assert await store.count_jobs() == 2  # the kept row's verification and its delivery
    deliveries = await store.list_webhook_deliveries(limit=10)
    assert len(deliveries) == 1
    assert deliveries[0].payload == payload(kept)
    (change,) = [c for c in await store.history(limit=10) if c.subject == "erasure"]
    assert (change.actor, change.reason, change.after) == (
        "moderator", "request 2026-17", "2 linkbacks erased")
    assert "karin" not in repr(change)


async def test_erase_by_source_url_or_author(store: Store) -> None:
    first = await seed(store, 1, "a.example")
    await seed(store, 2, "a.example")
    assert await store.erase_linkbacks(Erasure(source_url="https://a.example/inlagg-1/"),
                                       NOTE) == 1
    assert first not in [r.id for r in await store.list_linkbacks()]
    assert await store.erase_linkbacks(Erasure(author_name="Nobody Here"), NOTE) == 0


async def test_an_erased_imported_linkback_is_not_imported_again(store: Store) -> None:
    post = Post(blog="/b/", post_id=1, permalink="http://blog.example/b/p/", path="/b/p",
                slug="p", title="P")
    imported = draft(1, "logistikfokus.se")
    await store.import_posts("/b/", [post], [imported], T0)
    assert len(await store.list_linkbacks()) == 1
    await store.erase_linkbacks(Erasure(host="logistikfokus.se"), NOTE)
    await store.import_posts("/b/", [post], [imported], T0 + timedelta(days=31))
    assert await store.list_linkbacks() == []


async def test_old_sender_addresses_are_forgotten(store: Store, backend: Backend) -> None:
    old, new = await seed(store, 1, "a.example"), await seed(store, 30, "b.example")
    changed = await store.forget_client_data(T0 + timedelta(hours=10))
    assert changed >= 1
    peeked = await backend.peek("SELECT id, client_ip FROM linkbacks")
    rows: dict[object, object] = {r[0]: r[1] for r in peeked}
    assert rows[old] == ""
    assert rows[new] == "203.0.113.30"
