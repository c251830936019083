"""A real headless Chromium follows a retired post URL to its successor and reads the 410 page."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from linkbridge import keys
from tests.support import AFTER, CHROMIUM_ARGS, SEED_PATH, AppFactory, require_chromium


def overlay(successor_port: int) -> str:
    """The seed post mapped to the loopback stand-in; one old URL left unresolved."""
    return (
        "[retire]\nallowed_target_hosts = "
        '["regeringen.se", "x.com", "twitter.com", "web.archive.org", "127.0.0.1"]\n'
        "[[retire.mappings]]\n"
        f'from = "{SEED_PATH}"\nto = "http://127.0.0.1:{successor_port}/successor"\n'
        '[[retire.mappings]]\nfrom = "/innovation/olost-inlagg/"\nto = ""\n'
    )


@pytest.mark.browser
async def test_chromium_follows_the_retired_post_and_reads_the_410_page(
    lb_app: AppFactory, successor: TestServer, tmp_path: Path
) -> None:
    executable = require_chromium()
    from playwright.async_api import async_playwright

    assert successor.port is not None
    client = await lb_app(at=AFTER, extra=overlay(successor.port))
    old_post = str(client.make_url(SEED_PATH))
    unresolved = str(client.make_url("/innovation/olost-inlagg/"))
    screenshot = tmp_path / "gone-page.png"

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            landed = await page.goto(old_post)
            assert landed is not None
            assert landed.status == 200
            assert page.url == f"http://127.0.0.1:{successor.port}/successor"
            redirected_from = landed.request.redirected_from
            assert redirected_from is not None
            first = await redirected_from.response()
            assert first is not None
            assert first.status == 301
            assert redirected_from.url == old_post
            assert await page.inner_text("h1") == "Klimat- och näringslivsdepartementet"

            gone = await page.goto(unresolved)
            assert gone is not None
            assert gone.status == 410
            assert await page.get_attribute("html", "lang") == "sv"
            assert "sidan finns inte längre" in await page.inner_text("h1")
            english = page.locator('section[lang="en"]')
            assert "this page is gone" in await english.locator("h2").inner_text()
            assert "Näringsbloggen has closed" in await english.inner_text()  # after: past tense
            links = await page.eval_on_selector_all("a", "els => els.map(e => e.href)")
            assert "https://www.regeringen.se/sveriges-regering/naringsdepartementet/" in links
            assert "https://x.com/naringsdep" in links
            await page.screenshot(path=str(screenshot), full_page=True)
        finally:
            await browser.close()

    assert screenshot.exists()
    assert screenshot.stat().st_size > 0
    hits = {(h.path, h.status) for h in client.app[keys.HITS].drain().paths}
    assert (SEED_PATH.rstrip("/"), 301) in hits
    assert ("/innovation/olost-inlagg", 410) in hits
