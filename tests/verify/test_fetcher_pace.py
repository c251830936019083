"""fetch.min_bytes_per_s and fetch.rate_grace_s: a trickling source is cut off, not waited on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from linkbridge.verify import SafeFetcher, SourceUnreachableError

StartSource = Callable[..., Awaitable[Any]]
MakeFetcher = Callable[..., SafeFetcher]


def trickle(
    first: int, step: int, every_s: float, steps: int, *, headers_after_s: float = 0.0
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Answer `first` bytes at once, then `step` bytes every `every_s`, `steps` times."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(headers_after_s)
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        await resp.write(b"<" + b"p" * max(0, first - 1))
        for _ in range(steps):
            await asyncio.sleep(every_s)
            await resp.write(b"x" * step)
        await resp.write_eof()
        return resp

    return handler


async def test_a_trickling_source_is_cut_off_at_the_minimum_rate(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    # 10 bytes every 0.1 s is 100 bytes/s, a tenth of the minimum: it would take 20 s whole.
    src = await start_source({"/": trickle(10, 10, 0.1, 200)})
    fetcher = make_fetcher((src.port,), min_bytes_per_s=1000, rate_grace_s=0.2, timeout_s=60)
    with pytest.raises(SourceUnreachableError, match="slower than 1000 bytes/s"):
        await fetcher.fetch(src.url(), max_bytes=65536, max_redirects=0)


@pytest.mark.slow
async def test_bytes_ahead_of_the_pace_buy_time_for_a_slow_tail(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    # 20,000 bytes at once are 20 s of credit at 1,000 bytes/s; the 1 s slow tail fits in it.
    src = await start_source({"/": trickle(20000, 10, 0.1, 10)})
    fetcher = make_fetcher((src.port,), min_bytes_per_s=1000, rate_grace_s=0.2, timeout_s=60)
    result = await fetcher.fetch(src.url(), max_bytes=65536, max_redirects=0)
    assert len(result.body) == 20000 + 100
    assert not result.truncated


async def test_headers_must_arrive_within_the_grace_time(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": trickle(100, 0, 0, 0, headers_after_s=2.0)})
    fetcher = make_fetcher((src.port,), min_bytes_per_s=1000, rate_grace_s=0.2, timeout_s=60)
    with pytest.raises(SourceUnreachableError, match="slower than"):
        await fetcher.fetch(src.url(), max_bytes=65536, max_redirects=0)


@pytest.mark.slow
async def test_min_bytes_per_s_zero_waits_for_a_slow_source(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": trickle(10, 10, 0.05, 10, headers_after_s=0.5)})
    fetcher = make_fetcher((src.port,), min_bytes_per_s=0, rate_grace_s=0.1, timeout_s=60)
    result = await fetcher.fetch(src.url(), max_bytes=65536, max_redirects=0)
    assert len(result.body) == 110
