"""A moderator in a real headless Chromium: log in, approve, see the feed, map a hit, log out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.model import LinkbackState
from tests.support import AFTER, BEFORE, CHROMIUM_ARGS, Client, manual_clock, require_chromium
from tests.support.admin import (
    FEED_PATH,
    USER,
    browser_login,
    linking_page,
    pingback_body,
    source_app,
)

pytestmark = pytest.mark.browser

AdminApp = Callable[..., Awaitable[Client]]
SourceServer = Callable[[web.Application], Awaitable[TestServer]]
TITLE = "Upphandling som driver innovation"
OLD_PATH = "/innovation/en-sida-som-ingen-mappat"
ADMIN_PAGES = [
    "/admin/",
    "/admin/linkbacks",
    "/admin/hosts",
    "/admin/redirects",
    "/admin/hits",
    "/admin/successors",
    "/admin/explain",
    "/admin/webhooks",
]


async def test_moderator_in_a_real_browser(
    admin_app: AdminApp, source_server: SourceServer, tmp_path: Path
) -> None:
    chromium = require_chromium()
    before, after = BEFORE, AFTER
    from playwright.async_api import async_playwright

    source = await source_server(source_app({"/inlagg/": (200, linking_page(TITLE))}))
    client = await admin_app(at=before, ports=(source.port,))
    app, store = client.app, client.app[keys.STORE]
    # a real pingback from a first-time host: verified inline, then held
    await client.post(
        "/xmlrpc.php",
        data=pingback_body(f"http://127.0.0.1:{source.port}/inlagg/"),
        headers={"Content-Type": "text/xml"},
    )
    [held] = await store.list_linkbacks(states=[LinkbackState.HELD])
    # a reader asks for an old URL after the instant: an unmapped hit
    manual_clock(app).set(after)
    assert (await client.get(OLD_PATH + "/", allow_redirects=False)).status == 301
    await store.add_hits(app[keys.HITS].drain())
    manual_clock(app).set(before)
    base = str(client.make_url("/")).rstrip("/")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            await page.goto(base + "/admin/")  # no session: sent to the login form
            assert page.url == base + "/admin/login"
            await browser_login(page, base)
            card = page.locator(f"#lb-{held.id}")
            assert TITLE in await card.inner_text()
            shot = tmp_path / "queue.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 0

            await card.locator("input[name=reason]").fill("a real blog")
            await card.locator("button[value=approve]").click()
            await page.wait_for_load_state()
            assert "Kön är tom." in await page.content()
            feed = await page.request.get(base + FEED_PATH)
            assert feed.ok
            assert TITLE in await feed.text()

            await page.goto(base + "/admin/hits")
            hit = page.locator("article", has_text=OLD_PATH)
            await hit.locator("input[name=target]").fill("social")
            await hit.locator("button[type=submit]").click()
            await page.wait_for_load_state()
            assert OLD_PATH not in await page.content()

            await page.click("#logout")
            await page.wait_for_url(base + "/admin/login")
            for path in ADMIN_PAGES:
                await page.goto(base + path)
                assert page.url == base + "/admin/login", path
            refused = await page.request.post(
                base + f"/admin/linkbacks/{held.id}", form={"action": "spam"}, max_redirects=0
            )
            assert refused.status == 303
        finally:
            await browser.close()

    approved = await store.get_linkback(held.id)
    assert approved is not None
    assert approved.state == LinkbackState.APPROVED
    decision = (await store.decisions(held.id))[-1]
    assert (decision.actor, decision.reason) == (USER, "a real blog")
    assert [(m.source, m.target) for m in await store.list_mappings()] == [(OLD_PATH, "social")]
