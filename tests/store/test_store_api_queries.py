"""What the read-only API asks of a store, on both backends: rows changed since a moment, and
counts by (protocol, mention type)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkbridge.model import (
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    SourceDetails,
)
from linkbridge.store import Store

S = LinkbackState
T0 = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


async def approved(store: Store, n: int, *, mention_type: str, post_id: int = 1,
                   protocol: LinkbackProtocol = LinkbackProtocol.WEBMENTION) -> int:
    at = T0 + timedelta(hours=n)
    draft = LinkbackDraft(blog="/b/", post_id=post_id, source_url=f"https://s{n}.example/p",
                          source_canonical=f"s{n}.example/p", source_host=f"s{n}.example",
                          protocol=protocol)
    row = (await store.record_linkback(draft, at, resend_is_duplicate=True)).linkback
    await store.set_state(row.id, S.HELD, actor="verifier", reason="", now=at,
                          details=SourceDetails(mention_type=mention_type))
    await store.set_state(row.id, S.APPROVED, actor="moderator", reason="", now=at)
    return row.id


async def test_changed_since_takes_rows_changed_at_or_after(store: Store) -> None:
    ids = [await approved(store, n, mention_type="mention") for n in range(3)]
    rows = await store.list_linkbacks(states=[S.APPROVED], changed_since=T0 + timedelta(hours=1))
    assert sorted(r.id for r in rows) == ids[1:]
    await store.set_state(ids[0], S.DELETED, actor="verifier", reason="410",
                          now=T0 + timedelta(days=1))
    gone = await store.list_linkbacks(states=[S.DELETED, S.REJECTED],
                                      changed_since=T0 + timedelta(days=1))
    assert [r.id for r in gone] == [ids[0]]


async def test_counts_by_protocol_and_mention_type(store: Store) -> None:
    await approved(store, 1, mention_type="like-of")
    await approved(store, 2, mention_type="like-of")
    await approved(store, 3, mention_type="mention", protocol=LinkbackProtocol.PINGBACK)
    await approved(store, 4, mention_type="like-of", post_id=2)
    counts = await store.linkback_counts(state=S.APPROVED, blog="/b/", post_id=1)
    assert counts == {(LinkbackProtocol.WEBMENTION, "like-of"): 2,
                      (LinkbackProtocol.PINGBACK, "mention"): 1}
    everywhere = await store.linkback_counts(state=S.APPROVED)
    assert everywhere[(LinkbackProtocol.WEBMENTION, "like-of")] == 3
    assert await store.linkback_counts(state=S.SPAM) == {}
