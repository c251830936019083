"""Login cannot exhaust the box: limits per IPv6 /64 and globally, bounded password hashing."""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse, web

from linkbridge.login import client_key
from tests.support import SEED_POST, Client
from tests.support.admin import PASSWORD, USER, csrf_of, linking_page, source_app

AdminApp = Callable[..., Awaitable[Client]]
TIMEOUT_S = 60


async def attempt(client: Client, password: str, client_ip: str) -> int:
    """One login through the form, from `client_ip` (the test client is a trusted proxy)."""
    headers = {"X-Forwarded-For": client_ip}
    page = await client.get("/admin/login", headers=headers)
    response = await client.post(
        "/admin/login",
        data={"username": USER, "password": password, "csrf": csrf_of(await page.text())},
        allow_redirects=False,
        headers=headers,
    )
    return response.status


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7"),
        ("not an address", "not an address"),
    ],
)
def test_client_key(address: str, key: str) -> None:
    assert client_key(address) == key


async def test_addresses_of_one_ipv6_64_share_one_budget(admin_app: AdminApp) -> None:
    client = await admin_app(extra="[admin]\nlogin_attempts_per_min = 3\n")
    async with asyncio.timeout(TIMEOUT_S):
        for i in (1, 2, 3):
            assert await attempt(client, "wrong password", f"2001:db8:7:7::{i}") == 401
        # a fresh address of the same /64, even with the right password: over the limit
        assert await attempt(client, PASSWORD, "2001:db8:7:7:ffff::9") == 429
        # another /64 has its own budget
        assert await attempt(client, PASSWORD, "2001:db8:7:8::1") == 303


async def test_the_global_limit_holds_across_many_addresses(admin_app: AdminApp) -> None:
    client = await admin_app(extra="[admin]\nlogin_attempts_global_per_min = 4\n")
    async with asyncio.timeout(TIMEOUT_S):
        statuses = [await attempt(client, "wrong password", f"192.0.2.{i}") for i in range(1, 5)]
        assert statuses == [401] * 4
        assert await attempt(client, PASSWORD, "198.51.100.1") == 429


async def test_concurrent_hashes_are_bounded_and_verification_is_not_starved(
    admin_app: AdminApp, source_server: Callable[[web.Application], Awaitable[object]]
) -> None:
    """20 guesses at once from 20 addresses: at most `password_hash_concurrency` hashes run, the
    rest are refused without hashing, and a pingback meanwhile verifies inline."""
    server = await source_server(source_app({"/post/": (200, linking_page("Svar", SEED_POST))}))
    port = server.port  # type: ignore[attr-defined]
    client = await admin_app(
        ports=(port,),
        extra="[admin]\npassword_hash_concurrency = 1\nlogin_attempts_global_per_min = 1000\n"
        '[moderation]\nallow_hosts = ["127.0.0.1"]\n',
    )
    source = f"http://127.0.0.1:{port}/post/"
    ping = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping").encode()
    async with asyncio.timeout(TIMEOUT_S):
        guesses = [attempt(client, f"guess {i}", f"203.0.113.{i}") for i in range(20)]
        pinged = client.post("/xmlrpc.php", data=ping, headers={"Content-Type": "text/xml"})
        *statuses, ping_response = await asyncio.gather(*guesses, pinged)
        assert isinstance(ping_response, ClientResponse)
        ((answer,), _) = xmlrpc.client.loads(await ping_response.read())
    assert set(statuses) <= {401, 503}
    assert statuses.count(503) >= 1  # refused at once, nothing hashed
    assert statuses.count(401) >= 1
    assert "registered" in answer  # verified inline, not "queued"
