"""Approve, reject and spam through the page's forms, against a real store; escaping."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from linkbridge import keys
from linkbridge.model import LinkbackProtocol, LinkbackState
from tests.support import Client
from tests.support.admin import USER, held_linkback, login

AdminApp = Callable[..., Awaitable[Client]]


async def _decide(
    client: Client,
    csrf: str,
    linkback_id: int,
    action: str,
    reason: str = "",
    next_path: str = "/admin/",
) -> int:
    response = await client.post(
        f"/admin/linkbacks/{linkback_id}",
        data={"csrf": csrf, "action": action, "reason": reason, "next": next_path},
        allow_redirects=False,
    )
    if response.status == 303:
        assert response.headers["Location"] == next_path
    return response.status


async def test_queue_shows_held_linkbacks_with_their_post(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    lb = await held_linkback(client)
    page = await (await client.get("/admin/")).text()
    assert html.escape(lb.title) in page
    assert lb.source_url in page
    assert "Innovationsupphandling på frammarsch" in page  # the target post's title
    assert "pingback" in page
    assert f'action="/admin/linkbacks/{lb.id}"' in page


async def test_approve_reject_spam_record_who_when_why(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    a = await held_linkback(client, source_url="http://a.example.org/x/")
    b = await held_linkback(client, source_url="http://b.example.org/x/")
    c = await held_linkback(client, source_url="http://c.example.org/x/")
    assert await _decide(client, csrf, a.id, "approve", "fine blog") == 303
    assert await _decide(client, csrf, b.id, "reject") == 303
    assert await _decide(client, csrf, c.id, "spam", "casino links") == 303
    for lb, state, reason in (
        (a, LinkbackState.APPROVED, "fine blog"),
        (b, LinkbackState.REJECTED, ""),
        (c, LinkbackState.SPAM, "casino links"),
    ):
        stored = await store.get_linkback(lb.id)
        assert stored is not None
        assert stored.state == state
        last = (await store.decisions(lb.id))[-1]
        assert (last.old_state, last.new_state, last.actor, last.reason) == (
            LinkbackState.HELD,
            state,
            USER,
            reason,
        )
        assert last.at == client.app[keys.CLOCK].now()
    # rejected and spam rows stay queryable, and the queue is empty
    queue = await (await client.get("/admin/")).text()
    assert "Kön är tom." in queue  # site.language = "sv"
    spam = await (await client.get("/admin/linkbacks?state=spam")).text()
    assert "c.example.org" in spam
    assert "a.example.org" not in spam
    history = await (await client.get(f"/admin/linkbacks/{c.id}")).text()
    assert "casino links" in history
    assert USER in history


async def test_approved_linkback_shows_in_the_post_feed(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    lb = await held_linkback(client, title="Approved through the admin page")
    feed_url = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/feed/"
    assert "Approved through the admin page" not in await (await client.get(feed_url)).text()
    assert await _decide(client, csrf, lb.id, "approve") == 303
    assert "Approved through the admin page" in await (await client.get(feed_url)).text()


async def test_spam_can_block_host_or_domain(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    one = await held_linkback(client, source_url="http://spam.blogs.example.co.uk/a/")
    two = await held_linkback(client, source_url="http://www.junk.example.net/b/")
    assert await _decide(client, csrf, one.id, "spam_domain", "farm") == 303
    assert await _decide(client, csrf, two.id, "spam_host") == 303
    assert await store.list_hosts("block") == ["example.co.uk", "junk.example.net"]
    lists = client.app[keys.LIVE].snapshot.lists  # refreshed at once, no restart
    assert lists.is_blocked("other.example.co.uk")
    assert lists.is_blocked("junk.example.net")
    assert not lists.is_blocked("example.net")
    hosts = await (await client.get("/admin/hosts")).text()
    assert "example.co.uk" in hosts


async def test_illegal_or_unknown_decisions_are_refused(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    lb = await held_linkback(client)
    assert await _decide(client, csrf, lb.id, "delete") == 400
    assert await _decide(client, csrf, 999999, "approve") == 404
    store = client.app[keys.STORE]
    await store.set_state(
        lb.id,
        LinkbackState.FAILED,
        actor="verifier",
        reason="no link",
        now=client.app[keys.CLOCK].now(),
    )
    response = await client.post(
        f"/admin/linkbacks/{lb.id}", data={"csrf": csrf, "action": "approve"}
    )
    assert response.status == 409
    assert "cannot go from failed to approved" in await response.text()
    response = await client.post(  # never verified: nothing to restore
        f"/admin/linkbacks/{lb.id}", data={"csrf": csrf, "action": "restore"}
    )
    assert response.status == 409


async def test_next_never_leaves_the_admin_page(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    for i, target in enumerate(
        (
            "https://evil.example/",
            "//evil.example/",
            "/admin/\\evil",
            "/admin/x\r\nSet-Cookie: a=b",
            "/notice",
        )
    ):
        lb = await held_linkback(client, source_url=f"http://n{i}.example.org/")
        response = await client.post(
            f"/admin/linkbacks/{lb.id}",
            data={"csrf": csrf, "action": "reject", "next": target},
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.headers["Location"] == "/admin/"


async def test_remote_text_is_escaped(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    evil = "<script>alert('x')</script>"
    await held_linkback(
        client,
        source_url="javascript:alert(1)//http://x/",
        title=evil,
        excerpt=f"<img src=x onerror=alert(1)> {evil}",
        protocol=LinkbackProtocol.TRACKBACK,
    )
    for path in ("/admin/", "/admin/linkbacks"):
        response = await client.get(path)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
        assert "<script>" not in page
        assert "<img" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert 'href="javascript:' not in page


async def test_linkback_filters(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    await held_linkback(client, source_url="http://pb.example.org/")
    await held_linkback(
        client, source_url="http://tb.example.org/", protocol=LinkbackProtocol.TRACKBACK
    )
    tb = await (await client.get("/admin/linkbacks?protocol=trackback")).text()
    assert "tb.example.org" in tb
    assert "pb.example.org" not in tb
    by_host = await (await client.get("/admin/linkbacks?host=pb.example.org")).text()
    assert "pb.example.org" in by_host
    assert "tb.example.org" not in by_host
    assert (await client.get("/admin/linkbacks?state=bogus")).status == 400
    assert (await client.get("/admin/linkbacks?protocol=bogus")).status == 400


async def test_a_deleted_linkback_is_restored_from_its_page_and_the_decision_recorded(
    admin_app: AdminApp,
) -> None:
    client = await admin_app()
    csrf = await login(client)
    store, clock = client.app[keys.STORE], client.app[keys.CLOCK]
    lb = await held_linkback(client)
    await store.set_state(lb.id, LinkbackState.APPROVED, actor="rule", reason="", now=clock.now())
    await store.set_state(
        lb.id, LinkbackState.DELETED, actor="verifier", reason="fetcher: 410", now=clock.now()
    )
    page = await (await client.get(f"/admin/linkbacks/{lb.id}")).text()
    assert 'value="restore"' in page
    assert await _decide(client, csrf, lb.id, "restore", "historiken ska stå kvar") == 303
    restored = await store.get_linkback(lb.id)
    assert restored is not None
    assert restored.state == LinkbackState.APPROVED
    last = (await store.decisions(lb.id))[-1]
    assert (last.old_state, last.new_state, last.actor, last.reason) == (
        LinkbackState.DELETED,
        LinkbackState.APPROVED,
        USER,
        "historiken ska stå kvar",
    )
    feed = await (await client.get(f"{lb.target_url.split('.se', 1)[1]}feed/")).text()
    assert lb.source_url in feed
