"""A moderator in headless Chromium goes from an unmapped hit to the suggestion for that post,
accepts it, and the old URL is then served as a 301 to the suggested page."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import __version__, keys
from linkbridge.retire.workbench import refresh_suggestions, suggest_fetch_settings
from linkbridge.verify import SafeFetcher
from tests.support import AFTER, SEED_PATH, Client
from tests.support.admin import USER, browser_login
from tests.support.verify import LoopbackResolver

pytestmark = pytest.mark.browser

AdminApp = Callable[..., Awaitable[Client]]
SourceServer = Callable[[web.Application], Awaitable[TestServer]]
NEW_PATH = "/pressmeddelanden/2013/10/innovationsupphandling-tar-fart/"


def successor_app() -> web.Application:
    """"www.regeringen.se" on loopback: a gzipped sitemap and the post's successor page."""

    async def sitemap(request: web.Request) -> web.Response:
        body = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
                f"http://{request.host}{NEW_PATH}</loc><lastmod>2013-10-03</lastmod></url>"
                "</urlset>").encode()
        return web.Response(body=gzip.compress(body), content_type="application/gzip")

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><head><title>Innovationsupphandling på frammarsch - Regeringen.se"
                 "</title></head><body><p>Seminariet Innovationer på beställning.</p></body>"
                 "</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/sitemap.xml.gz", sitemap)
    app.router.add_get(NEW_PATH, page)
    return app


async def test_from_unmapped_hit_to_accepted_suggestion_to_301(
    admin_app: AdminApp, source_server: SourceServer, chromium: Any
) -> None:
    successor = await source_server(successor_app())
    client = await admin_app(at=AFTER, ports=(successor.port,))
    app, store = client.app, client.app[keys.STORE]
    # readers follow the old post after the instant: a prefix rule answers, an unmapped hit
    assert (await client.get(SEED_PATH, allow_redirects=False)).status == 301
    await store.add_hits(app[keys.HITS].drain())
    settings = app[keys.SETTINGS]
    fetcher = SafeFetcher(suggest_fetch_settings(settings),
                          public_base_url=settings.site.public_base_url, version=__version__,
                          resolver=LoopbackResolver("regeringen.se"))
    try:
        report = await refresh_suggestions(
            settings, store, fetcher, app[keys.CLOCK].now(),
            sitemaps=[f"http://www.regeringen.se:{successor.port}/sitemap.xml.gz"])
    finally:
        await fetcher.close()
    assert report.suggested == 1
    target = f"http://www.regeringen.se:{successor.port}{NEW_PATH}"
    base = str(client.make_url("/")).rstrip("/")

    page = await chromium.new_page()
    await browser_login(page, base)
    await page.goto(base + "/admin/hits")
    assert SEED_PATH.rstrip("/") in await page.content()
    await page.click("nav a[href='/admin/suggestions']")
    await page.wait_for_url(base + "/admin/suggestions")
    card = page.locator("article", has_text="Innovationsupphandling på frammarsch")
    assert await card.locator("input[name=target]").input_value() == target
    await card.locator("input[name=target]").press("Enter")  # Enter decides nothing
    assert await store.list_mappings() == []
    await card.locator("button[value=accept]").click()
    await page.wait_for_url(base + "/admin/suggestions")
    assert "Innovationsupphandling på frammarsch" not in await page.content()

    (mapping,) = await store.list_mappings()
    assert mapping.target == target
    change = (await store.history(subject="mapping", limit=1))[0]
    assert (change.actor, change.reason) == (USER, "accepted suggestion")
    answer = await client.get(SEED_PATH, allow_redirects=False)
    assert answer.status == 301
    assert answer.headers["Location"] == target
