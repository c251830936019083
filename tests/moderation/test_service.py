"""The moderation service on a real SQLite store: decisions, host lists, redirects, history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from linkbridge.errors import BadRequest
from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState, Mapping
from linkbridge.moderation.rules import HostLists
from linkbridge.moderation.service import Moderation, Verdict
from linkbridge.store.sqlite import SqliteStore
from tests.support import ManualClock, load_test_settings

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
REGERINGEN = "https://www.regeringen.se/tidigare-statsraad/annie-loof/"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Moderation, SqliteStore, list[int]]]:
    settings = load_test_settings(tmp_path)
    store = SqliteStore(tmp_path / "linkbridge.db")
    await store.open()
    changes: list[int] = []

    async def changed() -> None:
        changes.append(1)

    service = Moderation(settings, store, ManualClock(NOW),
                         on_change=changed)
    yield service, store, changes
    await store.close()


async def held(store: SqliteStore, host: str, n: int = 1) -> int:
    draft = LinkbackDraft(
        blog="/innovation/", post_id=2187, source_url=f"http://{host}/inlagg-{n}/",
        source_canonical=f"{host}/inlagg-{n}", source_host=host,
        protocol=LinkbackProtocol.PINGBACK, state=LinkbackState.HELD,
    )
    return (await store.record_linkback(draft, NOW, resend_is_duplicate=True)).linkback.id


async def test_bulk_decision_records_each_and_reports_failures(env: tuple[Any, ...]) -> None:
    service, store, changes = env
    a, b = await held(store, "a.example.org"), await held(store, "b.example.org")
    outcomes = await service.decide([a, b, 999], Verdict.APPROVE, by="anna", reason="bra")
    assert [(o.linkback_id, o.ok, o.status) for o in outcomes] == [
        (a, True, 200), (b, True, 200), (999, False, 404)
    ]
    assert changes == [1]  # one live refresh for the whole bulk action
    history = await service.history(subject="linkback")
    assert [(c.key, c.before, c.after, c.actor, c.reason) for c in history[:2]] == [
        (str(b), "held", "approved", "anna", "bra"), (str(a), "held", "approved", "anna", "bra")
    ]


async def test_spam_block_domain_on_ip_hosts(env: tuple[Any, ...]) -> None:
    service, store, _ = env
    v4 = await held(store, "203.0.113.7")
    v6 = await held(store, "2001:db8:1:2::7")
    [o4] = await service.decide([v4], Verdict.SPAM, by="anna", block="domain")
    [o6] = await service.decide([v6], Verdict.SPAM, by="anna", block="domain")
    assert (o4.blocked, o6.blocked) == ("203.0.113.7", "2001:db8:1:2::/64")
    lists = HostLists.build(service.settings.moderation, await store.list_hosts("block"))
    assert lists.is_blocked("203.0.113.7")
    assert not lists.is_blocked("203.0.0.1")  # no pseudo-domain "0.7" or "113.7"
    assert lists.is_blocked("2001:db8:1:2::ffff")
    assert not lists.is_blocked("2001:db8:1:3::7")
    assert not lists.is_blocked("example.org")


async def test_block_normalises_and_refuses_the_same_everywhere(env: tuple[Any, ...]) -> None:
    service, store, _ = env
    edit = await service.set_host("https://bad.example.org/path", "block", present=True,
                                  by="anna")
    assert edit.entry == "bad.example.org"
    assert (await service.set_host("WWW.Bad.Example.org.", "block", present=True,
                                   by="anna")).change is None  # already there
    with pytest.raises(BadRequest, match="not a host name"):
        await service.set_host("not a host!", "block", present=True, by="anna")
    assert await store.list_hosts("block") == ["bad.example.org"]
    [change] = await service.history(subject="host")
    assert (change.key, change.action, change.before, change.after) == (
        "block:bad.example.org", "block", None, "block"
    )


async def test_redirect_changes_are_recorded_with_before_and_after(env: tuple[Any, ...]) -> None:
    service, store, _ = env
    await service.map("/innovation/om/", "web", by="anna", reason="om-sidan")
    await service.map("http://www.naringsbloggen.se/innovation/om/", REGERINGEN, by="bo")
    assert await service.unmap("/innovation/om/", by="anna", reason="fel") is not None
    assert await service.unmap("/innovation/om/", by="anna") is None  # nothing to remove
    await service.import_mappings([Mapping("/innovation/x/", "gone", origin="store")], by="cli")
    rows = [(c.key, c.action, c.before, c.after, c.actor, c.reason)
            for c in await service.history("/innovation/om/")]
    assert rows == [
        ("/innovation/om", "unmap", REGERINGEN, None, "anna", "fel"),
        ("/innovation/om", "map", "web", REGERINGEN, "bo", ""),
        ("/innovation/om", "map", None, "web", "anna", "om-sidan"),
    ]
    assert [c.action for c in await service.history(subject="mapping")] == [
        "import", "unmap", "map", "map"
    ]
    assert [m.source for m in await store.list_mappings()] == ["/innovation/x/"]


async def test_import_plan_and_replace(env: tuple[Any, ...]) -> None:
    service, store, _ = env
    await service.map("/innovation/a/", "web", by="anna")
    await service.map("/innovation/b/", "social", by="anna")
    rows = [service.checked_mapping("/innovation/a/", "gone"),
            service.checked_mapping("/innovation/c/", "web")]
    plan = await service.plan_import(rows, replace=True)
    assert [m.source for m in plan.added] == [rows[1].source]
    assert [(old.target, new.target) for old, new in plan.changed] == [("web", "gone")]
    assert [m.target for m in plan.removed] == ["social"]
    assert await store.list_mappings() != []  # a plan changes nothing
    changes = await service.import_mappings(rows, by="anna", replace=True)
    assert sorted(c.after or "-" for c in changes) == ["-", "gone", "web"]
    assert sorted(m.target for m in await store.list_mappings()) == ["gone", "web"]


async def test_target_checks_are_the_csv_checks(env: tuple[Any, ...]) -> None:
    service, _, _ = env
    with pytest.raises(BadRequest, match="allowed_target_hosts"):
        await service.map("/innovation/om/", "https://evil.example/", by="anna")
    with pytest.raises(BadRequest, match="not a path"):
        await service.map("innovation/om", "web", by="anna")
