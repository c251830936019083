"""Shared fixtures: a running app on a real SQLite file, and loopback source servers."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from linkbridge import __version__
from linkbridge.app import make_app
from linkbridge.settings import Settings
from linkbridge.store import open_store
from linkbridge.verify import SafeFetcher
from tests.support import (  # noqa: F401 - re-exported for tests that still import conftest
    AFTER,
    BEFORE,
    CHROMIUM_ARGS,
    EXAMPLE_CONFIG,
    ROOT,
    SEED_POST,
    AppFactory,
    ManualClock,
    app_server,
    base_overlay,
    load_test_settings,
    page_linking_to,
    require,
    require_chromium,
    serve,
    write_overlay,
)

# CLI subprocesses inherit this: the shipped example's store never lands in ~/.local/state.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="linkbridge-test-state-")
for _name in ("LINKBRIDGE_CONFIG", "LINKBRIDGE_STATE_DIR"):
    os.environ.pop(_name, None)



@pytest.fixture
async def lb_app(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Any]]
) -> AppFactory:
    """Start linkbridge on a real SQLite file: `await lb_app(at=BEFORE, extra="...")`."""

    async def start(
        *,
        at: datetime = BEFORE,
        extra: str = "",
        ports: tuple[int, ...] = (),
        settings: Settings | None = None,
    ) -> TestClient[web.Request, web.Application]:
        settings = settings or load_test_settings(tmp_path, extra, ports)
        store = open_store(settings.store.url)
        fetcher = SafeFetcher(settings.fetch, public_base_url=settings.site.public_base_url,
                              version=__version__)
        clock = ManualClock(at)
        app = make_app(settings, store=store, fetcher=fetcher, clock=clock)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            await app_server(app, settings)
        )
        return client

    return start


@pytest.fixture
async def source_server() -> AsyncIterator[Callable[[web.Application], Awaitable[TestServer]]]:
    """Run an aiohttp app on 127.0.0.1 as a linkback source: `srv = await source_server(app)`."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> TestServer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()





SLOW_FIXTURES = frozenset(
    {"aiohttp_client", "aiohttp_server", "source_server", "served", "fleet", "pg_url"}
)
"""Fixtures that start the app, a loopback server, `linkbridge serve` or PostgreSQL."""


def is_slow(item: pytest.Item) -> bool:
    """Starts a server or a process, or is a hypothesis search: not for the quick loop."""
    if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgres":
        return True
    module = getattr(item, "module", None)  # runs `linkbridge` as a subprocess
    return any(getattr(module, n, None) is getattr(serve, n) for n in ("run_cli", "Served"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow tests `slow`: `pytest -m "not slow"` is the quick loop (the rest is for CI)."""
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Debian's headless chromium through playwright (skips, or fails in CI, without it)."""
    executable = require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
