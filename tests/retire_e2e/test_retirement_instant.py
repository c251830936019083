"""Both sides of the shutdown instant through the real app, switched over with no restart."""

from __future__ import annotations

import socket

from aiohttp.test_utils import TestServer

from tests.support import SEED_PATH, AppFactory, manual_clock
from tests.support.retire import INSTANT, ONE_SECOND, WEB, retired_headers

SUNSET = "Wed, 31 Jan 2018 23:00:00 GMT"
NOTICE_LINK = '<http://www.naringsbloggen.se/notice>; rel="sunset"'
WEBMENTION_LINK = '<http://www.naringsbloggen.se/webmention>; rel="webmention"'
PINGBACK = "http://www.naringsbloggen.se/xmlrpc.php"


def origin_overlay(origin: TestServer) -> str:
    return f'[site]\norigin_url = "http://127.0.0.1:{origin.port}/"\n'


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_one_second_before_is_proxied_with_sunset_and_discovery_headers(
    lb_app: AppFactory, origin: TestServer
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    resp = await client.get(SEED_PATH + "?utm_source=x", headers=retired_headers())
    assert resp.status == 200
    assert "<h1>Innovationsupphandling på frammarsch</h1>" in await resp.text()
    assert resp.headers["X-Origin-Path"] == SEED_PATH + "?utm_source=x"
    assert resp.headers["X-Origin-Method"] == "GET"
    assert resp.headers["Sunset"] == SUNSET
    assert resp.headers["X-Pingback"] == PINGBACK
    links = resp.headers.getall("Link")
    assert NOTICE_LINK in links
    assert WEBMENTION_LINK in links
    assert '<http://www.naringsbloggen.se/?p=1>; rel="shortlink"' in links  # the origin's kept
    assert "Location" not in resp.headers


async def test_switch_over_at_the_instant_without_a_restart(
    lb_app: AppFactory, origin: TestServer
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    clock = manual_clock(client.app)
    before = await client.get(SEED_PATH, headers=retired_headers(), allow_redirects=False)
    assert before.status == 200
    assert before.headers["Sunset"] == SUNSET

    for at in (INSTANT, INSTANT + ONE_SECOND, INSTANT.replace(year=2030)):
        clock.set(at)
        resp = await client.get(SEED_PATH, headers=retired_headers(), allow_redirects=False)
        assert resp.status == 301, at
        assert resp.headers["Location"] == WEB
        assert "Sunset" not in resp.headers
        assert "X-Origin-Path" not in resp.headers


async def test_post_is_proxied_before_and_refused_after(
    lb_app: AppFactory, origin: TestServer
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    before = await client.post(SEED_PATH, data=b"comment=hej", headers=retired_headers())
    assert before.status == 200
    assert before.headers["X-Origin-Method"] == "POST"
    assert before.headers["X-Origin-Body"] == str(len(b"comment=hej"))

    manual_clock(client.app).set(INSTANT)
    after = await client.post(SEED_PATH, data=b"comment=hej", allow_redirects=False)
    assert after.status == 405
    assert after.headers["Allow"] == "GET, HEAD"
    assert "Location" not in after.headers


SITE_HOST = {"Host": "www.naringsbloggen.se"}
"""The proxy passes on only site.hosts; a reader's browser sends this one."""


async def test_without_origin_before_is_404_and_after_is_retired(lb_app: AppFactory) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND)
    resp = await client.get(SEED_PATH, allow_redirects=False)
    assert resp.status == 404
    assert "Location" not in resp.headers
    manual_clock(client.app).set(INSTANT)
    resp = await client.get(SEED_PATH, allow_redirects=False)
    assert resp.status == 301
    assert resp.headers["Location"] == WEB


async def test_origin_down_gives_a_clear_502_page_with_sunset(lb_app: AppFactory) -> None:
    overlay = f'[site]\norigin_url = "http://127.0.0.1:{closed_port()}/"\n'
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=overlay)
    resp = await client.get(SEED_PATH, headers=SITE_HOST)
    assert resp.status == 502
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert "Bloggen svarar inte just nu" in text
    assert "The blog is not answering right now" in text
    assert resp.headers["Sunset"] == SUNSET


async def test_robots_and_sitemap_are_proxied_before_the_instant(
    lb_app: AppFactory, origin: TestServer
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    robots = await client.get("/robots.txt", headers=SITE_HOST)
    assert robots.status == 200
    assert "# origin" in await robots.text()
    assert robots.headers["Sunset"] == SUNSET
    sitemap = await client.get("/sitemap.xml", headers=SITE_HOST)
    assert sitemap.status == 200
    assert "<!-- origin -->" in await sitemap.text()


async def test_robots_and_sitemap_without_origin_are_404_before_the_instant(
    lb_app: AppFactory,
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND)
    assert (await client.get("/robots.txt")).status == 404
    assert (await client.get("/sitemap.xml")).status == 404
    manual_clock(client.app).set(INSTANT)
    assert (await client.get("/robots.txt")).status == 200
    assert (await client.get("/sitemap.xml")).status == 200


async def test_reserved_paths_are_never_proxied(lb_app: AppFactory, origin: TestServer) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    for path in ("/notice", "/notice.json", "/healthz"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert "X-Origin-Path" not in resp.headers, path


async def test_proxy_appends_the_peer_to_a_trusted_proxys_forwarded_for(
    lb_app: AppFactory, origin: TestServer
) -> None:
    """Regression: the chain was '203.0.113.9, 203.0.113.9' (the resolved client, not the peer)."""
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    resp = await client.get(SEED_PATH, headers={"X-Forwarded-For": "203.0.113.9", **SITE_HOST})
    assert resp.status == 200
    assert resp.headers["X-Origin-Forwarded-For"] == "203.0.113.9, 127.0.0.1"


async def test_the_proxy_passes_on_only_the_sites_hosts(
    lb_app: AppFactory, origin: TestServer
) -> None:
    client = await lb_app(at=INSTANT - ONE_SECOND, extra=origin_overlay(origin))
    for host in ("www.naringsbloggen.se", "naringsbloggen.se", "NARINGSBLOGGEN.SE:443"):
        assert (await client.get(SEED_PATH, headers={"Host": host})).status == 200, host
    resp = await client.get(SEED_PATH, headers={"Host": "evil.example"})
    assert resp.status == 421
    assert resp.headers["Sunset"] == SUNSET
    assert "X-Origin-Path" not in resp.headers
    # linkbridge's own paths answer whatever the Host
    assert (await client.get("/healthz", headers={"Host": "evil.example"})).status == 200
