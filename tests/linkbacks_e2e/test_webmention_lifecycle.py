"""A webmention's life: repeats, update in place, deletion, retries, restarts, shared rows."""

from __future__ import annotations

import asyncio
import xmlrpc.client
from dataclasses import replace

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackProtocol, LinkbackState
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import SEED_POST, Client, manual_clock
from tests.support.linkbacks import (
    BASE,
    TRACKBACK_PATH,
    SourceSite,
    comment_feed,
    linking_page,
    only_row,
    run_jobs,
    trackback_answer,
    unlinked_page,
)

APPROVE_LOOPBACK = '[moderation]\nallow_hosts = ["127.0.0.1"]\n'
NO_REPEAT_WINDOW = "[webmention]\nrepeat_window_s = 0\n"
JSON = {"Accept": "application/json"}


async def send(client: Client, source: str, target: str = SEED_POST) -> tuple[int, str | None]:
    resp = await client.post("/webmention", data={"source": source, "target": target})
    return resp.status, resp.headers.get("Location")


async def status_word(client: Client, location: str) -> dict[str, object]:
    resp = await client.get(location.removeprefix(BASE.rstrip("/")), headers=JSON)
    assert resp.status == 200
    doc: dict[str, object] = await resp.json()
    return doc


async def approved_mention(client: Client, source: SourceSite, path: str) -> tuple[str, str]:
    """Send and verify a mention from a pre-approved host: (source URL, Location)."""
    url = source.serve(path, linking_page())
    status, location = await send(client, url)
    assert status == 201
    assert location is not None
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.APPROVED
    return url, location


async def test_a_resend_within_the_window_is_an_update_verified_once_when_it_ends(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=APPROVE_LOOPBACK)  # repeat_window_s = 30 (the example)
    clock = manual_clock(client.app)
    url = source.serve("/a/", linking_page())
    first = await send(client, url)
    assert first[0] == 201
    # the window keys on the canonical pair: a tracking parameter names the same target
    assert await send(client, url, SEED_POST + "?utm_source=feed") == (202, first[1])
    assert (await only_row(client, url)).state == LinkbackState.UNVERIFIED
    assert await run_jobs(client) == 1  # the repeat joined the verification already queued
    assert (await only_row(client, url)).state == LinkbackState.APPROVED
    source.serve("/a/", linking_page(title="Uppdaterad"))
    for _ in range(3):  # updates within the window: accepted, the same status resource
        clock.advance(5)
        assert await send(client, url) == (202, first[1])
    row = await only_row(client, url)
    assert (row.state, row.reverify_url) == (LinkbackState.APPROVED, url)
    doc = await status_word(client, str(first[1]))
    assert (doc["status"], doc["reverification"]) == ("approved", "queued")
    assert url in await comment_feed(client)
    assert await run_jobs(client) == 0  # not before the window ends
    clock.advance(15)  # 30 s after the first send
    assert await run_jobs(client) == 1  # three repeats, one re-verification
    row = await only_row(client, url)
    assert (row.state, row.title, row.reverify_url) == (LinkbackState.APPROVED, "Uppdaterad", None)
    assert source.requests == ["/a/", "/a/"]


async def test_the_window_keys_on_the_canonical_source(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=APPROVE_LOOPBACK)
    url = source.serve("/a/", linking_page())
    first = await send(client, url)
    assert first[0] == 201
    # a fragment and an escaped unreserved character name the same page: an update, one row
    assert await send(client, url.replace("/a/", "/%61/") + "#svar") == (202, first[1])
    rows = await client.app[keys.STORE].list_linkbacks(host="127.0.0.1")
    assert len(rows) == 1
    assert await run_jobs(client) == 1  # the repeat joined the verification already queued


