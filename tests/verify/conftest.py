"""Fixtures for the verify engine: recording loopback sources, fetchers, a connect tripwire."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer

from linkbridge.settings import FetchSettings
from linkbridge.verify import SafeFetcher
from tests.support import PUBLIC_BASE
from tests.support.verify import LOOPBACK

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Source:
    """A running loopback source that counts what reaches it."""

    server: TestServer
    host: str
    requests: list[web.Request] = field(default_factory=list)
    active: int = 0
    max_active: int = 0

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
async def start_source() -> AsyncIterator[Callable[..., Awaitable[Source]]]:
    """`await start_source({"/path": handler}, host="127.0.0.1")` -> a recording Source."""
    servers: list[TestServer] = []

    async def start(routes: dict[str, Handler], host: str = "127.0.0.1") -> Source:
        source: Source

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            source.requests.append(request)
            source.active += 1
            source.max_active = max(source.max_active, source.active)
            try:
                return await handler(request)
            finally:
                source.active -= 1

        app = web.Application(middlewares=[record])
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        server = TestServer(app, host=host)
        await server.start_server()
        servers.append(server)
        source = Source(server, host)
        return source

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def make_fetcher() -> AsyncIterator[Callable[..., SafeFetcher]]:
    """`make_fetcher(ports, allow=..., resolver=..., **settings)`; closed after the test."""
    fetchers: list[SafeFetcher] = []

    def make(
        ports: tuple[int, ...] = (),
        *,
        allow: tuple[str, ...] = LOOPBACK,
        resolver: AbstractResolver | None = None,
        monotonic: Callable[[], float] | None = None,
        **overrides: Any,
    ) -> SafeFetcher:
        values: dict[str, Any] = {"timeout_s": 10.0, "per_host_rate_per_min": 0, **overrides}
        settings = replace(
            FetchSettings(), allowed_ports=(80, 443, *ports), allow_networks=allow, **values
        )
        extra: dict[str, Any] = {"monotonic": monotonic} if monotonic else {}
        fetcher = SafeFetcher(
            settings, public_base_url=PUBLIC_BASE, resolver=resolver, version="9.9", **extra
        )
        fetchers.append(fetcher)
        return fetcher

    yield make
    for fetcher in fetchers:
        await fetcher.close()


@pytest.fixture(autouse=True)
def connect_tripwire(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every outgoing connect; fail the test on any address outside loopback."""
    seen: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else str(address)
        if not (str(host).startswith("127.") or host == "::1"):
            raise AssertionError(f"test tried to connect outside loopback: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen
