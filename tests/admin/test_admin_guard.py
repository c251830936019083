"""Every /admin route is behind the login, and every /admin path is 404 until a password is set."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from linkbridge import keys
from linkbridge.model import ChangeNote, Hit, HitBatch, Mapping, RuleKind
from tests.support import Client, manual_clock
from tests.support.admin import enable_admin, held_linkback, login

AdminApp = Callable[..., Awaitable[Client]]

PUBLIC = {("GET", "/admin/login"), ("HEAD", "/admin/login"), ("POST", "/admin/login")}
EXTRA_PATHS = ["/admin/nope", "/admin/linkbacks/1/x", "/admin/login/", "/admin/../admin/"]


def admin_routes(client: Client) -> list[tuple[str, str]]:
    """(method, concrete path) for every registered route under /admin."""
    out: list[tuple[str, str]] = []
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("path") or info.get("formatter") or ""
        if not (template == "/admin" or template.startswith("/admin/")):
            continue
        path = re.sub(r"\{id[^}]*\}", "1", template)
        path = re.sub(r"\{tail[^}]*\}", "anything/here", path)
        methods = ["GET", "POST", "PUT", "DELETE"] if route.method == "*" else [route.method]
        out.extend((m, path) for m in methods)
    return out


async def test_the_walk_covers_the_pages(admin_app: Callable[..., Awaitable[Client]]) -> None:
    client = await admin_app()
    paths = {p for _, p in admin_routes(client)}
    for page in (
        "/admin/",
        "/admin/linkbacks",
        "/admin/hosts",
        "/admin/redirects",
        "/admin/hits",
        "/admin/successors",
        "/admin/explain",
        "/admin/webhooks",
        "/admin/logout",
        "/admin/linkbacks/1",
        "/admin/redirects/export.csv",
    ):
        assert page in paths


async def test_every_admin_route_needs_a_session(
    admin_app: Callable[..., Awaitable[Client]],
) -> None:
    client = await admin_app()
    routes = [r for r in admin_routes(client) if r not in PUBLIC]
    routes += [(m, p) for p in EXTRA_PATHS for m in ("GET", "POST")]
    assert len(routes) > 25
    for method, path in routes:
        response = await client.request(method, path, allow_redirects=False)
        assert response.status == 303, (method, path, response.status)
        assert response.headers["Location"] == "/admin/login", (method, path)
        response = await client.request(
            method, path, allow_redirects=False, headers={"Accept": "application/json"}
        )
        assert response.status == 403, (method, path, response.status)
        if method != "HEAD":
            assert (await response.json())["error"] == "login_required"


async def test_every_admin_path_is_404_without_a_password(
    lb_app: Callable[..., Awaitable[Client]],
) -> None:
    client = await lb_app()
    routes = admin_routes(client) + [(m, p) for p in EXTRA_PATHS for m in ("GET", "POST")]
    for method, path in routes:
        response = await client.request(method, path, allow_redirects=False)
        assert response.status == 404, (method, path, response.status)
    # and once a password is set (another process bumps the version), the page is on
    await enable_admin(client)
    assert (await client.get("/admin/login")).status == 200


async def test_a_session_opens_every_page_and_logout_closes_them(
    admin_app: Callable[..., Awaitable[Client]],
) -> None:
    client = await admin_app()
    csrf = await login(client)
    pages = sorted(
        {
            p
            for m, p in admin_routes(client)
            if m == "GET"
            and "{" not in p
            and "anything" not in p
            and p not in ("/admin/login", "/admin/linkbacks/1")
        }
    )
    for path in pages:
        response = await client.get(path)
        assert response.status == 200, (path, response.status)
    # a logged-in moderator gets 404 for unknown admin paths (behind the guard)
    assert (await client.get("/admin/nope")).status == 404
    out = await client.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert out.headers["Location"] == "/admin/login"
    for path in pages:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path


async def test_the_session_expires_with_the_clock(
    admin_app: Callable[..., Awaitable[Client]],
) -> None:
    client = await admin_app()
    await login(client)
    clock = manual_clock(client.app)
    max_age = client.app[keys.SETTINGS].admin.session_max_age_s
    clock.advance(max_age - 1)
    assert (await client.get("/admin/", allow_redirects=False)).status == 200
    clock.advance(1)
    assert (await client.get("/admin/", allow_redirects=False)).status == 303


@pytest.mark.parametrize("path", ["/admin/", "/admin/hosts", "/admin/login"])
async def test_admin_pages_are_not_cached_or_framed(
    admin_app: Callable[..., Awaitable[Client]], path: str
) -> None:
    client = await admin_app()
    await login(client)
    response = await client.get(path, allow_redirects=False)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_every_post_form_carries_the_session_token(
    admin_app: AdminApp,
) -> None:
    client = await admin_app()
    csrf = await login(client)
    await held_linkback(client)
    store = client.app[keys.STORE]
    await store.put_mappings(
        [Mapping("/innovation/x", "web", origin="store")], client.app[keys.CLOCK].now()
    )
    await store.edit_host(
        "spam.example", "block", present=True,
        note=ChangeNote("block", "t", "", client.app[keys.CLOCK].now()),
    )
    await store.add_hits(
        HitBatch.of([Hit("2018-03-01", "/innovation/y", 301, RuleKind.PREFIX, 3)])
    )
    await client.app[keys.LIVE].refresh()
    seen = 0
    for path in (
        "/admin/",
        "/admin/linkbacks",
        "/admin/linkbacks/1",
        "/admin/hosts",
        "/admin/redirects",
        "/admin/hits",
        "/admin/successors",
        "/admin/explain",
        "/admin/webhooks",
    ):
        page = await (await client.get(path)).text()
        for form in re.findall(r"<form\b.*?</form>", page, flags=re.S):
            if 'method="post"' in form:
                seen += 1
                assert f'name="csrf" value="{csrf}"' in form, (path, form)
            else:
                assert 'method="get"' in form
                assert "csrf" not in form  # read-only forms keep the token out of URLs
    assert seen > 15
