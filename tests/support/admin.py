"""Helpers the admin tests share: turning the page on, logging in, making held linkbacks."""

from __future__ import annotations

import asyncio
import re
import xmlrpc.client
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from linkbridge import keys
from linkbridge.model import Linkback, LinkbackDraft, LinkbackProtocol, LinkbackState
from linkbridge.passwords import hash_password
from tests.support import SEED_PATH, SEED_POST, Client

USER = "moderator"
PASSWORD = "correct horse battery staple"
FEED_PATH = SEED_PATH + "feed/"

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


async def enable_admin(client: Client, user: str = USER, password: str = PASSWORD) -> None:
    """Set a password, as `linkbridge admin set-password` does, and let the app see it."""
    await client.app[keys.STORE].set_admin_password(user, hash_password(password))
    await client.app[keys.LIVE].refresh()


async def login(client: Client, user: str = USER, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token."""
    page = await client.get("/admin/login")
    assert page.status == 200
    response = await client.post(
        "/admin/login",
        data={"username": user, "password": password, "csrf": csrf_of(await page.text())},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/admin/"
    queue = await client.get("/admin/")
    assert queue.status == 200
    return csrf_of(await queue.text())


async def browser_login(page: Any, base: str, user: str = USER,
                        password: str = PASSWORD) -> None:
    """Sign in through the real login form in a browser page; back on the queue after."""
    if not page.url.startswith(base + "/admin/login"):
        await page.goto(base + "/admin/login")
    await page.fill("input[name=username]", user)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/admin/")


async def held_linkback(
    client: Client,
    *,
    source_url: str = "http://blog.example.org/2017/12/innovation/",
    title: str = "Ett inlägg om innovationsupphandling",
    excerpt: str = "Vi läste om innovationsupphandling hos Näringsdepartementet.",
    protocol: LinkbackProtocol = LinkbackProtocol.PINGBACK,
) -> Linkback:
    """A verified, held linkback to the seed post, stored the way the intake stores one."""
    app = client.app
    live = app[keys.LIVE]
    post = live.snapshot.registry.resolve(SEED_POST).post
    assert post is not None
    now = app[keys.CLOCK].now()
    draft = LinkbackDraft(
        blog=post.blog,
        post_id=post.post_id,
        source_url=source_url,
        source_canonical=live.canonicaliser.canonical(source_url),
        source_host=source_url.split("/")[2],
        protocol=protocol,
        target_url=post.permalink,
        title=title,
        excerpt=excerpt,
    )
    recorded = await app[keys.STORE].record_linkback(draft, now, resend_is_duplicate=True)
    return await app[keys.STORE].set_state(
        recorded.linkback.id, LinkbackState.HELD, actor="rule", reason="verified", now=now
    )


async def wait_for(check: Callable[[], Awaitable[Any]], what: str, *, rounds: int = 400) -> Any:
    """Poll `check` until it returns something truthy (the background worker is at work)."""
    for _ in range(rounds):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


def linking_page(title: str, target: str = SEED_POST) -> str:
    """A source page whose body links to `target`."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1><p>Läs <a href='{target}'>Innovationsupphandling på "
        "frammarsch</a> hos Näringsdepartementet.</p></article></body></html>"
    )


def source_app(pages: dict[str, tuple[int, str]]) -> web.Application:
    """A loopback source site: path -> (status, html); `pages` may change while it runs."""

    async def serve(request: web.Request) -> web.Response:
        status, body = pages.get(request.path, (404, "not found"))
        return web.Response(status=status, text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    return app


def pingback_body(source: str, target: str = SEED_POST) -> bytes:
    """An XML-RPC pingback.ping call, as a WordPress sender writes it."""
    return xmlrpc.client.dumps((source, target), "pingback.ping").encode("utf-8")
