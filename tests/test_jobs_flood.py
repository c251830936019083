"""The queue cannot be jammed: 1,000 trickling sources from one /64 and many hosts, then a good
webmention from elsewhere is verified within seconds (real servers on loopback, real SQLite)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from linkbridge import __version__, keys
from linkbridge.app import make_app
from linkbridge.model import LinkbackState
from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings
from linkbridge.store import open_store
from linkbridge.verify import SafeFetcher
from tests.support import BEFORE, SEED_POST, ManualClock, app_server, page_linking_to, write_overlay
from tests.support.verify import LoopbackResolver

FLOOD = 1000
FLOOD_HOSTS = 200
VERIFIED_WITHIN_S = 20.0
"""A bound, not a benchmark: before fair scheduling this took about 40 minutes."""


class Trickle:
    """A source that answers 200 and then one byte every quarter second, for a minute."""

    def __init__(self) -> None:
        self.active = 0
        self.max_active = 0
        self.requests = 0
        self.stop = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            resp = web.StreamResponse(headers={"Content-Type": "text/html"})
            await resp.prepare(request)
            for _ in range(240):
                await resp.write(b" ")
                try:
                    await asyncio.wait_for(self.stop.wait(), 0.25)
                    break
                except TimeoutError:
                    pass
            return resp
        finally:
            self.active -= 1


@pytest.fixture
async def servers() -> AsyncIterator[Callable[[web.Application], Awaitable[TestServer]]]:
    started: list[TestServer] = []

    async def start(app: web.Application) -> TestServer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


async def test_a_flood_of_trickling_sources_does_not_delay_a_good_webmention(
    tmp_path: Path,
    servers: Callable[[web.Application], Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Any]],
) -> None:
    trickle = Trickle()
    trickle_app = web.Application()
    trickle_app.router.add_get("/{tail:.*}", trickle.handle)
    trickle_srv = await servers(trickle_app)

    async def good_page(request: web.Request) -> web.Response:
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    good_app = web.Application()
    good_app.router.add_get("/mention", good_page)
    good_srv = await servers(good_app)

    overlay = write_overlay(
        tmp_path,
        f'[store]\nurl = "sqlite:///{tmp_path}/linkbridge.db"\n'
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [80, 443, {trickle_srv.port}, {good_srv.port}]\n"
        "[jobs]\nidle_poll_s = 0.1\n"
        "[webmention]\nrate_per_min = 100000\n[moderation]\nper_host_daily_cap = 100000\n",
    )
    settings = load_settings([DEFAULT_CONFIG, overlay])
    assert settings.fetch.min_bytes_per_s > 0  # the shipped defaults, not test-only ones
    store = open_store(settings.store.url)
    fetcher = SafeFetcher(
        settings.fetch, public_base_url=settings.site.public_base_url,
        resolver=LoopbackResolver(), version=__version__,
    )
    app = make_app(settings, store=store, fetcher=fetcher, clock=ManualClock(BEFORE))
    client: TestClient[web.Request, web.Application] = await aiohttp_client(
        await app_server(app, settings)
    )
    share = client.app[keys.WORKER].max_per_sender

    async def send(source: str, sender: str) -> str:
        resp = await client.post(
            "/webmention", data={"source": source, "target": SEED_POST},
            headers={"X-Forwarded-For": sender},
        )
        assert resp.status == 201, await resp.text()
        return resp.headers["Location"].rsplit("/", 1)[1]

    # one attacker /64, 200 source host names, 1,000 sources that trickle
    sem = asyncio.Semaphore(32)

    async def flood_one(i: int) -> None:
        async with sem:
            host = f"h{i % FLOOD_HOSTS}.trickle.test"
            await send(f"http://{host}:{trickle_srv.port}/{i}", f"2001:db8:bad:1::{i:x}")

    await asyncio.gather(*(flood_one(i) for i in range(FLOOD)))
    assert await store.count_jobs() >= FLOOD - 3 * share

    started = time.monotonic()
    public_id = await send(f"http://good.test:{good_srv.port}/mention", "198.51.100.7")
    state = LinkbackState.UNVERIFIED
    while time.monotonic() - started < VERIFIED_WITHIN_S:
        lb = await store.get_linkback_by_public_id(public_id)
        assert lb is not None
        state = lb.state
        if state != LinkbackState.UNVERIFIED:
            break
        await asyncio.sleep(0.1)
    took = time.monotonic() - started
    trickle.stop.set()
    assert state == LinkbackState.HELD, f"still {state} after {took:.1f} s"
    # the flood never held more than its share of the running jobs, nor a host more than two
    assert trickle.max_active <= share
    assert await store.count_jobs() > FLOOD // 2  # most of the flood still waits its turn
    print(f"good webmention verified {took:.2f} s after 1,000 trickling ones")
