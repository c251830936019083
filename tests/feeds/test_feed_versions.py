"""Versions per concern: a decision on one post rebuilds only the feeds that show it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from linkbridge import keys
from tests.feeds.conftest import make_post
from tests.support import BEFORE
from tests.support.linkbacks import approve_new_mention

Client = TestClient[Any, Any]
AppFactory = Callable[..., Awaitable[Client]]

SEED = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
TRANSPORT_POST = "/transport/ny-trafikplan/"
FEEDS = {
    "network": "/comments/feed/",
    "innovation": "/innovation/comments/feed/",
    "seed post": SEED + "feed/",
    "transport": "/transport/comments/feed/",
    "transport post": TRANSPORT_POST + "feed/",
    "posts": "/innovation/feed/",
}


async def etags(client: Client) -> dict[str, str]:
    out = {}
    for name, path in FEEDS.items():
        resp = await client.get(
            path, headers={"Accept-Encoding": "identity"}, allow_redirects=False
        )
        assert resp.status == 200, path
        out[name] = resp.headers["ETag"]
    return out


async def test_an_approval_rebuilds_its_post_blog_and_network_feeds_only(
    lb_app: AppFactory,
) -> None:
    client = await lb_app(at=BEFORE)
    app = client.app
    store, live = app[keys.STORE], app[keys.LIVE]
    transport = make_post(
        7, blog="/transport/", permalink="http://www.naringsbloggen.se" + TRANSPORT_POST,
        path=TRANSPORT_POST.rstrip("/"), slug="ny-trafikplan", title="Ny trafikplan",
    )
    await store.import_posts("/transport/", [transport], [], BEFORE)
    await live.refresh()
    before = await etags(client)
    builds, snapshot = app[keys.METRICS].feed_builds, live.snapshot

    await approve_new_mention(store, "https://example.org/a-new-mention/", "A new mention", BEFORE)
    await live.refresh()  # (the background poll may have taken the change already)

    after = await etags(client)
    assert live.snapshot is snapshot  # the redirect table and the registry were not rebuilt
    changed = {name for name in FEEDS if after[name] != before[name]}
    assert changed == {"network", "innovation", "seed post"}
    assert app[keys.METRICS].feed_builds - builds == 3  # the three feeds, nothing else
    body = await (await client.get(FEEDS["network"])).text()
    assert "example.org/a-new-mention" in body


async def test_readiness_never_waits_behind_a_busy_reader(lb_app: AppFactory) -> None:
    client = await lb_app(at=BEFORE)
    engine = client.app[keys.STORE].engine
    release = threading.Event()
    busy = asyncio.ensure_future(engine.read(lambda conn: release.wait(60)))
    try:
        resp = await client.get("/readyz")  # while the reader thread is held by a long read
        assert resp.status == 200
        assert not busy.done()
    finally:
        release.set()
        await busy
