"""kill -9 durability: every acknowledged pingback is stored, and its job finishes after restart."""

from __future__ import annotations

import asyncio
import sqlite3
import xmlrpc.client
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support import SEED_POST, page_linking_to
from tests.support.serve import Served, config_args, store_overlay

PINGS = 50
KILL_AFTER = 25
"""Answers received before the SIGKILL: the rest are in flight or not sent yet."""
SETTLE_LIMIT_S = 120.0
"""A hang guard only: the restarted server verifies the backlog in a second or two."""


def read_rows(db: Path) -> list[tuple[str, str]]:
    """(source_url, state) of every stored linkback, as another process sees the file."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute("SELECT source_url, state FROM linkbacks"))
    finally:
        conn.close()


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def test_acknowledged_pingbacks_survive_sigkill_and_verify_after_restart(
    tmp_path: Path, source_server: Callable[[web.Application], Awaitable[TestServer]]
) -> None:
    release = asyncio.Event()  # the source hangs until the server has been killed

    async def page(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    src = await source_server(app)
    overlay = store_overlay(
        tmp_path,
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [80, 443, {src.port}]\n"
        # a hung fetch stays hung until the kill; jobs are due long after phase one
        "timeout_s = 60.0\nretry_base_s = 0.5\nper_host_concurrency = 100\n"
        "per_host_rate_per_min = 100000\nglobal_concurrency = 100\n"
        "[pingback]\ninline_budget_s = 0.2\nrate_per_min = 100000\n"
        "[moderation]\nper_host_daily_cap = 100000\n",
    )
    db = tmp_path / "linkbridge.db"
    sources = [f"http://127.0.0.1:{src.port}/kraschtest/{n}/" for n in range(PINGS)]

    server = Served(*config_args(overlay), "--at", "2017-12-01T12:00:00+01:00")
    try:
        server.wait_started()
        acknowledged: list[str] = []
        answered = 0
        gate = asyncio.Semaphore(8)

        async def ping(session: aiohttp.ClientSession, source: str) -> None:
            nonlocal answered
            body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping")
            async with gate:
                if server.proc.poll() is not None:
                    return
                try:
                    async with session.post(
                        server.base + "/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"}
                    ) as resp:
                        text = await resp.text()
                except aiohttp.ClientError:
                    return  # cut off by the kill: no answer, no promise
            (result,), _ = xmlrpc.client.loads(text)  # a fault would raise here
            assert "queued" in result or "registered" in result, result
            acknowledged.append(source)
            answered += 1
            if answered == KILL_AFTER:
                server.proc.kill()  # SIGKILL in the middle of the burst

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(ping(session, s) for s in sources))
        server.kill()
        assert server.proc.returncode == -9
        assert len(acknowledged) >= KILL_AFTER

        stored = dict(read_rows(db))
        missing = [s for s in acknowledged if s not in stored]
        assert missing == [], "acknowledged but lost"
        assert all(stored[s] == "unverified" for s in acknowledged)
        # every pending row has its durable verification job
        pending = [s for s, state in stored.items() if state == "unverified"]
        assert count(db, "SELECT COUNT(*) FROM jobs") == len(pending)
    finally:
        release.set()
        if server.proc.poll() is None:
            server.kill()

    # an hour later the jobs are due; the source answers now
    again = Served(*config_args(overlay), "--at", "2017-12-01T13:00:00+01:00")
    try:
        again.wait_started()
        waited = 0.0
        while count(db, "SELECT COUNT(*) FROM linkbacks WHERE state = 'unverified'"):
            assert waited < SETTLE_LIMIT_S, "the job queue did not finish the backlog"
            await asyncio.sleep(0.1)
            waited += 0.1
        rows = dict(read_rows(db))
        assert {s: rows[s] for s in acknowledged} == dict.fromkeys(acknowledged, "held")
        assert count(db, "SELECT COUNT(*) FROM jobs") == 0
    finally:
        assert again.stop() == 0
