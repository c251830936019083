"""TrackBack through the real app: ping URLs, answers, verification on the job queue, feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote_from_bytes, urlencode

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackProtocol, LinkbackState
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import AFTER, SEED_ID, SEED_PATH, SEED_POST, Client, manual_clock
from tests.support.linkbacks import (
    CLOSED_PAGE_ID,
    CLOSED_PAGE_PATH,
    FORM,
    TRACKBACK_OK,
    TRACKBACK_PATH,
    WP_TRACKBACK_PATH,
    XML_DECLARATION,
    SourceSite,
    comment_feed,
    linking_page,
    only_row,
    run_jobs,
    trackback_answer,
    unlinked_page,
)

PING_URLS = [
    TRACKBACK_PATH,
    WP_TRACKBACK_PATH,
    f"/innovation/wp-trackback.php/{SEED_ID}",  # path info
    f"/innovation/?p={SEED_ID}&tb=1",  # the sub-blog's ?p=ID with tb=1
    SEED_PATH + "?tb=1",  # any URL of the post with tb=1
]
"""Every TrackBack URL WordPress 6.1 answers for the seed post."""


async def ping(
    client: Client, path: str, fields: dict[str, str] | bytes, content_type: str = FORM
) -> tuple[int, str]:
    """POST a trackback; checks the answer's framing and returns (error, message)."""
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    resp = await client.post(path, data=body, headers={"Content-Type": content_type})
    raw = await resp.read()
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    assert resp.charset == "utf-8"
    assert raw.startswith(XML_DECLARATION)
    return trackback_answer(raw)


@pytest.mark.parametrize("path", PING_URLS)
async def test_ping_is_stored_unverified_then_held_then_shown_once_approved(
    linkbridge: LinkbridgeFactory, source: SourceSite, path: str
) -> None:
    client = await linkbridge()
    url = source.serve("/2017/12/omvarldsspaning/", linking_page())
    resp = await client.post(
        path,
        data={
            "url": url,
            "title": "Omvärldsspaning, december",
            "excerpt": "Innovationsupphandling …",
            "blog_name": "Logistikfokus",
        },
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert await resp.read() == TRACKBACK_OK  # byte 0 is "<?xml"
    row = await only_row(client, url)
    assert (row.protocol, row.state) == (LinkbackProtocol.TRACKBACK, LinkbackState.UNVERIFIED)
    assert (row.blog, row.post_id) == ("/innovation/", SEED_ID)
    assert (row.title, row.blog_name) == ("Omvärldsspaning, december", "Logistikfokus")
    assert source.requests == []  # the handler never fetches
    assert url not in await comment_feed(client)

    assert await run_jobs(client) == 1
    assert source.requests == ["/2017/12/omvarldsspaning/"]
    row = await only_row(client, url)
    assert row.state == LinkbackState.HELD  # 127.0.0.1 was never approved before
    assert row.title == "Omvärldsspaning, december"  # the sender's title stays
    assert url not in await comment_feed(client)

    store = client.app[keys.STORE]
    await store.set_state(
        row.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="looks fine",
        now=client.app[keys.CLOCK].now(),
    )
    feed = await comment_feed(client)
    assert url in feed
    assert "Omvärldsspaning, december" in feed


async def test_source_without_the_link_fails_and_is_never_shown(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra='[moderation]\nallow_hosts = ["127.0.0.1"]\n')
    url = source.serve("/spam/", unlinked_page())
    assert await ping(client, TRACKBACK_PATH, {"url": url}) == (0, "")
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.FAILED
    assert "no link" in row.reason
    assert url not in await comment_feed(client)


@pytest.mark.parametrize(
    ("allow", "state"), [("", LinkbackState.HELD), ('"127.0.0.1"', LinkbackState.APPROVED)]
)
async def test_verify_false_decides_at_once_without_a_fetch(
    linkbridge: LinkbridgeFactory, source: SourceSite, allow: str, state: LinkbackState
) -> None:
    client = await linkbridge(
        extra=f"[trackback]\nverify = false\n[moderation]\nallow_hosts = [{allow}]\n"
    )
    url = source.serve("/no-link-at-all/", unlinked_page())
    assert await ping(client, WP_TRACKBACK_PATH, {"url": url}) == (0, "")
    assert (await only_row(client, url)).state == state
    assert await run_jobs(client) == 0
    assert source.requests == []
    assert (url in await comment_feed(client)) == (state == LinkbackState.APPROVED)


async def test_a_get_of_a_ping_url_answers_as_wordpress_before_and_after_the_instant(
    linkbridge: LinkbridgeFactory,
) -> None:
    client = await linkbridge()
    for path in PING_URLS:
        for method in ("GET", "HEAD"):  # before: wp-trackback.php's redirect to the post
            resp = await client.request(method, path, allow_redirects=False)
            assert (resp.status, resp.headers["Location"]) == (302, SEED_POST), (method, path)
        for method in ("PUT", "DELETE", "OPTIONS"):
            resp = await client.request(method, path)
            assert resp.status == 405, (method, path)
            assert resp.headers["Allow"] == "POST, GET, HEAD"
    manual_clock(client.app).set(AFTER)
    hits = client.app[keys.HITS]
    hits.drain()
    post = await client.get(SEED_PATH, allow_redirects=False)  # the post's own outcome
    assert post.status == 301
    for path in PING_URLS:  # after: the post's retirement outcome, counted as a hit
        resp = await client.get(path, allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (301, post.headers["Location"]), path
    batch = hits.drain()
    assert sum(day.hits for day in batch.days) == 1 + len(PING_URLS)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/innovation/wp-trackback.php?p=999999", "ID"),
        ("/innovation/wp-trackback.php?p=abc", "ID"),
        ("/innovation/wp-trackback.php", "ID"),
        (f"/transport/wp-trackback.php?p={SEED_ID}", "ID"),  # the id lives under /innovation/
        ("/innovation/innovationsstrategi/finns-inte/trackback/", "ID"),
        (CLOSED_PAGE_PATH + "trackback/", "closed"),
        (f"/innovation/wp-trackback.php?p={CLOSED_PAGE_ID}", "closed"),
    ],
)
async def test_unknown_posts_and_closed_pings_are_refused(
    linkbridge: LinkbridgeFactory, source: SourceSite, path: str, needle: str
) -> None:
    client = await linkbridge()
    url = source.serve("/post/", linking_page())
    error, message = await ping(client, path, {"url": url})
    assert error == 1
    assert needle in message
    assert await client.app[keys.STORE].list_linkbacks(states=[LinkbackState.UNVERIFIED]) == []


