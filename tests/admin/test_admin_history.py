"""One moderation service behind both doors: the CLI and the admin page record the same."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from linkbridge import keys
from linkbridge.model import Change
from tests.support import Client
from tests.support.admin import USER, held_linkback, login
from tests.support.serve import config_args, run_cli, store_overlay

AdminApp = Callable[..., Awaitable[Client]]


def _shape(c: Change, *, ids: dict[str, str]) -> tuple[object, ...]:
    """A change without its instant, with door-specific ids and keys named by role."""
    key, reason = ids.get(c.key, c.key), c.reason
    for raw, role in ids.items():
        reason = reason.replace(raw, role)
    return (c.subject, key, c.action, c.before, c.after, c.actor, reason)


async def _cli(tmp_path: Path, *args: str) -> str:
    done = await asyncio.to_thread(
        run_cli, *args[:2], *config_args(store_overlay(tmp_path)), *args[2:]
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_cli_and_admin_record_the_same_decisions(admin_app: AdminApp, tmp_path: Path) -> None:
    client = await admin_app()
    csrf = await login(client)
    service = client.app[keys.MODERATION]
    web_lb = await held_linkback(client, source_url="http://a.spamsajt.se/x/")
    cli_lb = await held_linkback(client, source_url="http://b.skrapsajt.se/x/")

    response = await client.post(
        f"/admin/linkbacks/{web_lb.id}",
        data={"csrf": csrf, "action": "spam_domain", "reason": "kasinolänkar"},
        allow_redirects=False,
    )
    assert response.status == 303
    out = await _cli(tmp_path, "moderate", "spam", "--by", USER, "--reason", "kasinolänkar",
                     "--block", "domain", str(cli_lb.id))
    assert out.splitlines() == [f"{cli_lb.id}: spam", "blocked skrapsajt.se"]

    history = await service.history()
    web_ids = {str(web_lb.id): "ID", "block:spamsajt.se": "HOST", f"#{web_lb.id}": "#ID"}
    cli_ids = {str(cli_lb.id): "ID", "block:skrapsajt.se": "HOST", f"#{cli_lb.id}": "#ID"}
    by_web = [_shape(c, ids=web_ids) for c in history
              if c.key in (str(web_lb.id), "block:spamsajt.se")]
    by_cli = [_shape(c, ids=cli_ids) for c in history
              if c.key in (str(cli_lb.id), "block:skrapsajt.se")]
    assert by_web == by_cli
    assert ("linkback", "ID", "spam", "held", "spam", USER, "kasinolänkar") in by_web
    assert ("host", "HOST", "block", None, "block", USER, "spam #ID: kasinolänkar") in by_web


async def test_cli_and_admin_record_the_same_redirect_changes(
    admin_app: AdminApp, tmp_path: Path
) -> None:
    client = await admin_app()
    csrf = await login(client)
    response = await client.post(
        "/admin/redirects",
        data={"csrf": csrf, "source": "/innovation/om/", "target": "web", "reason": "flyttad"},
        allow_redirects=False,
    )
    assert response.status == 303
    await _cli(tmp_path, "redirects", "map", "--by", USER, "--reason", "flyttad",
               "/innovation/kontakt/", "web")
    service = client.app[keys.MODERATION]
    web = [_shape(c, ids={"/innovation/om": "PATH"})
           for c in await service.history("/innovation/om/")]
    cli = [_shape(c, ids={"/innovation/kontakt": "PATH"})
           for c in await service.history("/innovation/kontakt/")]
    assert web == cli == [("mapping", "PATH", "map", None, "web", USER, "flyttad")]

    out = await _cli(tmp_path, "redirects", "history", "/innovation/kontakt/")
    assert f"{USER:<12} map     /innovation/kontakt: (none) -> web  (flyttad)" in out
    page = await (await client.get("/admin/history?path=/innovation/om/")).text()
    assert "/innovation/om" in page
    assert "flyttad" in page
    assert "/innovation/kontakt" not in page


async def test_bulk_action_and_block_validation_on_the_page(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    store = client.app[keys.STORE]
    a = await held_linkback(client, source_url="http://a.example.org/x/")
    b = await held_linkback(client, source_url="http://b.example.org/x/")
    response = await client.post(
        "/admin/linkbacks/bulk",
        data=[("csrf", csrf), ("action", "approve"), ("id", str(a.id)), ("id", str(b.id)),
              ("reason", "")],
        allow_redirects=False,
    )
    assert response.status == 303
    assert {(await store.get_linkback(i)).state.value for i in (a.id, b.id)} == {"approved"}

    response = await client.post(
        "/admin/hosts",
        data={"csrf": csrf, "form": "host", "host": "not a host!", "reason": "skräp från dem"},
    )
    assert response.status == 400
    assert await store.list_hosts("block") == []
    page = await response.text()
    # the error once, in red, inside the form that failed, with what was typed kept
    assert page.count("is not a host name") == 1
    assert 'class="message"' not in page
    start = page.index('action="/admin/hosts"')
    form = page[start:page.index("</form>", start)]
    assert 'class="error" role="alert"' in form
    assert 'value="not a host!"' in form
    assert 'value="skräp från dem"' in form


async def test_a_bulk_action_takes_at_most_one_page_of_linkbacks(admin_app: AdminApp) -> None:
    client = await admin_app(extra="[admin]\npage_items = 2\n")
    csrf = await login(client)
    ids = [(await held_linkback(client, source_url=f"http://{n}.example.org/x/")).id
           for n in "abc"]

    async def bulk(chosen: list[int]) -> int:
        response = await client.post(
            "/admin/linkbacks/bulk",
            data=[("csrf", csrf), ("action", "reject"), *(("id", str(i)) for i in chosen)],
            allow_redirects=False,
        )
        return response.status

    assert await bulk(ids) == 400  # three: more than a page
    assert await bulk(ids[:2]) == 303  # two: exactly a page
    states = [(await client.app[keys.STORE].get_linkback(i)).state.value for i in ids]
    assert states == ["rejected", "rejected", "held"]
