"""Login: password check, rate limit at its edge, CSRF tokens, session cookie flags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie

from linkbridge import keys
from linkbridge.admin.auth import SESSION_COOKIE, token_hash
from linkbridge.model import LinkbackState
from tests.support import Client
from tests.support.admin import PASSWORD, USER, csrf_of, held_linkback, login

AdminApp = Callable[..., Awaitable[Client]]


async def _attempt(
    client: Client, user: str, password: str, **headers: str
) -> tuple[int, SimpleCookie]:
    page = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={"username": user, "password": password, "csrf": csrf_of(await page.text())},
        allow_redirects=False,
        headers=headers,
    )
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return response.status, cookies


async def test_wrong_password_or_user_gets_no_session(admin_app: AdminApp) -> None:
    client = await admin_app()
    for user, password in (
        (USER, PASSWORD + "x"),
        (USER, ""),
        ("nobody", PASSWORD),
        ("", PASSWORD),
        (USER, PASSWORD.upper()),
    ):
        status, cookies = await _attempt(client, user, password)
        assert status == 401
        assert SESSION_COOKIE not in cookies
    assert (await client.get("/admin/", allow_redirects=False)).status == 303


async def test_login_rate_limit_at_its_edge(admin_app: AdminApp) -> None:
    client = await admin_app(extra="[admin]\nlogin_attempts_per_min = 3\n")
    for _ in range(3):
        status, _cookies = await _attempt(client, USER, "wrong password here")
        assert status == 401
    status, cookies = await _attempt(client, USER, PASSWORD)  # right, but one too many
    assert status == 429
    assert SESSION_COOKIE not in cookies


async def test_login_rate_limit_lets_the_last_allowed_attempt_in(admin_app: AdminApp) -> None:
    client = await admin_app(extra="[admin]\nlogin_attempts_per_min = 3\n")
    for _ in range(2):
        assert (await _attempt(client, USER, "wrong password here"))[0] == 401
    status, cookies = await _attempt(client, USER, PASSWORD)
    assert status == 303
    assert SESSION_COOKIE in cookies


async def test_login_needs_its_csrf_token(admin_app: AdminApp) -> None:
    client = await admin_app()
    await client.get("/admin/login")
    for data in (
        {"username": USER, "password": PASSWORD},
        {"username": USER, "password": PASSWORD, "csrf": "forged"},
        {"username": USER, "password": PASSWORD, "csrf": ""},
    ):
        response = await client.post("/admin/login", data=data, allow_redirects=False)
        assert response.status == 403
        assert SESSION_COOKIE not in response.cookies


async def test_forms_need_the_session_csrf_token(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    lb = await held_linkback(client)
    for data in (
        {"action": "approve"},
        {"action": "approve", "csrf": "x" + csrf[1:]},
        {"action": "approve", "csrf": ""},
        {"action": "approve", "csrf": csrf[:-1]},
    ):
        response = await client.post(f"/admin/linkbacks/{lb.id}", data=data, allow_redirects=False)
        assert response.status == 403
    stored = await client.app[keys.STORE].get_linkback(lb.id)
    assert stored is not None
    assert stored.state == LinkbackState.HELD
    # a JSON body carries no form field at all
    response = await client.post(
        f"/admin/linkbacks/{lb.id}", json={"action": "approve", "csrf": csrf}
    )
    assert response.status == 403
    # logout is CSRF-checked too
    assert (await client.post("/admin/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.get("/admin/", allow_redirects=False)).status == 200


async def test_another_sessions_token_does_not_count(admin_app: AdminApp) -> None:
    first = await admin_app()
    csrf_first = await login(first)
    # a second browser of the same moderator has its own session and token
    first.session.cookie_jar.clear()
    assert await login(first) != csrf_first
    lb = await held_linkback(first)
    response = await first.post(
        f"/admin/linkbacks/{lb.id}",
        data={"action": "approve", "csrf": csrf_first},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_session_cookie_flags(admin_app: AdminApp) -> None:
    client = await admin_app()
    status, cookies = await _attempt(client, USER, PASSWORD)
    assert status == 303
    morsel = cookies[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/admin"
    assert not morsel["secure"]  # plain http from the test client
    assert int(morsel["max-age"]) == client.app[keys.SETTINGS].admin.session_max_age_s
    # only the token's hash is stored
    store = client.app[keys.STORE]
    now = client.app[keys.CLOCK].now()
    assert await store.get_admin_session(morsel.value, now) is None
    session = await store.get_admin_session(token_hash(morsel.value), now)
    assert session is not None
    assert session.username == USER


async def test_cookie_is_secure_behind_a_trusted_https_proxy(admin_app: AdminApp) -> None:
    client = await admin_app()  # 127.0.0.1 is a trusted proxy in the example config
    status, cookies = await _attempt(client, USER, PASSWORD, **{"X-Forwarded-Proto": "https"})
    assert status == 303
    assert cookies[SESSION_COOKIE]["secure"] is True


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(admin_app: AdminApp) -> None:
    client = await admin_app(extra='[server]\ntrusted_proxies = ["10.0.0.0/8"]\n')
    status, cookies = await _attempt(client, USER, PASSWORD, **{"X-Forwarded-Proto": "https"})
    assert status == 303
    assert not cookies[SESSION_COOKIE]["secure"]


async def test_a_new_password_ends_old_sessions(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    from tests.support.admin import enable_admin

    await enable_admin(client, password="another long enough password")
    assert (await client.get("/admin/", allow_redirects=False)).status == 303
    status, _ = await _attempt(client, USER, PASSWORD)
    assert status == 401
    status, _ = await _attempt(client, USER, "another long enough password")
    assert status == 303