async def test_rate_limited_webmentions_say_when_to_retry_and_resends_count(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra="[webmention]\nrate_per_min = 3\n")
    url = source.serve("/r/", linking_page())
    assert (await send(client, url))[0] == 201
    assert (await send(client, url))[0] == 202  # a re-send (an update) counts
    assert (await send(client, url))[0] == 202
    resp = await client.post("/webmention", data={"source": url, "target": SEED_POST})
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_refused_requests_do_not_start_the_repeat_window(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/a/", linking_page())
    target = BASE + "innovation/innovationsstrategi/finns-inte/"
    assert (await send(client, url, target))[0] == 400
    assert (await send(client, url, target))[0] == 400  # not 429


async def test_resend_after_the_window_updates_in_place_and_stays_shown_meanwhile(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra="[webmention]\nrepeat_window_s = 0.2\n" + APPROVE_LOOPBACK)
    url, location = await approved_mention(client, source, "/uppdaterad/")
    first = await only_row(client, url)
    manual_clock(client.app).advance(0.25)
    source.serve("/uppdaterad/", linking_page(title="Omvärldsspaning, uppdaterad"))
    assert await send(client, url) == (202, location)  # the SAME status resource
    row = await only_row(client, url)
    assert (row.id, row.state) == (first.id, LinkbackState.APPROVED)
    doc = await status_word(client, location)
    assert (doc["status"], doc["reverification"]) == ("approved", "queued")
    assert url in await comment_feed(client)  # still shown while re-verifying
    assert await run_jobs(client) == 1
    row = await only_row(client, url)
    assert (row.id, row.state, row.title) == (
        first.id,
        LinkbackState.APPROVED,
        "Omvärldsspaning, uppdaterad",
    )
    assert "reverification" not in await status_word(client, location)
    assert source.requests == ["/uppdaterad/", "/uppdaterad/"]


@pytest.mark.parametrize(
    ("page", "status", "reason"),
    [
        (linking_page(), 410, "410"),
        ("<html><head><meta http-equiv='Status' content='410 Gone'></head></html>", 200, "410"),
        (unlinked_page(), 200, "no link"),
    ],
    ids=["410", "meta 410", "link removed from a page read whole"],
)
async def test_a_shown_mention_is_deleted_only_on_positive_evidence(
    linkbridge: LinkbridgeFactory, source: SourceSite, page: str, status: int, reason: str
) -> None:
    client = await linkbridge(extra=NO_REPEAT_WINDOW + APPROVE_LOOPBACK)
    url, location = await approved_mention(client, source, "/borta/")
    assert url in await comment_feed(client)
    source.serve("/borta/", page, status=status)
    assert await send(client, url) == (202, location)
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.DELETED
    doc = await status_word(client, location)
    assert doc["status"] == "deleted"
    assert reason in str(doc["reason"])
    assert url not in await comment_feed(client)
    source.serve("/borta/", linking_page())  # the page comes back: a re-send restores it
    assert await send(client, url) == (202, location)
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.APPROVED


def _long_page_with_the_link_past(cap: int) -> str:
    filler = "<p>" + "Utfyllnad om innovationsupphandling. " * (cap // 30) + "</p>"
    return linking_page().replace("<article>", "<article>" + filler)


@pytest.mark.parametrize(
    "failure", ["404", "link past the byte cap", "refused by the address policy"]
)
async def test_what_is_not_evidence_changes_nothing(
    linkbridge: LinkbridgeFactory, source: SourceSite, failure: str
) -> None:
    client = await linkbridge(extra=NO_REPEAT_WINDOW + APPROVE_LOOPBACK)
    url, location = await approved_mention(client, source, "/kvar/")
    before = await only_row(client, url)
    decisions = await client.app[keys.STORE].decisions(before.id)
    if failure == "404":
        source.serve("/kvar/", "not here", status=404)
    elif failure == "link past the byte cap":
        cap = client.app[keys.SETTINGS].webmention.max_bytes
        source.serve("/kvar/", _long_page_with_the_link_past(cap))
    else:  # the sender's host now resolves somewhere we never fetch: no evidence either way
        await client.close()
        client = await linkbridge(extra=NO_REPEAT_WINDOW + '[fetch]\nallow_networks = []\n')
    assert await send(client, url) == (202, location)
    await run_jobs(client)
    after = await only_row(client, url)
    assert after == replace(before, client_ip=after.client_ip)
    assert await client.app[keys.STORE].decisions(before.id) == decisions
    assert (await status_word(client, location))["status"] == "approved"
    assert url in await comment_feed(client)


async def test_a_held_mention_whose_link_is_removed_fails_rather_than_deleted(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=NO_REPEAT_WINDOW)
    url = source.serve("/held/", linking_page())
    assert (await send(client, url))[0] == 201
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.HELD
    source.serve("/held/", unlinked_page())
    await send(client, url)
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.FAILED


@pytest.mark.parametrize("failure", ["500", "503", "429", "timeout", "connection refused"])
async def test_transient_failures_retry_with_backoff_then_keep_the_mention(
    linkbridge: LinkbridgeFactory, source: SourceSite, failure: str
) -> None:
    extra = (
        NO_REPEAT_WINDOW
        + APPROVE_LOOPBACK
        + "[fetch]\nmax_attempts = 3\nretry_base_s = 60\ntimeout_s = 0.5\n"
    )
    client = await linkbridge(extra=extra)
    url, location = await approved_mention(client, source, "/instabil/")
    if failure == "timeout":
        source.serve("/instabil/", linking_page(), hang=True)
    elif failure == "connection refused":
        assert source.server is not None
        await source.server.close()
    else:
        source.serve("/instabil/", "try later", status=int(failure))
    assert await send(client, url) == (202, location)
    worker, clock = client.app[keys.WORKER], manual_clock(client.app)

    assert await worker.run_once()  # attempt 1 of 3
    for delay_s in (60, 120):  # retry_base_s, doubling
        row = await only_row(client, url)
        assert (row.state, row.reverify_url) == (LinkbackState.APPROVED, url)
        assert url in await comment_feed(client)
        assert (await status_word(client, location))["status"] == "approved"
        clock.advance(delay_s - 1)
        assert not await worker.run_once()  # not due yet: the backoff holds
        clock.advance(1)
        assert await worker.run_once()
    row = await only_row(client, url)
    assert (row.state, row.reverify_url) == (LinkbackState.APPROVED, None)  # never deleted
    assert await run_jobs(client) == 0
    decisions = await client.app[keys.STORE].decisions(row.id)
    assert LinkbackState.DELETED not in {d.new_state for d in decisions}
    assert url in await comment_feed(client)


async def test_jobs_queued_at_shutdown_finish_after_a_restart(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    sent = {}
    for n in range(4):
        page = linking_page() if n % 2 == 0 else unlinked_page()
        url = source.serve(f"/{n}/", page)
        status, location = await send(client, url)
        assert status == 201
        sent[url] = location
    assert len(await client.app[keys.STORE].list_linkbacks(states=[LinkbackState.UNVERIFIED])) == 4
    await client.close()  # nothing ran: the worker was held
    assert source.requests == []

    client = await linkbridge(background_jobs=True)  # same SQLite file, same settings
    store = client.app[keys.STORE]

    async def settled() -> None:  # a job is completed just after its row is decided
        while await store.count_jobs() or await store.list_linkbacks(
            states=[LinkbackState.UNVERIFIED]
        ):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(settled(), timeout=30)  # a bound against hanging, not a measure
    for n, location in enumerate(sent.values()):
        doc = await status_word(client, str(location))
        assert doc["status"] == ("verified-held" if n % 2 == 0 else "failed"), (n, doc)
    assert sorted(source.requests) == ["/0/", "/1/", "/2/", "/3/"]


async def test_a_job_cut_off_mid_fetch_runs_again_once_its_lease_expires(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/lang/", linking_page(), hang=True)
    assert (await send(client, url))[0] == 201
    running = asyncio.create_task(client.app[keys.WORKER].run_once())
    while source.requests != ["/lang/"]:  # the fetch is under way
        await asyncio.sleep(0.01)
    await client.close()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    source.serve("/lang/", linking_page())

    client = await linkbridge()
    lease_s = client.app[keys.WORKER].lease_s
    assert await run_jobs(client) == 0  # still leased by the process that died
    manual_clock(client.app).advance(lease_s)
    assert await run_jobs(client) == 1
    assert (await only_row(client, url)).state == LinkbackState.HELD


# ---------------------------------------------------------------- one row across protocols


def pingback_call(source: str, target: str = SEED_POST) -> bytes:
    return xmlrpc.client.dumps((source, target), "pingback.ping").encode()


async def test_pingback_then_webmention_from_one_source_is_one_row(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=NO_REPEAT_WINDOW)
    url = source.serve("/2017/12/svar/", linking_page())
    resp = await client.post(
        "/xmlrpc.php", data=pingback_call(url), headers={"Content-Type": "text/xml"}
    )
    assert resp.status == 200
    assert "registered" in await resp.text()
    row = await only_row(client, url)
    assert (row.protocol, row.state) == (LinkbackProtocol.PINGBACK, LinkbackState.HELD)

    status, location = await send(client, url)
    assert status == 202  # an update of the pingback's row
    assert location is not None
    again = await only_row(client, url)
    assert again.id == row.id
    await run_jobs(client)
    again = await only_row(client, url)
    assert (again.id, again.state) == (row.id, LinkbackState.HELD)
    assert (await status_word(client, location))["status"] == "verified-held"

    await client.app[keys.STORE].set_state(
        row.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="ok",
        now=client.app[keys.CLOCK].now(),
    )
    assert (await status_word(client, location))["status"] == "approved"
    assert (await comment_feed(client)).count(url) == 1


async def test_webmention_then_pingback_and_trackback_are_duplicates_of_the_one_row(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge()
    url = source.serve("/2017/12/svar/", linking_page())
    assert (await send(client, url))[0] == 201
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.HELD
    resp = await client.post(
        "/xmlrpc.php", data=pingback_call(url), headers={"Content-Type": "text/xml"}
    )
    assert "<int>48</int>" in await resp.text()
    resp = await client.post(TRACKBACK_PATH, data={"url": url})
    error, message = trackback_answer(await resp.read())
    assert error == 1
    assert "already" in message
    again = await only_row(client, url)
    assert (again.id, again.state, again.protocol) == (
        row.id,
        LinkbackState.HELD,
        LinkbackProtocol.WEBMENTION,
    )
    await client.app[keys.STORE].set_state(
        row.id,
        LinkbackState.SPAM,
        actor="moderator",
        reason="spam",
        now=client.app[keys.CLOCK].now(),
    )
    resp = await client.post(TRACKBACK_PATH, data={"url": url})  # a spam verdict stands
    assert trackback_answer(await resp.read())[0] == 1
    assert (await only_row(client, url)).state == LinkbackState.SPAM


async def test_a_moderator_approved_mention_stays_approved_after_an_update(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=NO_REPEAT_WINDOW)  # 127.0.0.1 is a first-time host
    url = source.serve("/godkand/", linking_page())
    _, location = await send(client, url)
    assert location is not None
    await run_jobs(client)
    row = await only_row(client, url)
    assert row.state == LinkbackState.HELD
    store, clock = client.app[keys.STORE], manual_clock(client.app)
    await store.set_state(
        row.id, LinkbackState.APPROVED, actor="moderator", reason="ok", now=clock.now()
    )
    assert await send(client, url) == (202, location)
    await run_jobs(client)
    assert (await only_row(client, url)).state == LinkbackState.APPROVED
