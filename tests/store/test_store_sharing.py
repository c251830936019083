"""Two Store instances on the same data, as two processes or servers would hold them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from linkbridge.errors import LimitReached
from linkbridge.model import (
    ChangeNote,
    Hit,
    HitBatch,
    LinkbackDraft,
    LinkbackProtocol,
    ReceiveLimits,
    RuleKind,
)
from linkbridge.store import Store
from tests.store.conftest import Backend
from tests.store.test_sqlite_store import draft

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
async def pair(store: Store, backend: Backend) -> AsyncIterator[tuple[Store, Store]]:
    other = backend.make()
    await other.open()
    yield store, other
    await other.close()


async def test_the_same_linkback_at_once_is_stored_once(pair: tuple[Store, Store]) -> None:
    a, b = pair
    results = await asyncio.gather(
        *(s.record_linkback(draft(7), NOW, resend_is_duplicate=True, job_kind="verify")
          for s in (a, b) * 4)
    )
    assert len({r.linkback.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len({r.job_id for r in results}) == 1
    assert await a.count_jobs() == 1


async def test_concurrent_claims_never_share_a_job(pair: tuple[Store, Store]) -> None:
    a, b = pair
    ids = [await a.enqueue_job("verify", {"n": n}, NOW) for n in range(12)]

    async def drain(s: Store) -> list[int]:
        got = []
        while (job := await s.claim_job(NOW, lease_s=60)) is not None:
            got.append(job.id)
        return got

    claimed = await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
    flat = [i for part in claimed for i in part]
    assert sorted(flat) == sorted(ids)  # every job once, none twice
    assert await b.claim_job(NOW + timedelta(seconds=59), 60) is None  # all still leased
    again = await b.claim_job(NOW + timedelta(seconds=60), 60)  # a lease ran out: reclaimed
    assert again is not None
    assert again.attempts == 2


async def test_hit_flushes_add_up_across_instances(pair: tuple[Store, Store]) -> None:
    a, b = pair
    day = "2018-02-01"
    keys = [(f"/innovation/p{i}", 301, RuleKind.EXACT) for i in range(20)]
    await asyncio.gather(
        *(s.add_hits(HitBatch.of(Hit(day, p, st, r, n + 1) for p, st, r in keys),
                     paths_per_day_max=15)
          for n, s in enumerate((a, b) * 5))
    )
    per_flush = sum(range(1, 11))
    (total,) = await b.hit_days()
    assert total.hits == 20 * per_flush  # exact, whichever instance flushed what
    top = await a.top_hits(limit=100)
    assert len(top) == 15  # the cap held across instances
    assert sum(h.count for h in top) + total.other_paths == total.hits


async def test_a_change_reaches_the_other_instance(
    pair: tuple[Store, Store], backend: Backend
) -> None:
    """PostgreSQL wakes the waiter by NOTIFY, not by its (here very long) fallback poll;
    SQLite has no signal and returns after its poll interval."""
    a, b = pair
    before = await b.version()
    waiter = asyncio.create_task(b.wait_for_change(60.0 if backend.name == "postgres" else 0.2))
    await asyncio.sleep(0.1)  # the waiter is waiting
    started = time.monotonic()
    await a.edit_host(
        "spam.example", "block", present=True, note=ChangeNote("block", "anna", "", NOW)
    )
    await waiter
    assert await b.version() == before + 1
    if backend.name == "postgres":
        assert time.monotonic() - started < 30.0  # the NOTIFY, not the 60 s poll


async def test_two_verifiers_decide_a_row_once(pair: tuple[Store, Store]) -> None:
    """Compare-and-set: the second instance to settle the same unverified row is told so."""
    from linkbridge.errors import AlreadyDecided
    from linkbridge.model import LinkbackState as S

    a, b = pair
    lb = (await a.record_linkback(draft(9), NOW, resend_is_duplicate=True)).linkback
    outcomes = await asyncio.gather(
        *(s.set_state(lb.id, S.APPROVED, actor="rule", reason="verified", now=NOW,
                      from_state=S.UNVERIFIED) for s in (a, b, a, b)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyDecided) for o in outcomes if isinstance(o, BaseException))
    assert [d.new_state for d in await b.decisions(lb.id)] == [S.APPROVED]


def limited(n: int, *, host: str = "www.logistikfokus.se", ip: str = "192.0.2.7") -> LinkbackDraft:
    from dataclasses import replace

    return replace(draft(n, host=host), client_ip=ip)


@pytest.mark.parametrize("rate_max", [1, 5])
async def test_the_client_rate_holds_across_instances_at_its_edge(
    pair: tuple[Store, Store], rate_max: int
) -> None:
    a, b = pair
    limits = ReceiveLimits(rate_since=NOW - timedelta(seconds=60), rate_max=rate_max)
    outcomes = await asyncio.gather(
        *(s.record_linkback(limited(n), NOW, resend_is_duplicate=True, limits=limits)
          for n, s in enumerate((a, b) * 6)),
        return_exceptions=True,
    )
    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, LimitReached)]
    assert len(accepted) == rate_max
    assert len(refused) == 12 - rate_max
    assert {e.reason for e in refused} == {"rate_limited"}
    # another address, and the same address after the window, are not limited
    await a.record_linkback(limited(99, ip="192.0.2.8"), NOW, resend_is_duplicate=True,
                            limits=limits)
    later = ReceiveLimits(rate_since=NOW + timedelta(microseconds=1), rate_max=rate_max)
    await b.record_linkback(limited(98), NOW + timedelta(seconds=61), resend_is_duplicate=True,
                            limits=later)


@pytest.mark.parametrize("cap", [1, 7])
async def test_the_host_cap_holds_under_concurrency_at_its_edge(
    pair: tuple[Store, Store], cap: int
) -> None:
    a, b = pair
    limits = ReceiveLimits(host_since=NOW - timedelta(hours=1), host_max=cap)
    outcomes = await asyncio.gather(
        *(s.record_linkback(limited(n, ip=f"192.0.2.{n}"), NOW, resend_is_duplicate=True,
                            limits=limits)
          for n, s in enumerate((a, b) * 8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == cap
    assert {o.reason for o in outcomes if isinstance(o, LimitReached)} == {"daily_cap"}
    assert len(await a.list_linkbacks(host="www.logistikfokus.se")) == cap


async def test_a_resend_in_the_repeat_window_waits_for_its_end_on_any_instance(
    pair: tuple[Store, Store],
) -> None:
    from linkbridge.model import LinkbackProtocol

    a, b = pair
    mention = replace_protocol(limited(5), LinkbackProtocol.WEBMENTION)
    window = ReceiveLimits(repeat_window_s=30.0)
    first = await a.record_linkback(mention, NOW, resend_is_duplicate=False, job_kind="verify",
                                    limits=window)
    assert first.created
    verified = await a.claim_job(NOW, 60)  # the first receipt is verified at once
    assert verified is not None
    await a.complete_job(verified.id)
    # re-sent to the other instance inside the window: its job waits for the window's end
    inside = await b.record_linkback(mention, NOW + timedelta(seconds=29),
                                     resend_is_duplicate=False, job_kind="verify", limits=window)
    assert inside.job_id is not None
    assert await a.claim_job(NOW + timedelta(seconds=29, milliseconds=999), 60) is None
    job = await b.claim_job(NOW + timedelta(seconds=30), 60)
    assert job is not None
    assert job.id == inside.job_id
    await b.complete_job(job.id)
    # after the window, a re-send opens the next one and is verified at once
    after = await a.record_linkback(mention, NOW + timedelta(seconds=31),
                                    resend_is_duplicate=False, job_kind="verify", limits=window)
    assert await b.claim_job(NOW + timedelta(seconds=31), 60) is not None
    assert after.job_id is not None


def replace_protocol(d: LinkbackDraft, protocol: LinkbackProtocol) -> LinkbackDraft:
    from dataclasses import replace

    return replace(d, protocol=protocol)
