"""What a login attempt must pass before a password is hashed, and where the hash runs.

Each guess costs an argon2id hash (about 100 ms of CPU and 64 MiB), so guesses are limited per
client (an IPv4 address, or an IPv6 /64: one machine may hold a whole /64) and for the whole
server, and at most `admin.password_hash_concurrency` hashes run at once, on threads of their
own: the default executor, which verification's link finding uses, never waits for a hash.
"""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum

from linkbridge.passwords import verify_password
from linkbridge.ratelimit import RateLimiter
from linkbridge.settings import AdminSettings
from linkbridge.store import Store

IPV6_CLIENT_PREFIX = 64
"""Addresses of one IPv6 /64 share one budget (a host is usually given a whole /64)."""


class LoginVerdict(StrEnum):
    """How a login attempt ended."""

    OK = "ok"
    WRONG = "wrong"
    LIMITED = "limited"
    """Over the client's or the server's rate limit: no hash was computed."""
    BUSY = "busy"
    """Every password-hash slot was taken: no hash was computed."""


def client_key(client_ip: str) -> str:
    """The rate-limit key of a client: its IPv4 address, or its IPv6 /64 network."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(address)


class LoginGuard:
    """Rate limits (per client, global) and a bounded, dedicated pool for password hashes."""

    def __init__(self, settings: AdminSettings) -> None:
        self.per_client = RateLimiter(settings.login_attempts_per_min)
        self.everyone = RateLimiter(settings.login_attempts_global_per_min)
        slots = max(1, settings.password_hash_concurrency)
        self._slots = asyncio.Semaphore(slots)
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="password-hash")

    async def attempt(
        self, store: Store, client_ip: str, username: str, password: str
    ) -> LoginVerdict:
        """Check the limits, then the password (on the dedicated pool) if a slot is free."""
        if not self.per_client.allow(client_key(client_ip)):
            return LoginVerdict.LIMITED
        if not self.everyone.allow(""):
            return LoginVerdict.LIMITED
        if self._slots.locked():  # refuse rather than queue: waiting requests hold memory too
            return LoginVerdict.BUSY
        async with self._slots:
            ok = await verify_password(store, username, password, executor=self._executor)
        return LoginVerdict.OK if ok else LoginVerdict.WRONG

    def close(self) -> None:
        """Stop the hash threads (a running hash finishes first)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
