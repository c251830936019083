"""Public pages (410, notice, webmention status) send CSP, nosniff and a Referrer-Policy."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS
from tests.support import BEFORE, SEED_POST, AppFactory
from tests.support.serve import Served, config_args, store_overlay

GONE = "/innovation/borta/"


def head_of(url: str) -> tuple[int, dict[str, str]]:
    """GET `url`; its status and headers (an HTTP error is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`linkbridge serve` after the instant, with one mapping to the 410 page."""
    tmp_path = tmp_path_factory.mktemp("public-headers")
    overlay = store_overlay(tmp_path, f'[[retire.mappings]]\nfrom = "{GONE}"\nto = "gone"\n')
    server = Served(*config_args(overlay))
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("path", "status"), [(GONE, 410), ("/notice", 200), ("/webmention/no-such-id", 404)]
)
def test_public_pages_of_a_real_server_send_the_security_headers(
    served: Served, path: str, status: int
) -> None:
    got, headers = head_of(served.base + path)
    assert got == status
    for name, value in PUBLIC_PAGE_HEADERS.items():
        assert headers.get(name) == value, name
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]


async def test_the_webmention_status_page_sends_the_security_headers(lb_app: AppFactory) -> None:
    client = await lb_app(at=BEFORE)
    async with asyncio.timeout(30):
        created = await client.post(
            "/webmention", data={"source": "http://127.0.0.1:9/x", "target": SEED_POST}
        )
        assert created.status == 201
        location = created.headers["Location"].removeprefix("http://www.naringsbloggen.se")
        page = await client.get(location, headers={"Accept": "text/html"})
    assert page.status == 200
    assert page.content_type == "text/html"
    for response in (created, page):
        for name, value in PUBLIC_PAGE_HEADERS.items():
            assert response.headers.get(name) == value, name
