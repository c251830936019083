"""One write transaction to accept a pingback, one to record its verification with its job's
completion, and none at all while the service is idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from linkbridge import keys
from linkbridge.model import LinkbackState
from tests.support import Client
from tests.support.pingback import SUCCESS_WORDS, SourceSite, ping

AppFor = Callable[..., Awaitable[Client]]
FAST_POLLS = "[jobs]\nidle_poll_s = 0.02\n"


async def test_a_verified_pingback_takes_two_write_transactions(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    store = client.app[keys.STORE]
    engine = store.engine  # type: ignore[attr-defined]
    source = site.linking("/2017/12/en-skrivning/")
    writes = engine.writes
    answer = await ping(client, source)
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer
    assert engine.writes - writes == 2  # accept (row + backstop job), then outcome + job done
    (row,) = await store.list_linkbacks(states=[LinkbackState.HELD])
    assert row.source_url == source
    assert await store.count_jobs() == 0


async def test_a_verified_pingback_reads_nothing_before_its_writes(
    site: SourceSite, app_for: AppFor
) -> None:
    # the daily cap is counted in the accepting transaction, whether the host is known in
    # the deciding one: no read of its own (polls are put off so that none lands in between)
    client = await app_for(extra="[store]\npoll_interval_s = 3600\n[jobs]\nidle_poll_s = 3600\n")
    engine = client.app[keys.STORE].engine  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    source = site.linking("/2017/12/ingen-lasning/")
    writes, reads = engine.writes, engine.reads
    answer = await ping(client, source)
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer
    assert (engine.writes - writes, engine.reads - reads) == (2, 0)


async def test_an_idle_service_takes_no_write_lock(app_for: AppFor) -> None:
    client = await app_for(extra=FAST_POLLS)
    engine = client.app[keys.STORE].engine  # type: ignore[attr-defined]
    await asyncio.sleep(0)  # start-up writes (the example WXR import) are done by now
    writes, reads = engine.writes, engine.reads
    for _ in range(500):  # until the idle worker has looked for due jobs a few times
        if engine.reads - reads >= 5:
            break
        await asyncio.sleep(0.02)
    assert engine.reads - reads >= 5
    assert engine.writes == writes
