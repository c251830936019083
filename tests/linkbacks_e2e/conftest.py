"""Fixtures: one loopback source site, and linkbridge started on it with the job worker held."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings
from tests.support import BEFORE, Client
from tests.support.linkbacks import SourceSite

HOLD_WORKER = "[jobs]\nworkers = 0\n"
"""`jobs.workers = 0` starts no background worker, so the tests decide when jobs run
(`run_jobs`) and can see the rows before verification."""


def _overlay(tmp_path: Path, port: int) -> str:
    """As tests/conftest.py's base overlay: own SQLite file, loopback sources, quick retries."""
    return (
        f'[store]\nurl = "sqlite:///{tmp_path}/linkbridge.db"\npoll_interval_s = 0.2\n'
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [80, 443, {port}]\ntimeout_s = 3.0\nretry_base_s = 0.2\n"
        "[pingback]\nrate_per_min = 10000\n[trackback]\nrate_per_min = 10000\n"
        "[webmention]\nrate_per_min = 10000\n[moderation]\nper_host_daily_cap = 100000\n"
    )


@pytest.fixture
async def source(
    source_server: Callable[[web.Application], Awaitable[TestServer]],
) -> AsyncIterator[SourceSite]:
    """The loopback site every source URL of a test lives on; `source.server` closes it."""
    site = SourceSite()
    server = await source_server(site.app())
    assert server.port is not None
    site.port, site.server = server.port, server
    yield site
    site.released.set()


LinkbridgeFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
def linkbridge(
    tmp_path: Path, source: SourceSite, lb_app: Callable[..., Awaitable[Any]]
) -> LinkbridgeFactory:
    """`client = await linkbridge(extra=TOML)`: the example config, the loopback overlay, a
    worker that runs only when the test says (unless `background_jobs=True`), then `extra`."""

    async def start(
        *, at: datetime = BEFORE, extra: str = "", background_jobs: bool = False
    ) -> Client:
        files = [DEFAULT_CONFIG, tmp_path / "e2e-overlay.toml"]
        files[1].write_text(_overlay(tmp_path, source.port), encoding="utf-8")
        if not background_jobs:
            held = tmp_path / "e2e-hold.toml"
            held.write_text(HOLD_WORKER, encoding="utf-8")
            files.append(held)
        if extra:
            extra_file = tmp_path / "e2e-extra.toml"
            extra_file.write_text(extra, encoding="utf-8")
            files.append(extra_file)
        client: Client = await lb_app(at=at, settings=load_settings(files))
        assert (client.app[keys.WORKER].concurrency == 0) != background_jobs
        return client

    return start
