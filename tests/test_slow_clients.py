"""Slowloris against a real `linkbridge serve`: partial request headers on more sockets than
its open-file limit. Other clients are still answered, held sockets are closed after
server.header_timeout_s, and the log stays quiet (a few lines, no tracebacks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings
from linkbridge.web.connections import FILE_RESERVE, connection_gate
from tests.support.serve import Served, config_args, store_overlay

BEFORE_AT = "2017-12-01T12:00:00+01:00"
OPEN_FILES = 256
"""The server's RLIMIT_NOFILE in this test; the attack opens more sockets than this."""
SERVER = "[server]\nheader_timeout_s = 5.0\nmax_connections = 120\nmax_connections_per_ip = 20\n"
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: www.naringsbloggen.se\r\nX-Slow: "

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(
        *config_args(store_overlay(tmp_path, SERVER)), "--at", BEFORE_AT, open_files=OPEN_FILES
    )
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()


async def open_partial(port: int, source: str, count: int) -> list[Conn]:
    """`count` connections from `source` that send part of a request's headers and stop."""
    conns = []
    for _ in range(count):
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
        except OSError:
            continue
        writer.write(PARTIAL)
        conns.append((reader, writer))
    return conns


async def answer(conn: Conn, wait_s: float) -> bytes | None:
    """What the server sent before closing ("HTTP/1.1 503 ..." or b""), None if still open."""
    try:
        return await asyncio.wait_for(conn[0].read(), wait_s)
    except TimeoutError:
        return None
    except OSError:
        return b""


async def healthz(port: int) -> int:
    """GET /healthz from 127.0.0.1 (a trusted proxy: exempt from the per-address cap)."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as resp,
    ):
        return resp.status


def close_all(conns: list[Conn]) -> None:
    for _, writer in conns:
        with contextlib.suppress(Exception):
            writer.close()


async def test_partial_headers_cannot_starve_other_clients(served: Served) -> None:
    port = served.port
    # two attacking addresses, 200 sockets each: 400 sockets against 256 open files
    attack = [c for src in ("127.0.0.2", "127.0.0.3") for c in await open_partial(port, src, 200)]
    try:
        assert len(attack) == 400
        for _ in range(5):
            assert await healthz(port) == 200
        answers = await asyncio.gather(*(answer(c, 1.0) for c in attack))
        held = [c for c, a in zip(attack, answers, strict=True) if a is None]
        refused = [a for a in answers if a is not None]
        assert len(held) == 2 * 20  # max_connections_per_ip from each address
        # answered 503 and closed (a reset may swallow the 503: the request was never read)
        assert all(a == b"" or a.startswith(b"HTTP/1.1 503 ") for a in refused)
        assert any(a.startswith(b"HTTP/1.1 503 ") for a in refused)
        # the header timeout closes the held ones; a generous bound, not a measurement
        closed = await asyncio.gather(*(answer(c, 15.0) for c in held))
        assert all(a == b"" for a in closed)
    finally:
        close_all(attack)

    # many addresses: the total cap (120) holds, the process keeps its files, and answers
    spread = [
        c for n in range(10, 20) for c in await open_partial(port, f"127.0.0.{n}", 20)
    ]
    try:
        statuses = [await healthz(port) for _ in range(3)]
        assert set(statuses) <= {200, 503}  # answered at once, full or not
        answers = await asyncio.gather(*(answer(c, 1.0) for c in spread))
        held = [c for c, a in zip(spread, answers, strict=True) if a is None]
        assert len(held) <= 120
        # the header timeout frees them all; then everybody is served again
        assert all(a == b"" for a in await asyncio.gather(*(answer(c, 15.0) for c in held)))
    finally:
        close_all(spread)
    assert await healthz(port) == 200

    log = "".join(served.lines)
    assert "Traceback" not in log
    assert "out of system resource" not in log
    assert len(log) < 20_000, log[-2000:]
    assert sum('"connections_refused"' in line for line in served.lines) <= 2


def test_max_connections_is_lowered_to_fit_the_open_file_limit(tmp_path: Path) -> None:
    overlay = store_overlay(tmp_path, "[server]\nmax_connections = 5000\n")
    settings = load_settings([DEFAULT_CONFIG, overlay])
    fetches = settings.fetch.global_concurrency
    gate = connection_gate(settings, limit=1024)
    assert gate.max_total == 1024 - FILE_RESERVE - fetches
    # edge: exactly enough room keeps the setting as it is
    exact = connection_gate(settings, limit=5000 + FILE_RESERVE + fetches)
    assert exact.max_total == 5000
    assert exact.max_per_address == settings.server.max_connections_per_ip
