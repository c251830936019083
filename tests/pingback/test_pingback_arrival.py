"""The inline budget counts from the request's arrival: for a sender that opens a connection
per ping (WordPress), from the moment `linkbridge serve` accepted the connection, so time the
request spent before its handler ran (a busy event loop) is inside the budget."""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support import SEED_POST
from tests.support.serve import Served, config_args, store_overlay

BEFORE_AT = "2017-12-01T12:00:00+01:00"
BUDGET_S = 2.0
SOURCE_DELAY_S = 0.4
"""The source answers this long after it is asked: well inside the budget."""


@pytest.fixture
async def slow_source() -> Iterator[int]:  # type: ignore[misc]
    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(SOURCE_DELAY_S)
        return web.Response(text=f"<p><a href='{SEED_POST}'>inlägget</a></p>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]
    await runner.cleanup()


@pytest.fixture
def served(tmp_path: Path, slow_source: int) -> Iterator[Served]:
    overlay = store_overlay(
        tmp_path,
        f'[fetch]\nallow_networks = ["127.0.0.0/8"]\nallowed_ports = [80, 443, {slow_source}]\n'
        f"[pingback]\ninline_budget_s = {BUDGET_S}\n",
    )
    server = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()


async def ping_after(port: int, source: str, idle_s: float) -> str:
    """Connect, wait `idle_s`, then send one pingback.ping on that connection; the body."""
    body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.sleep(idle_s)
        writer.write(
            b"POST /xmlrpc.php HTTP/1.1\r\nHost: www.naringsbloggen.se\r\n"
            b"Content-Type: text/xml\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # a hang guard, not a measure
    finally:
        writer.close()
    return answer.decode("utf-8", "replace")


@pytest.mark.slow
async def test_the_budget_counts_from_the_accepted_connection(
    served: Served, slow_source: int
) -> None:
    source = f"http://127.0.0.1:{slow_source}/2017/12/"
    # sent at once: the source's answer comes well inside the budget
    assert "registered" in await ping_after(served.port, source + "genast/", 0.0)
    # sent after the connection sat idle for nearly the whole budget: what is left of it is
    # shorter than the source takes, so the answer is "queued" (it would be "registered" if
    # the budget started when the handler ran)
    late = await ping_after(served.port, source + "sent/", BUDGET_S - SOURCE_DELAY_S / 4)
    assert "queued for verification" in late
