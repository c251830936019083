"""The hits page's pictures: requests per day, sub-blog shares and the top unmapped paths'
sparklines, each an inline SVG with its numbers in a table beside it; in Chromium too."""

# mypy: disable-error-code="attr-defined, arg-type"
# (lxml-stubs: parsed HTML is typed _Element and attributes str | None; the assertions check them)

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import lxml.html
import pytest

from linkbridge import keys
from linkbridge.model import Hit, HitBatch, RuleKind
from linkbridge.store import Store
from tests.support import AFTER, Client
from tests.support.admin import browser_login, login

AdminApp = Callable[..., Awaitable[Client]]
D1, D2, D3 = "2018-02-26", "2018-02-28", "2018-03-01"
P, E, U = RuleKind.PREFIX, RuleKind.EXACT, RuleKind.UNRESOLVED


async def flush_days(store: Store) -> None:
    """Hits over three days: unmapped (prefix, unresolved), mapped (exact) and gone (410)."""
    await store.add_hits(HitBatch.of([
        Hit(D1, "/innovation/ofta", 301, P, 6), Hit(D2, "/innovation/ofta", 301, P, 2),
        Hit(D3, "/innovation/ofta", 301, P, 9), Hit(D3, "/transport/saknas", 404, U, 3),
        Hit(D2, "/innovation/om", 301, E, 4), Hit(D3, "/innovation/borta", 410, E, 5),
        Hit(D3, "/annat", 301, RuleKind.DEFAULT, 1),
    ]))


def table(page: lxml.html.HtmlElement, ident: str) -> dict[str, list[str]]:
    return {tr[0].text_content(): [td.text_content() for td in tr[1:]]
            for tr in page.get_element_by_id(ident).iterfind("tbody/tr")}


async def test_day_totals_shares_and_sparklines_with_tables(admin_app: AdminApp) -> None:
    # /annat was counted under the default rule; a regex rule answers it now: mapped, no spark
    regex = "[[retire.mappings]]\nfrom = '^/annat$'\nto = \"gone\"\n"
    client = await admin_app(at=AFTER, extra="[site]\nlanguage = \"en\"\n" + regex)
    await login(client)
    await flush_days(client.app[keys.STORE])
    response = await client.get("/admin/hits")
    assert "script-src" not in response.headers["Content-Security-Policy"]  # none allowed
    page = lxml.html.fromstring(await response.text())
    days = table(page, "hits-daily-table")
    assert len(days) == 30  # 2018-01-31 (the instant, in UTC) to 2018-03-01
    assert days[D3] == ["18", "5", "13", "5"]  # all, mapped, unmapped, gone
    assert days[D2] == ["6", "4", "2", "0"]
    assert days["2018-02-27"] == ["0", "0", "0", "0"]
    assert len(page.xpath("//figure[@id='hits-daily-chart']/svg//rect")) == 9
    shares = table(page, "hits-shares-table")
    assert shares["/innovation/"] == ["26", "87 %"]
    assert shares["/transport/"] == ["3", "10 %"]
    assert shares["elsewhere on the site"] == ["1", "3 %"]
    assert shares["no path kept"] == ["0", "0 %"]
    top = page.get_element_by_id("hits-top-table").iterfind("tbody/tr")
    rows = [(tr[0].text_content(), tr[2].text_content(), tr[1].find("svg")) for tr in top]
    assert [(path, total) for path, total, _ in rows] == [
        ("/innovation/ofta", "17"), ("/transport/saknas", "3")]
    spark = rows[0][2]
    assert spark.findtext("title") == "Hits per day of /innovation/ofta"
    assert len(spark.find("polyline").get("points").split()) == 30
    # the list of paths to map asks the same question as the sparklines: /annat is mapped
    listed = [h.text_content() for h in page.xpath("//article/h2")]
    assert listed == ["/innovation/ofta", "/transport/saknas"]


async def test_chart_limits_at_their_edge(admin_app: AdminApp) -> None:
    client = await admin_app(at=AFTER, extra="[admin]\nhits_chart_days = 2\nhits_chart_paths = 1\n")
    await login(client)
    await flush_days(client.app[keys.STORE])
    page = lxml.html.fromstring(await (await client.get("/admin/hits")).text())
    assert list(table(page, "hits-daily-table")) == [D3, "2018-02-28"]
    assert len(page.get_element_by_id("hits-top-table").findall("tbody/tr")) == 1
    assert len(page.xpath("//article")) == 3  # every unmapped path still has its form


@pytest.mark.browser
async def test_hits_page_pictures_in_chromium(admin_app: AdminApp, chromium: Any) -> None:
    from axe_playwright_python.async_playwright import Axe

    client = await admin_app(at=AFTER)
    await flush_days(client.app[keys.STORE])
    base = str(client.make_url("/")).rstrip("/")
    page = await chromium.new_page()
    await browser_login(page, base)
    await page.goto(base + "/admin/hits")
    for ident in ("hits-daily-chart", "hits-shares-chart"):
        svg = page.locator(f"#{ident} svg")
        box = await svg.bounding_box()
        assert box is not None, ident
        assert (box["width"] > 200, box["height"] > 50) == (True, True), ident
    bars = page.locator("#hits-daily-chart svg rect")
    assert await bars.count() == 9
    assert await page.locator("#hits-top-table svg polyline").count() == 3
    name = await page.locator("#hits-daily-chart svg").evaluate(
        "svg => svg.getAttribute('aria-labelledby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' | ')")
    assert name.startswith("Förfrågningar per dag | 30 dagar")
    row = page.locator("#hits-daily-table tbody tr", has_text=D3)
    assert await row.locator("td").all_inner_texts() == ["18", "5", "13", "5"]
    assert await page.locator("#hits-shares-table").is_visible()
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    await page.set_viewport_size({"width": 375, "height": 740})  # a phone
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than a phone's screen"
