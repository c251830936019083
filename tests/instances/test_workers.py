"""`linkbridge serve --workers 2`: two processes on one port, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from linkbridge.store import open_store
from tests.support.pg import fresh_schema
from tests.support.serve import Served, config_args, free_port

AFTER = "2018-03-01T12:00:00+01:00"
REQUESTS = 300


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/linkbridge.db"
        return
    async with fresh_schema() as pg:
        yield pg


async def test_two_workers_share_the_port_and_count_every_hit(tmp_path: Path, url: str) -> None:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(f'[store]\nurl = "{url}"\n[retire]\nhit_flush_interval_s = 0.2\n',
                       encoding="utf-8")
    port = free_port()
    server = Served(*config_args(overlay), "--at", AFTER, "--jobs", "--workers", "2",
                    "--port", str(port), port_flag=False, port=port)
    try:
        deadline = time.monotonic() + 60
        while len(started(server)) < 2:  # a hang guard only
            assert time.monotonic() < deadline, "".join(server.lines)
            assert server.proc.poll() is None, "".join(server.lines)
            await asyncio.sleep(0.1)
        pids = {e["pid"] for e in started(server)}
        assert len(pids) == 2
        assert server.proc.pid not in pids  # the parent only supervises

        connector = aiohttp.TCPConnector(force_close=True)  # a new connection each time
        async with aiohttp.ClientSession(connector=connector) as session:

            async def hit(n: int) -> int:
                async with session.get(f"{server.base}/innovation/sida-{n % 5}/",
                                       allow_redirects=False) as resp:
                    return resp.status

            statuses = await asyncio.gather(*(hit(n) for n in range(REQUESTS)))
        assert set(statuses) == {301}
        assert server.stop(signal.SIGTERM) == 0
        for pid in pids:  # the workers stopped with the parent
            with pytest.raises(ProcessLookupError):
                os.kill(int(str(pid)), 0)
    finally:
        if server.proc.poll() is None:
            server.kill()
    store = open_store(url)
    await store.open()
    try:
        assert sum(d.hits for d in await store.hit_days()) == REQUESTS  # exact, both workers
    finally:
        await store.close()


def started(server: Served) -> list[dict[str, object]]:
    return [e for e in server.events() if e.get("event") == "server_started"]
