"""`Store.linkback_marks`, on both backends: a post's mark moves with every change of its
linkback rows (a new row, a decision, an erasure), including those that move no feed version,
and no other post's mark moves with it; one post's mark alone is read the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from linkbridge.model import (
    ChangeNote,
    Erasure,
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    PostKey,
)
from linkbridge.store import Store

T0 = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


async def seed(store: Store, n: int, post_id: int) -> int:
    draft = LinkbackDraft(
        blog="/b/", post_id=post_id, source_url=f"https://k{n}.example/a/",
        source_canonical=f"k{n}.example/a", source_host=f"k{n}.example",
        protocol=LinkbackProtocol.WEBMENTION, client_ip=f"203.0.113.{n}",
    )
    result = await store.record_linkback(draft, T0 + timedelta(hours=n), resend_is_duplicate=False)
    return result.linkback.id


async def test_a_posts_mark_moves_with_each_change_of_its_rows(store: Store) -> None:
    assert await store.linkback_marks() == {}
    first = await seed(store, 1, 1)
    await seed(store, 2, 2)
    marks = await store.linkback_marks()
    assert set(marks) == {PostKey("/b/", 1), PostKey("/b/", 2)}
    assert marks[PostKey("/b/", 1)][:2] == (1, first)

    steps: list[Callable[[], Awaitable[object]]] = [
        lambda: store.set_state(first, LinkbackState.HELD, actor="t", reason="",
                                now=T0 + timedelta(days=1)),
        lambda: seed(store, 3, 1),
        lambda: store.erase_linkbacks(Erasure(host="k1.example"),
                                      ChangeNote("erase", "t", "", T0 + timedelta(days=2))),
    ]
    for step in steps:
        await step()
        now = await store.linkback_marks()
        assert now[PostKey("/b/", 1)] != marks[PostKey("/b/", 1)]
        assert now[PostKey("/b/", 2)] == marks[PostKey("/b/", 2)]
        marks = now
    one = PostKey("/b/", 2)
    assert await store.linkback_marks(one) == {one: marks[one]}
    assert await store.linkback_marks(PostKey("/b/", 9)) == {}
