"""Webmention through the real app: the W3C receiver rules, the status resource, mf2."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackProtocol, LinkbackState
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import AFTER, SEED_POST, Client, manual_clock
from tests.support.linkbacks import (
    BASE,
    CLOSED_PAGE_PATH,
    SourceSite,
    comment_feed,
    h_entry_page,
    linking_page,
    only_row,
    public_id_of,
    run_jobs,
    unlinked_page,
)

JSON = {"Accept": "application/json"}


async def send(
    client: Client, source: str, target: str = SEED_POST, **headers: str
) -> tuple[int, str | None, str]:
    """POST /webmention; (status, Location or None, body)."""
    resp = await client.post(
        "/webmention", data={"source": source, "target": target}, headers=headers
    )
    return resp.status, resp.headers.get("Location"), await resp.text()


async def status_of(client: Client, location: str) -> dict[str, object]:
    """The status resource as JSON, fetched by the path of its absolute Location."""
    resp = await client.get(location.removeprefix(BASE.rstrip("/")), headers=JSON)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert "Location" not in resp.headers
    doc: dict[str, object] = await resp.json()
    return doc


async def test_accepted_201_with_location_then_queued_until_the_job_runs(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/2017/12/svar/", linking_page())
    status, location, _ = await send(
        client, url, Host="evil.example:666", **{"X-Forwarded-Host": "evil.example"}
    )
    assert status == 201
    assert location is not None
    public_id = public_id_of(location)  # public base URL + /webmention/<id>, never the Host
    assert len(public_id) >= 16
    assert source.requests == []  # the handler never fetches
    row = await only_row(client, url)
    assert (row.protocol, row.state, row.public_id) == (
        LinkbackProtocol.WEBMENTION,
        LinkbackState.UNVERIFIED,
        public_id,
    )
    doc = await status_of(client, location)
    assert (doc["status"], doc["source"], doc["target"]) == ("queued", url, SEED_POST)

    html = await client.get(
        location.removeprefix(BASE.rstrip("/")), headers={"Accept": "text/html"}
    )
    assert (html.status, html.content_type) == (200, "text/html")
    assert "queued" in await html.text()

    assert await run_jobs(client) == 1
    assert source.requests == ["/2017/12/svar/"]
    assert (await status_of(client, location))["status"] == "verified-held"
    assert url not in await comment_feed(client)
    await client.app[keys.STORE].set_state(
        row.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="ok",
        now=client.app[keys.CLOCK].now(),
    )
    assert (await status_of(client, location))["status"] == "approved"
    assert url in await comment_feed(client)


async def test_every_accepted_mention_gets_its_own_random_id(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    ids = set()
    for n in range(5):
        status, location, _ = await send(client, source.url(f"/{n}/"))
        assert status == 201
        assert location is not None
        ids.add(public_id_of(location))
    assert len(ids) == 5


async def test_failed_shows_its_reason_and_spam_shows_as_rejected(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    no_link = source.serve("/no-link/", unlinked_page())
    spammy = source.serve("/spammy/", linking_page())
    _, failed_at, _ = await send(client, no_link)
    _, spam_at, _ = await send(client, spammy)
    assert failed_at is not None
    assert spam_at is not None
    await run_jobs(client)
    doc = await status_of(client, failed_at)
    assert doc["status"] == "failed"
    assert "no link" in str(doc["reason"])
    row = await only_row(client, spammy)
    await client.app[keys.STORE].set_state(
        row.id,
        LinkbackState.SPAM,
        actor="moderator",
        reason="spam",
        now=client.app[keys.CLOCK].now(),
    )
    doc = await status_of(client, spam_at)
    assert doc["status"] == "rejected"  # never "spam"


async def test_unknown_status_id_is_404(linkbridge: LinkbridgeFactory) -> None:
    client = await linkbridge()
    resp = await client.get("/webmention/nonexistent-id-0000", headers=JSON)
    assert resp.status == 404
    assert "Location" not in resp.headers


async def test_fragment_on_the_target_is_ignored(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/frag/", linking_page())
    status, location, _ = await send(client, url, SEED_POST + "#comments")
    assert status == 201
    assert location is not None
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.HELD
    assert (row.blog, row.post_id) == ("/innovation/", 2187)


BAD_REQUESTS = [
    ("missing source", {"target": SEED_POST}, "source"),
    ("missing target", {"source": "http://127.0.0.1:9/x"}, "target"),
    ("empty source", {"source": "", "target": SEED_POST}, "source"),
    ("source not http(s)", {"source": "ftp://example.org/x", "target": SEED_POST}, "http"),
    ("source javascript", {"source": "javascript:alert(1)", "target": SEED_POST}, "http"),
    (
        "target not http(s)",
        {"source": "http://example.org/x", "target": "mailto:a@naringsbloggen.se"},
        "http",
    ),
    ("source == target", {"source": SEED_POST, "target": SEED_POST}, "same"),
    ("source == target#frag", {"source": SEED_POST, "target": SEED_POST + "#x"}, "same"),
    (
        "target on a foreign host",
        {"source": "http://example.org/x", "target": "http://example.org/innovation/post/"},
        "target",
    ),
    (
        "target our home page",
        {"source": "http://example.org/x", "target": BASE + "innovation/"},
        "target",
    ),
    (
        "target no such post",
        {
            "source": "http://example.org/x",
            "target": BASE + "innovation/innovationsstrategi/finns-inte/",
        },
        "target",
    ),
    (
        "target with closed pings",
        {"source": "http://example.org/x", "target": BASE + CLOSED_PAGE_PATH.lstrip("/")},
        "closed",
    ),
]


@pytest.mark.parametrize(
    ("case", "fields", "needle"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
async def test_synchronous_checks_answer_400_without_location(
    linkbridge: LinkbridgeFactory,
    source: SourceSite,
    case: str,
    fields: dict[str, str],
    needle: str,
) -> None:
    client = await linkbridge()
    resp = await client.post("/webmention", data=fields)
    assert resp.status == 400, case
    assert "Location" not in resp.headers
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert needle in text.lower(), text
    assert len(text) < 200

    resp = await client.post("/webmention", data=fields, headers=JSON)
    assert (resp.status, resp.content_type) == (400, "application/json")
    assert "Location" not in resp.headers
    doc = await resp.json()
    assert set(doc) == {"error", "message"}
    assert doc["error"]
    assert await client.app[keys.STORE].list_linkbacks(states=[LinkbackState.UNVERIFIED]) == []
    assert source.requests == []


async def test_not_form_encoded_is_400(linkbridge: LinkbridgeFactory) -> None:
    client = await linkbridge()
    resp = await client.post(
        "/webmention", json={"source": "http://example.org/x", "target": SEED_POST}
    )
    assert resp.status == 400
    assert "Location" not in resp.headers


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_get_405_with_allow_post(
    linkbridge: LinkbridgeFactory, method: str
) -> None:
    client = await linkbridge()
    resp = await client.request(method, "/webmention")
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    assert "Location" not in resp.headers


async def test_after_the_shutdown_instant_410_names_the_successor(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(at=AFTER)
    status, location, text = await send(client, source.serve("/x/", linking_page()))
    assert (status, location) == (410, None)
    assert "https://www.regeringen.se/" in text
    assert source.requests == []


async def test_status_resource_reads_the_same_after_the_instant(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra='[moderation]\nallow_hosts = ["127.0.0.1"]\n')
    _, location, _ = await send(client, source.serve("/x/", linking_page()))
    assert location is not None
    await run_jobs(client)
    manual_clock(client.app).set(AFTER)
    assert (await status_of(client, location))["status"] == "approved"


# ---------------------------------------------------------------- microformats2


@pytest.mark.parametrize(
    ("css", "mention_type"),
    [
        ("u-in-reply-to", "in-reply-to"),
        ("u-like-of", "like-of"),
        ("u-repost-of", "repost-of"),
        ("u-bookmark-of", "bookmark-of"),
        ("", "mention"),
    ],
)
async def test_mf2_h_entry_fields_are_stored(
    linkbridge: LinkbridgeFactory, source: SourceSite, css: str, mention_type: str
) -> None:
    client = await linkbridge(extra='[moderation]\nallow_hosts = ["127.0.0.1"]\n')
    url = source.serve("/2013/10/svar/", h_entry_page(SEED_POST, response=css))
    _, location, _ = await send(client, url)
    assert location is not None
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.APPROVED
    assert row.mention_type == mention_type
    assert row.author_name == "Karin Berg"
    assert row.author_url == "https://karin.example/"
    assert row.author_photo == "https://karin.example/karin.jpg"
    assert row.published_at == datetime(2013, 10, 9, 6, 30, tzinfo=UTC)
    assert row.content.startswith("Tack för ett bra inlägg om innovationsupphandling.")
    assert "<strong>" not in row.content
    assert row.title.startswith("Svar till Näringsministern")
    doc = await status_of(client, location)
    assert doc["type"] == mention_type
    assert doc["author"] == {
        "name": "Karin Berg",
        "url": "https://karin.example/",
        "photo": "https://karin.example/karin.jpg",
    }
    assert doc["published"] == "2013-10-09T06:30:00+00:00"
    assert "Karin Berg" in await comment_feed(client)


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/json", "application/json"),
        ("application/json, text/html;q=0.5", "application/json"),
        ("text/html;q=0.5, application/json", "application/json"),
        ("application/json;q=0.5, text/html", "text/html"),
        ("text/html, application/json", "text/html"),
        ("*/*", "text/html"),
        ("", "text/html"),
    ],
)
async def test_status_resource_follows_accept(
    linkbridge: LinkbridgeFactory, source: SourceSite, accept: str, content_type: str
) -> None:
    client = await linkbridge()
    _, location, _ = await send(client, source.url("/x/"))
    assert location is not None
    resp = await client.get(location.removeprefix(BASE.rstrip("/")), headers={"Accept": accept})
    assert (resp.status, resp.content_type) == (200, content_type)
    assert resp.headers["Cache-Control"] == "no-store"


async def test_body_size_at_its_edge(linkbridge: LinkbridgeFactory, source: SourceSite) -> None:
    client = await linkbridge(extra="[webmention]\nmax_body_bytes = 200\n")
    head = f"target={SEED_POST}&source={source.url('/')}".encode()
    body = head + b"a" * (200 - len(head))
    resp = await client.post(
        "/webmention", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 201
    resp = await client.post(
        "/webmention",
        data=body + b"a",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 413
    assert "Location" not in resp.headers