async def test_missing_url_is_refused(linkbridge: LinkbridgeFactory) -> None:
    client = await linkbridge()
    for fields in ({"title": "Ingen adress"}, {"url": "  "}):
        error, message = await ping(client, TRACKBACK_PATH, fields)
        assert error == 1
        assert "url" in message


async def test_a_verified_duplicate_is_refused_but_pending_and_failed_rows_are_not(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/post/", unlinked_page())
    assert await ping(client, TRACKBACK_PATH, {"url": url}) == (0, "")
    assert await ping(client, TRACKBACK_PATH, {"url": url}) == (0, "")  # pending: reused
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.FAILED
    source.serve("/post/", linking_page())  # the author adds the link: a genuine re-ping
    assert await ping(client, WP_TRACKBACK_PATH, {"url": url}) == (0, "")
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.HELD
    error, message = await ping(client, TRACKBACK_PATH, {"url": url})
    assert error == 1
    assert "already" in message
    assert (await only_row(client, url)).state == LinkbackState.HELD


async def test_rate_limit_at_its_edge(linkbridge: LinkbridgeFactory, source: SourceSite) -> None:
    client = await linkbridge(extra="[trackback]\nrate_per_min = 3\n")
    for n in range(3):
        assert await ping(client, TRACKBACK_PATH, {"url": source.url(f"/{n}/")}) == (0, "")
    error, message = await ping(client, TRACKBACK_PATH, {"url": source.url("/3/")})
    assert error == 1
    assert "Too many" in message
    assert len(await client.app[keys.STORE].list_linkbacks(states=[LinkbackState.UNVERIFIED])) == 3


async def test_blocked_host_is_refused_before_any_fetch(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra='[moderation]\nblock_hosts = ["spam.example"]\n')
    for url in ("http://spam.example/casino/", "http://www.spam.example/x"):
        error, message = await ping(client, TRACKBACK_PATH, {"url": url})
        assert error == 1
        assert "not accepted" in message
    assert await run_jobs(client) == 0


async def test_after_the_shutdown_instant_names_the_successor(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(at=AFTER)
    url = source.serve("/post/", linking_page())
    for path in PING_URLS:
        error, message = await ping(client, path, {"url": url})
        assert error == 1
        assert "closed" in message
        assert "https://www.regeringen.se/" in message
    assert source.requests == []
    assert await run_jobs(client) == 0


async def test_body_size_at_its_edge(linkbridge: LinkbridgeFactory, source: SourceSite) -> None:
    client = await linkbridge(extra="[trackback]\nmax_body_bytes = 200\n")
    head = f"url={source.url('/post/')}&excerpt=".encode()
    assert await ping(client, TRACKBACK_PATH, head + b"a" * (200 - len(head))) == (0, "")
    error, message = await ping(client, TRACKBACK_PATH, head + b"a" * (201 - len(head)))
    assert error == 1
    assert "large" in message


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", ""]
)
async def test_bodies_that_are_not_form_encoded_are_refused(
    linkbridge: LinkbridgeFactory, source: SourceSite, content_type: str
) -> None:
    client = await linkbridge()
    body = f"url={source.url('/post/')}".encode()
    error, message = await ping(client, TRACKBACK_PATH, body, content_type)
    assert error == 1
    assert "x-www-form-urlencoded" in message


@pytest.mark.parametrize(
    ("content_type", "extra_field"),
    [(FORM + "; charset=utf-7", ""), (FORM + "; charset=UTF-7", ""), (FORM, "&charset=utf-7")],
)
async def test_utf7_is_refused(
    linkbridge: LinkbridgeFactory, source: SourceSite, content_type: str, extra_field: str
) -> None:
    client = await linkbridge()
    body = f"url={source.url('/post/')}&title=%2BAGQ-script%2BAD4-{extra_field}".encode()
    error, message = await ping(client, TRACKBACK_PATH, body, content_type)
    assert error == 1
    assert "UTF-7" in message


# ---------------------------------------------------------------- text


TITLE = "Näringsministern om innovationsupphandling: Lööf på seminariet"
BLOG_NAME = "Karins logg om offentlig upphandling i Västerås"
EXCERPT = (
    "Över 200 innovationsintresserade från kommuner, landsting och myndigheter "
    "samlades för att lära sig mer om innovationsupphandling och förkommersiell "
    "upphandling; ministern pekade på Elvägar och på ett samlat upphandlingsstöd."
)


def _encoded(text: str, codec: str) -> str:
    return quote_from_bytes(text.encode(codec))


@pytest.mark.parametrize(
    ("case", "content_type", "codec", "field"),
    [
        ("content-type parameter", FORM + "; charset=iso-8859-1", "latin-1", ""),
        ("quoted parameter", FORM + '; charset="ISO-8859-1"', "latin-1", ""),
        ("charset form field", FORM, "latin-1", "&charset=iso-8859-1"),
        ("undeclared utf-8", FORM, "utf-8", ""),
        ("undeclared latin-1, detected", FORM, "latin-1", ""),
    ],
)
async def test_each_charset_path_stores_the_same_text(
    linkbridge: LinkbridgeFactory,
    source: SourceSite,
    case: str,
    content_type: str,
    codec: str,
    field: str,
) -> None:
    client = await linkbridge()
    url = source.url("/2013/10/svar/")
    body = (
        f"url={url}&title={_encoded(TITLE, codec)}&excerpt={_encoded(EXCERPT, codec)}"
        f"&blog_name={_encoded(BLOG_NAME, codec)}{field}"
    ).encode()
    assert await ping(client, TRACKBACK_PATH, body, content_type) == (0, ""), case
    row = await only_row(client, url)
    assert (row.title, row.excerpt, row.blog_name) == (TITLE, EXCERPT, BLOG_NAME), case


@pytest.mark.parametrize(("size", "stored"), [(250, 250), (251, 250)])
async def test_title_is_cut_to_250_characters(
    linkbridge: LinkbridgeFactory, source: SourceSite, size: int, stored: int
) -> None:
    client = await linkbridge(extra='[moderation]\nallow_hosts = ["127.0.0.1"]\n')
    url = source.serve("/post/", linking_page())
    title = "Å" * size
    assert await ping(client, TRACKBACK_PATH, {"url": url, "title": title}) == (0, "")
    row = await only_row(client, url)
    assert len(row.title) == stored
    assert row.title == (title if size <= 250 else "Å" * 249 + "…")
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.APPROVED
    assert len(row.title) == stored  # verification does not replace what the sender sent


@pytest.mark.parametrize("size", [252, 253])
async def test_excerpt_is_cut_to_252_characters(
    linkbridge: LinkbridgeFactory, source: SourceSite, size: int
) -> None:
    client = await linkbridge()
    url = source.serve("/post/", linking_page())
    excerpt = "ö" * size
    assert await ping(client, WP_TRACKBACK_PATH, {"url": url, "excerpt": excerpt}) == (0, "")
    row = await only_row(client, url)
    assert row.excerpt == (excerpt if size <= 252 else "ö" * 251 + "…")
    await run_jobs(client)
    assert (await only_row(client, url)).excerpt == row.excerpt


async def test_markup_in_fields_is_stored_as_plain_text(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/post/", linking_page())
    fields = {
        "url": url,
        "title": "<b>Fet</b> &amp; <script>alert(1)</script>rubrik",
        "excerpt": "<p>Ett <a href='x'>utdrag</a></p>",
    }
    assert await ping(client, TRACKBACK_PATH, fields) == (0, "")
    row = await only_row(client, url)
    assert (row.title, row.excerpt) == ("Fet & rubrik", "Ett utdrag")


@pytest.mark.parametrize("label", ["%00", "no-such-charset", "rot13", "utf-8%00", "x" * 50])
async def test_unusable_charset_labels_are_refused_not_crashed(
    linkbridge: LinkbridgeFactory, source: SourceSite, label: str
) -> None:
    client = await linkbridge()
    body = f"url={source.url('/post/')}&title=Hej&charset={label}".encode()
    error, message = await ping(client, TRACKBACK_PATH, body)
    assert error == 1
    assert "charset" in message


async def test_a_chunked_body_past_the_cap_is_refused(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra="[trackback]\nmax_body_bytes = 200\n")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap counts bytes read
        yield f"url={source.url('/post/')}&excerpt=".encode()
        for _ in range(100):
            yield b"a" * 10

    resp = await client.post(TRACKBACK_PATH, data=chunks(), headers={"Content-Type": FORM})
    error, message = trackback_answer(await resp.read())
    assert error == 1
    assert "large" in message
