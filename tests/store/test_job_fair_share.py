"""Fair job claiming: a host or sender holds a bounded share of the running jobs; retries wait."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from linkbridge.jobs import fair_share
from linkbridge.model import LinkbackDraft, LinkbackProtocol, sender_group
from linkbridge.store import Store

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=1)


async def enqueue(store: Store, n: int, *, host: str = "", sender: str = "") -> int:
    return await store.enqueue_job(
        "verify", {"n": n}, NOW + timedelta(milliseconds=n), source_host=host, sender=sender
    )


async def claim_all(store: Store, **caps: int) -> list[int]:
    claimed = []
    while (job := await store.claim_job(LATER, 60, **caps)) is not None:
        claimed.append(int(str(job.payload["n"])))
    return claimed


async def test_a_sender_holds_at_most_its_share_then_others_run(store: Store) -> None:
    for n in range(5):  # the flood comes first
        await enqueue(store, n, host=f"h{n}.example", sender="2001:db8::/64")
    await enqueue(store, 9, host="good.example", sender="198.51.100.7")
    assert await claim_all(store, max_per_sender=2) == [0, 1, 9]
    # edge: a cap of 3 lets exactly one more in
    assert await claim_all(store, max_per_sender=3) == [2]


async def test_a_finished_job_frees_its_senders_place(store: Store) -> None:
    for n in range(3):
        await enqueue(store, n, host=f"h{n}.example", sender="203.0.113.9")
    first = await store.claim_job(LATER, 60, max_per_sender=1)
    assert first is not None
    assert await store.claim_job(LATER, 60, max_per_sender=1) is None
    await store.complete_job(first.id)
    second = await store.claim_job(LATER, 60, max_per_sender=1)
    assert second is not None
    assert second.payload == {"n": 1}


async def test_an_expired_lease_no_longer_counts(store: Store) -> None:
    for n in range(2):
        await enqueue(store, n, host="slow.example")
    assert await store.claim_job(LATER, 60, max_per_host=1) is not None
    assert await store.claim_job(LATER, 60, max_per_host=1) is None
    expired = LATER + timedelta(seconds=60)
    again = await store.claim_job(expired, 60, max_per_host=1)
    assert again is not None  # the lapsed job itself or its neighbour: one of them runs


async def test_a_host_holds_at_most_its_share(store: Store) -> None:
    for n in range(4):
        await enqueue(store, n, host="victim.example", sender=f"192.0.2.{n}")
    await enqueue(store, 7, host="other.example", sender="192.0.2.99")
    assert await claim_all(store, max_per_host=2) == [0, 1, 7]


async def test_jobs_without_keys_and_zero_caps_are_not_limited(store: Store) -> None:
    for n in range(3):
        await enqueue(store, n)  # webhook-like: no host, no sender
    for n in range(3, 6):
        await enqueue(store, n, host="a.example", sender="192.0.2.1")
    assert await claim_all(store, max_per_host=1, max_per_sender=1) == [0, 1, 2, 3]
    assert await claim_all(store) == [4, 5]


async def test_retries_go_behind_fresh_work(store: Store) -> None:
    old = await enqueue(store, 0, host="a.example")
    job = await store.claim_job(LATER, 60)
    assert job is not None
    assert job.id == old
    # the retry becomes due before the fresh job was even queued
    await store.retry_job(old, NOW, "fetcher: source slower than 1024 bytes/s after 3 s")
    await store.enqueue_job("verify", {"n": 1}, LATER, source_host="b.example")
    assert await claim_all(store) == [1, 0]


async def test_record_linkback_queues_its_job_with_host_and_sender(store: Store) -> None:
    draft = LinkbackDraft(
        blog="/innovation/", post_id=2187, source_url="http://flood.example/1",
        source_canonical="flood.example/1", source_host="flood.example",
        protocol=LinkbackProtocol.WEBMENTION, client_ip="2001:db8:1:2::abcd",
    )
    await store.record_linkback(
        draft, NOW, resend_is_duplicate=False, job_kind="verify", job_run_after=NOW
    )
    other = replace(draft, source_url="http://flood.example/2", source_canonical="flood.example/2",
                    client_ip="2001:db8:1:2:ffff::1")
    await store.record_linkback(
        other, NOW, resend_is_duplicate=False, job_kind="verify", job_run_after=NOW
    )
    job = await store.claim_job(LATER, 60, max_per_sender=1)
    assert job is not None
    assert (job.source_host, job.sender) == ("flood.example", "2001:db8:1:2::/64")
    assert await store.claim_job(LATER, 60, max_per_sender=1) is None  # same /64


@pytest.mark.parametrize(
    ("ip", "group"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("", ""),
        ("not an address", ""),
    ],
)
def test_sender_group(ip: str, group: str) -> None:
    assert sender_group(ip) == group


def test_fair_share_is_at_least_one() -> None:
    assert fair_share(32, 0.25) == 8
    assert fair_share(2, 0.25) == 1
    assert fair_share(0, 0.25) == 1
