"""Recorded edits and the history, on both backends: the same records for the same edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkbridge.model import (
    ChangeNote,
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    Mapping,
)
from linkbridge.store import Store

T0 = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


def note(action: str, minutes: int, reason: str = "") -> ChangeNote:
    return ChangeNote(action, "anna", reason, T0 + timedelta(minutes=minutes))


async def test_mapping_edits_record_before_and_after(store: Store) -> None:
    v0 = await store.version()
    first = await store.edit_mappings([Mapping("/a", "web", note="om")], [], note("map", 1, "x"))
    assert [(c.key, c.before, c.after) for c in first] == [("/a", None, "web # om")]
    assert await store.version() > v0
    v1 = await store.version()
    assert await store.edit_mappings([Mapping("/a", "web", note="om")], [], note("map", 2)) == []
    assert await store.version() == v1  # nothing changed, nothing recorded
    await store.edit_mappings([Mapping("/b", "gone")], ["/a", "/nope"], note("import", 3))
    assert [m.source for m in await store.list_mappings()] == ["/b"]
    rows = await store.history(subject="mapping")
    assert [(c.key, c.action, c.before, c.after, c.actor) for c in rows] == [
        ("/b", "import", None, "gone", "anna"),
        ("/a", "import", "web # om", None, "anna"),
        ("/a", "map", None, "web # om", "anna"),
    ]
    assert [c.at for c in await store.history(key="/a")] == [
        T0 + timedelta(minutes=3), T0 + timedelta(minutes=1)
    ]


async def test_host_edits_and_decisions_in_one_history(store: Store) -> None:
    assert await store.edit_host("spam.example", "block", present=True, note=note("block", 1))
    assert await store.edit_host("spam.example", "block", present=True,
                                 note=note("block", 2)) is None
    assert await store.list_hosts("block") == ["spam.example"]
    draft = LinkbackDraft(
        blog="/innovation/", post_id=1, source_url="http://a.example/x",
        source_canonical="a.example/x", source_host="a.example",
        protocol=LinkbackProtocol.PINGBACK, state=LinkbackState.HELD,
    )
    lb = (await store.record_linkback(draft, T0, resend_is_duplicate=True)).linkback
    await store.set_state(lb.id, LinkbackState.SPAM, actor="anna", reason="skräp",
                          now=T0 + timedelta(minutes=4))
    assert await store.edit_host("spam.example", "block", present=False,
                                 note=note("unblock", 5, "misstag"))
    assert await store.list_hosts("block") == []
    rows = [(c.subject, c.key, c.action, c.before, c.after, c.reason)
            for c in await store.history(limit=3)]
    assert rows == [
        ("host", "block:spam.example", "unblock", "block", None, "misstag"),
        ("linkback", str(lb.id), "spam", "held", "spam", "skräp"),
        ("host", "block:spam.example", "block", None, "block", ""),
    ]
    older = await store.history(limit=5, offset=2)
    assert [(c.subject, c.action) for c in older] == [("host", "block"), ("linkback", "held")]
