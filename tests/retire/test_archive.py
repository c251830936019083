"""The page as it was: old posts looked up in a loopback Memento TimeGate, the snapshots from
before the instant kept, and the 410 page linking one with `Link: <…>; rel="memento"`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import __version__
from linkbridge.model import ArchiveSnapshot, Post
from linkbridge.moderation.service import Moderation
from linkbridge.posts.importer import import_configured_wxr
from linkbridge.retire.archive import check_archive, find_snapshot
from linkbridge.store import open_store
from linkbridge.verify import SafeFetcher
from tests.support import AFTER, SEED_PATH, SEED_POST, AppFactory, ManualClock, load_test_settings
from tests.support.serve import config_args, run_cli, store_overlay
from tests.support.verify import LoopbackResolver

NOW = datetime(2017, 12, 20, 12, 0, tzinfo=UTC)
CAPTURED = datetime(2015, 3, 4, 10, 20, 30, tzinfo=UTC)


ASKED: list[str] = []
"""The Accept-Datetime each TimeGate request carried."""


@pytest.fixture
async def timegate() -> AsyncIterator[TestServer]:
    """A TimeGate that knows the seed post (captured 2015) and nothing else."""
    asked = ASKED
    asked.clear()

    async def gate(request: web.Request) -> web.Response:
        original = request.match_info["url"]
        asked.append(request.headers.get("Accept-Datetime", ""))
        if "innovationsupphandling" not in original:
            return web.Response(status=404)
        stamp = CAPTURED.strftime("%Y%m%d%H%M%S")
        raise web.HTTPFound(f"/web/{stamp}/{original}")

    async def memento(request: web.Request) -> web.Response:
        return web.Response(text="<html>as it was</html>", content_type="text/html",
                            headers={"Memento-Datetime": format_datetime(CAPTURED, usegmt=True)})

    app = web.Application()
    app.router.add_get("/timegate/{url:.*}", gate)
    app.router.add_get("/web/{stamp}/{url:.*}", memento)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_snapshots_before_the_instant_are_found_and_linked_from_the_410_page(
    tmp_path: Path, timegate: TestServer, lb_app: AppFactory
) -> None:
    port = timegate.port
    assert port is not None
    extra = f'[archive]\ntimegate = "http://archive.test:{port}/timegate/"\n'
    settings = load_test_settings(tmp_path, extra, ports=(port,))
    store = open_store(settings.store.url)
    await store.open()
    fetcher = SafeFetcher(settings.fetch, public_base_url=settings.site.public_base_url,
                          version=__version__, resolver=LoopbackResolver(".test"))
    try:
        await import_configured_wxr(settings, store, NOW)
        posts = [p for p in await store.all_posts() if not p.tombstone]
        found = await check_archive(fetcher, settings.archive, store, posts,
                                    settings.site.shutdown_at, NOW)
        await Moderation(settings, store, ManualClock(NOW)).map(
            SEED_PATH, "gone", by="moderator", reason="no successor")
    finally:
        await fetcher.close()
        await store.close()
    by_path = {s.path: s for s in found}
    seed = by_path[SEED_PATH.rstrip("/")]
    assert seed.url.endswith(f"/web/{CAPTURED:%Y%m%d%H%M%S}/http://www.naringsbloggen.se"
                             + SEED_PATH)
    assert seed.memento_at == CAPTURED
    assert [s.note for s in found if not s.url] == ["no snapshot (answered 404)"]
    accept = ASKED[0]
    assert parsedate_to_datetime(accept) == settings.site.shutdown_at

    client = await lb_app(at=AFTER, settings=settings)
    answer = await client.get(SEED_PATH, allow_redirects=False)
    assert answer.status == 410
    assert answer.headers["Link"] == f'<{seed.url}>; rel="memento"'
    assert seed.url in await answer.text()


def test_archive_check_needs_a_timegate(tmp_path: Path) -> None:
    overlay = store_overlay(tmp_path, '[archive]\ntimegate = ""\n')
    done = run_cli("archive", "check", *config_args(overlay))
    assert done.returncode == 1
    assert done.stderr.strip().startswith("archive check: set archive.timegate")


async def test_max_redirects_at_its_edge(tmp_path: Path) -> None:
    """archive.max_redirects hops from the TimeGate to the memento are followed; one more and
    the post has no snapshot, with the reason kept."""

    async def hop(request: web.Request) -> web.Response:
        left, original = int(request.match_info["left"]), request.match_info["url"]
        if left == 0:
            raise web.HTTPFound(f"/web/{CAPTURED:%Y%m%d%H%M%S}/{original}")
        raise web.HTTPFound(f"/r/{left - 1}/{original}")

    async def memento(request: web.Request) -> web.Response:
        return web.Response(text="<html>as it was</html>", content_type="text/html",
                            headers={"Memento-Datetime": format_datetime(CAPTURED, usegmt=True)})

    app = web.Application()
    app.router.add_get("/r/{left}/{url:.*}", hop)
    app.router.add_get("/web/{stamp}/{url:.*}", memento)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    settings = load_test_settings(tmp_path, "[archive]\nmax_redirects = 3\n", ports=(server.port,))
    fetcher = SafeFetcher(settings.fetch, public_base_url=settings.site.public_base_url,
                          version=__version__, resolver=LoopbackResolver(".test"))
    post = Post(blog="/innovation/", post_id=1, permalink=SEED_POST, path=SEED_PATH,
                slug="innovationsupphandling-pa-frammarsch", title="Innovationsupphandling")

    async def lookup(redirects: int) -> ArchiveSnapshot:
        gate = f"http://archive.test:{server.port}/r/{redirects - 1}/"  # `redirects` hops
        return await find_snapshot(fetcher, replace(settings.archive, timegate=gate), post,
                                   settings.site.shutdown_at, NOW)

    try:
        at_edge = await lookup(settings.archive.max_redirects)
        past = await lookup(settings.archive.max_redirects + 1)
    finally:
        await fetcher.close()
        await server.close()
    assert at_edge.memento_at == CAPTURED
    assert at_edge.url.endswith(f"/web/{CAPTURED:%Y%m%d%H%M%S}/{SEED_POST}")
    assert (past.url, past.memento_at) == ("", None)
    assert past.note == "archive: fetcher: redirect past the hop limit (3)"
