"""The queue's forms in a real Chromium: Enter in a reason field decides nothing, a bulk action
decides every ticked linkback, a refused form keeps its input, and the history page shows it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackState
from tests.support import Client
from tests.support.admin import USER, browser_login, held_linkback

pytestmark = pytest.mark.browser
AdminApp = Callable[..., Awaitable[Client]]


async def test_queue_forms_in_a_real_browser(admin_app: AdminApp, chromium: Any) -> None:
    client = await admin_app()
    store = client.app[keys.STORE]
    a = await held_linkback(client, source_url="http://a.example.org/x/")
    b = await held_linkback(client, source_url="http://b.example.org/x/")
    c = await held_linkback(client, source_url="http://c.example.org/x/")
    base = str(client.make_url("/")).rstrip("/")
    page = await chromium.new_page(viewport={"width": 375, "height": 740})
    await browser_login(page, base)
    assert await page.get_attribute("html", "lang") == "sv"  # site.language

    # Enter in a card's reason field: no decision (the form's first button is disabled)
    card = page.locator(f"#lb-{a.id}")
    await card.locator("input[name=reason]").fill("ser bra ut")
    await card.locator("input[name=reason]").press("Enter")
    await page.wait_for_timeout(300)  # a submission would have navigated by now
    assert (await store.get_linkback(a.id)).state is LinkbackState.HELD
    # nor in the bulk form's reason field
    await page.select_option("#bulk select[name=action]", "spam")
    await page.locator(f"#lb-{a.id} input[name=id]").check()
    await page.locator("#bulk input[name=reason]").press("Enter")
    await page.wait_for_timeout(300)
    assert (await store.get_linkback(a.id)).state is LinkbackState.HELD

    # a bulk action: approve two at once, with one reason
    await page.select_option("#bulk select[name=action]", "approve")
    await page.locator(f"#lb-{b.id} input[name=id]").check()
    await page.fill("#bulk input[name=reason]", "kända bloggar")
    await page.click("#bulk-apply")
    await page.wait_for_url(base + "/admin/")
    for lb in (a, b):
        stored = await store.get_linkback(lb.id)
        assert (stored.state, stored.reason) == (LinkbackState.APPROVED, "kända bloggar")
    assert (await store.get_linkback(c.id)).state is LinkbackState.HELD
    assert await page.locator(f"#lb-{c.id}").count() == 1
    assert await page.locator(f"#lb-{a.id}").count() == 0

    # a refused form: the error once, in that form, and what was typed is still there
    await page.goto(base + "/admin/hosts")
    await page.fill("form[action='/admin/hosts'] input[name=host]", "inte en värd!")
    await page.fill("form[action='/admin/hosts'] input[name=reason]", "skräp")
    await page.click("form[action='/admin/hosts'] button[type=submit]")
    await page.wait_for_load_state()
    errors = page.locator(".error")
    assert await errors.count() == 1
    assert await page.locator("form[action='/admin/hosts'] .error").count() == 1
    assert await page.input_value("form[action='/admin/hosts'] input[name=host]") == "inte en värd!"
    assert await page.input_value("form[action='/admin/hosts'] input[name=reason]") == "skräp"
    assert await page.locator(".message").count() == 0

    # the history page shows the bulk decisions: who, before, after, why
    await page.goto(base + "/admin/history?subject=linkback")
    rows = await page.locator("#history tbody tr").all_inner_texts()
    for lb in (a, b):
        [row] = [r for r in rows if f"#{lb.id}" in r and "kända bloggar" in r]
        assert USER in row
        assert "väntar" in row  # before: held
        assert "godkänd" in row  # after: approved
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await page.close()
