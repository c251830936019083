"""Every public page in a real Chromium, at desktop width and on a 375 px phone: axe-core finds
0 violations and nothing scrolls sideways; an override template from site.templates_dir wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState, SourceDetails
from tests.support import (
    AFTER,
    BEFORE,
    AppFactory,
    Client,
    manual_clock,
)
from tests.support.serve import free_port

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 740)}
LONG_CONTACT = (
    "Frågor: skriv till kommunikationsenheten.naringsdepartementet.langt.namn"
    "@regeringskansliet-exempel.se"
)
GONE_PATH = "/innovation/en-sida-som-tagits-bort/"
EXTRA = (
    f'[site]\norigin_url = "http://127.0.0.1:{free_port()}/"\n'  # nobody listens: 502 page
    'hosts = ["naringsbloggen.se", "https://www.naringsbloggen.se", "127.0.0.1"]\n'
    f'[notice]\ncontact = "{LONG_CONTACT}"\n'
    f'[[retire.mappings]]\nfrom = "{GONE_PATH}"\nto = "gone"\n'
)


async def _webmention(client: Client, photo: str) -> str:
    """An approved webmention with its author, stored as the intake stores one; its URL."""
    app = client.app
    post = app[keys.LIVE].snapshot.registry.resolve(
        "http://www.naringsbloggen.se/innovation/innovationsstrategi/"
        "innovationsupphandling-pa-frammarsch/"
    ).post
    assert post is not None
    source = "https://karinberg.example/2017/12/innovationsupphandling/"
    draft = LinkbackDraft(
        blog=post.blog, post_id=post.post_id, source_url=source,
        source_canonical=app[keys.LIVE].canonicaliser.canonical(source),
        source_host="karinberg.example", protocol=LinkbackProtocol.WEBMENTION,
        target_url=post.permalink, public_id="status-page-test-id",
    )
    store, now = app[keys.STORE], app[keys.CLOCK].now()
    recorded = await store.record_linkback(draft, now, resend_is_duplicate=True)
    details = SourceDetails(
        title="Upphandling som driver innovation", author_name="Karin Berg",
        author_url="https://karinberg.example/", author_photo=photo,
        mention_type="mention",
    )
    await store.set_state(recorded.linkback.id, LinkbackState.APPROVED, actor="verifier",
                          reason="links to the target", now=now, details=details)
    return "/webmention/status-page-test-id"


async def _check(browser: Any, url: str, name: str, *, status: int) -> None:
    from axe_playwright_python.async_playwright import Axe

    for label, (width, height) in VIEWPORTS.items():
        context = await browser.new_context(viewport={"width": width, "height": height})
        try:
            page = await context.new_page()
            response = await page.goto(url)
            assert response is not None
            assert response.status == status, (name, label)
            sheet = await page.evaluate("document.styleSheets.length")
            assert sheet == 1, f"{name}: the stylesheet did not load"
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {label}: {overflow} px wider than the screen"
            results = await Axe().run(page)
            assert results.violations_count == 0, f"{name} at {label}:\n{results.generate_report()}"
        finally:
            await context.close()


async def test_every_public_page_is_accessible_and_fits_a_phone(
    lb_app: AppFactory, chromium: Any
) -> None:
    client = await lb_app(at=BEFORE, extra=EXTRA)
    base = str(client.make_url("/")).rstrip("/")
    photo = base + "/karin-berg.jpg"  # this server: no network in tests
    status_url = await _webmention(client, photo)
    await _check(chromium, base + "/notice", "notice before the instant", status=200)
    await _check(chromium, base + status_url, "webmention status", status=200)
    await _check(chromium, base + "/innovation/nagon-sida/", "proxy error", status=502)

    manual_clock(client.app).set(AFTER)
    await _check(chromium, base + "/notice", "notice after the instant", status=200)
    await _check(chromium, base + GONE_PATH, "410 page", status=410)

    page = await chromium.new_page()
    await page.goto(base + "/notice")
    text = await page.inner_text("main")
    assert "Näringsbloggen har upphört" in text  # [notice] sv_after: past tense
    assert "has closed" in text
    await page.goto(base + status_url)
    status = await page.inner_text("main")
    assert "godkänd och visas" in status  # a readable state, in the blog's language
    assert "approved and shown" in await page.inner_text('section[lang="en"]')
    assert "Karin Berg" in status
    assert "{'name'" not in status
    author = page.locator(".author a")
    assert await author.get_attribute("href") == "https://karinberg.example/"
    assert await page.locator(".author img").get_attribute("src") == photo
    await page.close()


async def test_an_override_template_from_templates_dir_is_used(
    lb_app: AppFactory, chromium: Any, tmp_path: Path
) -> None:
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "base.html").write_text(
        (Path(__file__).parents[2] / "src/linkbridge/pages/templates/base.html")
        .read_text(encoding="utf-8")
        .replace('<p class="site-name">{{ site }}</p>',
                 '<p class="site-name" id="brand">Departementet · {{ site }}</p>'),
        encoding="utf-8",
    )
    (brand / "pages.css").write_text(
        "body { background: rgb(250, 240, 230); } #brand { font-weight: 700; }\n",
        encoding="utf-8",
    )
    client = await lb_app(
        at=AFTER, extra=f'[site]\ntemplates_dir = "{brand}"\n'
        f'[[retire.mappings]]\nfrom = "{GONE_PATH}"\nto = "gone"\n'
    )
    base = str(client.make_url("/")).rstrip("/")
    page = await chromium.new_page(viewport={"width": 375, "height": 740})
    response = await page.goto(base + GONE_PATH)
    assert response is not None
    assert response.status == 410
    assert await page.inner_text("#brand") == "Departementet · Näringsbloggen"
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(250, 240, 230)"
    assert "sidan finns inte längre" in await page.inner_text("h1")  # the shipped gone.html
    await page.close()
