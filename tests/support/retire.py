"""Shared names for the retirement end-to-end tests (the root conftest's, reached by path)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from yarl import URL

from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings

EXAMPLE = load_settings([DEFAULT_CONFIG])
INSTANT: datetime = EXAMPLE.site.shutdown_at
ONE_SECOND = timedelta(seconds=1)
WEB = EXAMPLE.successors.web
SOCIAL = "https://x.com/naringsdep"
SUCCESSOR_FEED = EXAMPLE.retire.successor_feed_url
HTML_TYPES = ("text/html", "application/xhtml+xml")


def retired_headers(host: str = "www.naringsbloggen.se") -> dict[str, str]:
    """Headers of a reader asking the retired host (the test client's own Host is loopback)."""
    return {"Host": host}


async def raw_request(
    client: TestClient[Any, Any], method: str, raw: str, **kwargs: Any
) -> ClientResponse:
    """Send `raw` (path and query) byte for byte, even "//host/x" that a client would resolve."""
    url = URL(str(client.make_url("/")).rstrip("/") + raw, encoded=True)
    return await client.session.request(method, url, allow_redirects=False, **kwargs)
