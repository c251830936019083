"""After the instant: linkback endpoints refuse, feeds never turn into HTML, crawlers get a map."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Awaitable, Callable
from xml.etree import ElementTree as ET

import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from tests.support import AFTER, SEED_PATH, SEED_POST, AppFactory, manual_clock, page_linking_to
from tests.support.retire import (
    HTML_TYPES,
    INSTANT,
    ONE_SECOND,
    SUCCESSOR_FEED,
    WEB,
    retired_headers,
)

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

SOURCE = "http://127.0.0.1:9/omvarldsspaning-oktober-2013/"
SEED_TARGET = "https://www.regeringen.se/innovation/"
SEED_MAPPING = f'[[retire.mappings]]\nfrom = "{SEED_PATH}"\nto = "{SEED_TARGET}"\n'
FAREWELL_TITLE = "Näringsbloggen har stängt / Näringsbloggen has closed"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

KNOWN_FEEDS = [
    "/feed/",
    "/feed/atom/",
    "/?feed=rss2",
    "/comments/feed/",
    "/innovation/feed/",
    "/innovation/feed/rdf/",
    "/innovation/category/innovationsstrategi/feed/",
    "/innovation/author/annieloof/feed/",
    SEED_PATH + "feed/",
    "/innovation/?p=2187&feed=rss2",
    "/wp-rss2.php",
]
UNKNOWN_FEEDS = [
    "/innovation/2013/10/feed/",
    "/innovation/tag/upphandling/feed/",
    "/feed/bogus/",
    "/innovation/?feed=bogus",
    "/innovation/inget-sadant-inlagg/feed/",
    "/okand-blogg/feed/",
    "/innovation/category/finns-inte/feed/",
]


def linking_page_app() -> web.Application:
    """A linkback source whose page links to the seed post."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    return app


def not_html(content_type: str) -> bool:
    return content_type not in HTML_TYPES


# ------------------------------------------------------------------ linkback endpoints


@pytest.mark.parametrize("path", ["/xmlrpc.php", "/xmlrpc", "/innovation/xmlrpc.php"])
async def test_pingback_after_the_instant_is_fault_33_naming_the_successor(
    lb_app: AppFactory, path: str
) -> None:
    client = await lb_app(at=AFTER, extra=SEED_MAPPING)
    body = xmlrpc.client.dumps((SOURCE, SEED_POST), "pingback.ping")
    resp = await client.post(
        path, data=body, headers={"Content-Type": "text/xml"}, allow_redirects=False
    )
    assert resp.status == 200
    assert "Location" not in resp.headers
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(await resp.read())
    assert fault.value.faultCode == 33
    assert SEED_TARGET in fault.value.faultString


async def test_pingback_is_accepted_one_second_before_and_refused_at_the_instant(
    lb_app: AppFactory, source_server: ServerFactory
) -> None:
    source = await source_server(linking_page_app())
    assert source.port is not None
    source_url = f"http://127.0.0.1:{source.port}/omvarldsspaning-oktober-2013/"
    client = await lb_app(at=INSTANT - ONE_SECOND, ports=(source.port,))
    body = xmlrpc.client.dumps((source_url, SEED_POST), "pingback.ping")
    resp = await client.post("/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"})
    (answer,), _ = xmlrpc.client.loads(await resp.read())
    assert isinstance(answer, str)

    manual_clock(client.app).set(INSTANT)
    other = xmlrpc.client.dumps((source_url + "?2", SEED_POST), "pingback.ping")
    resp = await client.post("/xmlrpc.php", data=other, headers={"Content-Type": "text/xml"})
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(await resp.read())
    assert fault.value.faultCode == 33


@pytest.mark.parametrize(
    ("path", "successor"),
    [(SEED_PATH + "trackback/", SEED_TARGET), ("/innovation/wp-trackback.php?p=2187", SEED_TARGET),
     ("/innovation/wp-trackback.php/2187", SEED_TARGET), ("/innovation/?p=2187&tb=1", SEED_TARGET)],
)
async def test_trackback_after_the_instant_is_error_1_with_a_message(
    lb_app: AppFactory, path: str, successor: str
) -> None:
    client = await lb_app(at=AFTER, extra=SEED_MAPPING)
    resp = await client.post(
        path,
        data={"url": SOURCE, "title": "Omvärldsspaning", "blog_name": "Logistikfokus"},
        allow_redirects=False,
    )
    assert resp.status == 200
    assert "Location" not in resp.headers
    root = ET.fromstring(await resp.read())
    assert root.findtext("error") == "1"
    message = root.findtext("message") or ""
    assert "closed" in message
    assert successor in message


async def test_webmention_after_the_instant_is_410_with_a_reason(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER, extra=SEED_MAPPING)
    form = {"source": SOURCE, "target": SEED_POST}
    resp = await client.post("/webmention", data=form, allow_redirects=False)
    assert resp.status == 410
    assert "Location" not in resp.headers
    assert SEED_TARGET in await resp.text()
    as_json = await client.post(
        "/webmention", data=form, allow_redirects=False, headers={"Accept": "application/json"}
    )
    assert as_json.status == 410
    payload = await as_json.json()
    assert payload["error"] == "after_shutdown"
    assert SEED_TARGET in payload["message"]


