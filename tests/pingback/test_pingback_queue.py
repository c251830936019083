"""The inline budget, "queued" answers finished by the job queue, load and duplicate races."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from linkbridge import keys
from linkbridge.model import Linkback, LinkbackState
from tests.support import SEED_POST, Client, ManualClock
from tests.support.pingback import (
    QUEUED_WORDS,
    SUCCESS_WORDS,
    SourceSite,
    call_body,
    fault_code,
    ping,
    post_raw,
    wait_until,
)

AppFor = Callable[..., Awaitable[Client]]
FAST_LIMITS = "[fetch]\nper_host_rate_per_min = 100000\nper_host_concurrency = 50\n"


async def rows(client: Client) -> list[Linkback]:
    found = await client.app[keys.STORE].list_linkbacks(host="127.0.0.1", limit=10_000)
    return list(found)


def manual_clock(client: Client) -> ManualClock:
    clock = client.app[keys.CLOCK]
    assert isinstance(clock, ManualClock)
    return clock


async def test_slow_source_past_the_budget_is_queued_then_verified(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for(extra="[pingback]\ninline_budget_s = 0.3\n")
    source = site.linking("/langsam/", delay_s=1.0)
    answer = await ping(client, source)
    assert isinstance(answer, str)
    assert QUEUED_WORDS in answer
    (row,) = await rows(client)
    assert row.state == LinkbackState.UNVERIFIED  # stored before the answer, not yet verified

    async def held() -> bool:
        return [lb.state for lb in await rows(client)] == [LinkbackState.HELD]

    await wait_until(held, "the slow source verified after the answer")
    assert await client.app[keys.STORE].count_jobs() == 0  # its job was completed too


async def test_transient_source_is_queued_and_retried_by_the_job_queue(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    source = site.linking("/trasig/", status=500)
    answer = await ping(client, source)
    assert isinstance(answer, str)
    assert QUEUED_WORDS in answer
    (row,) = await rows(client)
    assert row.state == LinkbackState.UNVERIFIED
    assert await client.app[keys.STORE].count_jobs() == 1  # the retry is scheduled

    site.linking("/trasig/")  # the source recovers
    worker = client.app[keys.WORKER]
    assert not await worker.run_once()  # not due before its backoff
    manual_clock(client).advance(3600)
    assert await worker.run_once()
    (row,) = await rows(client)
    assert row.state == LinkbackState.HELD
    assert site.hits == ["/trasig/", "/trasig/"]


async def test_two_hundred_simultaneous_pingbacks_are_all_answered_and_stored_once(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for(extra=FAST_LIMITS)
    sources = [site.linking(f"/p/{n}/") for n in range(200)]

    async def one(source: str) -> object:
        _, answer = await post_raw(client, call_body("pingback.ping", source, SEED_POST))
        return answer

    answers = await asyncio.gather(*(one(s) for s in sources))
    assert all(isinstance(a, str) for a in answers), [a for a in answers if not isinstance(a, str)]
    assert all(SUCCESS_WORDS in a or QUEUED_WORDS in a for a in answers)
    stored = await rows(client)
    assert sorted(lb.source_url for lb in stored) == sorted(sources)  # each exactly once


async def test_the_same_pingback_twice_at_once_is_one_row_one_success_one_48(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    source = site.linking("/dubbel/", delay_s=0.2)  # both arrive while the first is verifying
    body = call_body("pingback.ping", source, SEED_POST)
    (_, first), (_, second) = await asyncio.gather(post_raw(client, body), post_raw(client, body))
    codes = sorted([fault_code(first), fault_code(second)], key=str)
    assert codes == [48, None]
    assert SUCCESS_WORDS in (first if isinstance(first, str) else second)
    (row,) = await rows(client)
    assert row.state == LinkbackState.HELD
    assert site.hits == ["/dubbel/"]  # one fetch
