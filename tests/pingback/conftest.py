"""Fixtures for the end-to-end pingback tests: a scriptable source site and the app around it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer

from linkbridge import __version__
from linkbridge.app import make_app
from linkbridge.store import open_store
from linkbridge.verify import SafeFetcher
from tests.support import BEFORE, Client, ManualClock, app_server, load_test_settings
from tests.support.pingback import SourceSite


@pytest.fixture
async def site(
    source_server: Callable[[web.Application], Awaitable[TestServer]],
) -> SourceSite:
    """A running loopback source site with no pages yet."""
    s = SourceSite()
    s.server = await source_server(s.app())
    return s


@pytest.fixture
def app_for(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Any]], site: SourceSite
) -> Callable[..., Awaitable[Client]]:
    """Start linkbridge allowing `site`'s port: `client = await app_for(extra=..., at=...)`.

    Built like the root `lb_app`, plus an optional injected DNS resolver for NXDOMAIN cases.
    """

    async def start(
        *, extra: str = "", at: datetime = BEFORE, resolver: AbstractResolver | None = None
    ) -> Client:
        settings = load_test_settings(tmp_path, extra, (site.port,))
        fetcher = SafeFetcher(
            settings.fetch,
            public_base_url=settings.site.public_base_url,
            resolver=resolver,
            version=__version__,
        )
        app = make_app(
            settings, store=open_store(settings.store.url), fetcher=fetcher, clock=ManualClock(at)
        )
        client: Client = await aiohttp_client(await app_server(app, settings))
        return client

    return start