async def test_no_linkback_is_stored_after_the_instant(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    store = client.app[keys.STORE]
    before = await store.list_linkbacks(limit=1000)
    await client.post("/webmention", data={"source": SOURCE, "target": SEED_POST})
    await client.post(SEED_PATH + "trackback/", data={"url": SOURCE})
    await client.post("/xmlrpc.php", data=xmlrpc.client.dumps((SOURCE, SEED_POST), "pingback.ping"))
    assert len(await store.list_linkbacks(limit=1000)) == len(before)


# ------------------------------------------------------------------ feeds


@pytest.mark.parametrize("path", KNOWN_FEEDS)
async def test_farewell_feeds_after_the_instant(lb_app: AppFactory, path: str) -> None:
    client = await lb_app(at=AFTER)
    resp = await client.get(path, headers=retired_headers(), allow_redirects=False)
    assert resp.status == 200, path
    assert not_html(resp.content_type)
    parsed = feedparser.parse(await resp.read())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    first = parsed.entries[0]
    assert first.title == FAREWELL_TITLE
    assert first.link == WEB


@pytest.mark.parametrize("path", UNKNOWN_FEEDS)
async def test_unknown_feed_paths_get_the_nearest_feeds_farewell(
    lb_app: AppFactory, path: str
) -> None:
    client = await lb_app(at=AFTER)
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 200, path
    assert not_html(resp.content_type)
    parsed = feedparser.parse(await resp.read())
    assert parsed.bozo == 0
    assert parsed.entries[0].title == FAREWELL_TITLE


@pytest.mark.parametrize("path", [*KNOWN_FEEDS, *UNKNOWN_FEEDS])
async def test_redirect_mode_sends_every_feed_to_the_successor_feed(
    lb_app: AppFactory, path: str
) -> None:
    client = await lb_app(at=AFTER, extra='[retire]\nfeeds_after_shutdown = "redirect"\n')
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 301
    assert resp.headers["Location"] == SUCCESSOR_FEED


@pytest.mark.parametrize("path", [*KNOWN_FEEDS, *UNKNOWN_FEEDS])
async def test_gone_mode_answers_410_not_html(lb_app: AppFactory, path: str) -> None:
    client = await lb_app(at=AFTER, extra='[retire]\nfeeds_after_shutdown = "gone"\n')
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 410
    assert not_html(resp.content_type)
    assert "Location" not in resp.headers
    head = await client.head(path, allow_redirects=False)
    assert head.status == 410


async def test_feed_methods_other_than_read_are_405(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    resp = await client.post("/feed/", data=b"x", allow_redirects=False)
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"


async def test_conditional_get_still_works_after_the_instant(lb_app: AppFactory) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND)
    before = await client.get("/innovation/feed/")
    assert before.status == 200
    etag_before = before.headers["ETag"]
    manual_clock(client.app).set(INSTANT)
    after = await client.get("/innovation/feed/")
    assert after.status == 200
    etag = after.headers["ETag"]
    assert etag != etag_before  # the farewell item changed the document
    assert FAREWELL_TITLE in await after.text()
    again = await client.get("/innovation/feed/", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    since = after.headers.get("Last-Modified")
    if since:
        modified = await client.get("/innovation/feed/", headers={"If-Modified-Since": since})
        assert modified.status == 304
    stale = await client.get("/innovation/feed/", headers={"If-None-Match": etag_before})
    assert stale.status == 200


# ------------------------------------------------------------------ escaping


async def test_script_in_notice_text_is_escaped_everywhere(lb_app: AppFactory) -> None:
    extra = (
        '[notice]\nsv_after = "<script>alert(1)</script>"\nen_after = "<script>alert(2)</script>"\n'
        'contact = "<img src=x onerror=alert(3)>"\n'
        '[[retire.mappings]]\nfrom = "/innovation/trasig/"\nto = ""\n'
    )
    client = await lb_app(at=AFTER, extra=extra)
    page = await (await client.get("/innovation/trasig/")).text()
    fragment = await (await client.get("/notice")).text()
    feed = await (await client.get("/feed/")).text()
    for body in (page, fragment, feed):
        assert "<script>" not in body
        assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(3)&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    notice = await (await client.get("/notice.json")).json()
    assert notice["sv"] == "<script>alert(1)</script>"  # JSON carries the text as text
    parsed = feedparser.parse(feed.encode())
    assert parsed.bozo == 0
    assert "<script>" not in parsed.entries[0].get("summary", "")


# ------------------------------------------------------------------ crawlers


async def test_robots_after_the_instant_blocks_nothing_and_names_the_sitemap(
    lb_app: AppFactory,
) -> None:
    client = await lb_app(at=AFTER)
    resp = await client.get("/robots.txt", headers=retired_headers("evil.example"))
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    lines = (await resp.text()).splitlines()
    assert "User-agent: *" in lines
    assert "Disallow:" in lines
    assert not any(line.startswith("Disallow:") and line != "Disallow:" for line in lines)
    assert "Sitemap: http://www.naringsbloggen.se/sitemap.xml" in lines


async def test_sitemap_after_the_instant_lists_the_old_urls(lb_app: AppFactory) -> None:
    client = await lb_app(at=AFTER)
    resp = await client.get("/sitemap.xml", headers=retired_headers("evil.example"))
    assert resp.status == 200
    assert resp.content_type == "application/xml"
    root = ET.fromstring(await resp.read())
    assert root.tag == f"{SITEMAP_NS}urlset"
    locs = [el.text or "" for el in root.iter(f"{SITEMAP_NS}loc")]
    assert locs
    assert len(locs) == len(set(locs)) <= 50_000
    assert all(loc.startswith("http://www.naringsbloggen.se/") for loc in locs)
    assert SEED_POST in locs
    assert "http://www.naringsbloggen.se/innovation/om/" in locs or any(
        loc.rstrip("/").endswith("/innovation/om") for loc in locs
    )
    assert (await client.get("/sitemap-1.xml")).status == 404
    assert (await client.post("/sitemap.xml")).status == 405
