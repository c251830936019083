"""The intake pipeline end to end through the app: moderation rule, refusals, re-verification."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.intake import Answer, Incoming, IntakeResult, Refusal
from linkbridge.model import ChangeNote, Linkback, LinkbackProtocol, LinkbackState
from linkbridge.store.base import sqlite_path
from linkbridge.store.sqlite.engine import ts
from tests.support import SEED_POST, AppFactory, Client, manual_clock, page_linking_to

S = LinkbackState
SourceFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class Source:
    """A loopback source whose pages answer as `modes[path]` says, counting every request."""

    server: TestServer | None = None
    modes: dict[str, str] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        mode = self.modes.get(request.path, "link")
        if mode == "link":
            return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")
        if mode == "nolink":
            return web.Response(
                text="<html><body><p>Inget här.</p></body></html>", content_type="text/html"
            )
        if mode == "gone":
            return web.Response(status=410, text="gone")
        return web.Response(status=500, text="oops")

    @property
    def port(self) -> int:
        assert self.server is not None
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def source(source_server: SourceFactory) -> Source:
    src = Source()
    app = web.Application()
    app.router.add_get("/{tail:.*}", src.handle)
    src.server = await source_server(app)
    return src


@pytest.fixture
def start(lb_app: AppFactory, source: Source) -> Callable[..., Awaitable[Client]]:
    async def go(extra: str = "") -> Client:
        return await lb_app(ports=(source.port,), extra=extra)

    return go


async def receive(
    client: Client, source_url: str, protocol: LinkbackProtocol = LinkbackProtocol.PINGBACK
) -> IntakeResult:
    """A queued (job-verified) intake, as webmention and trackback use it."""
    incoming = Incoming(protocol, source_url, SEED_POST, client_ip="192.0.2.7")
    return await client.app[keys.INTAKE].receive(incoming)


def in_flight(client: Client) -> int:
    """Jobs leased right now (the app's background worker may have picked one up)."""
    path = sqlite_path(client.app[keys.SETTINGS].store.url)
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE lease_until > ?", (ts(client.app[keys.CLOCK].now()),)
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


async def run_jobs(client: Client) -> None:
    """Run every job due at the clock's time, whichever worker picks it up, until none is."""
    worker = client.app[keys.WORKER]
    while True:
        if await worker.run_once():
            continue
        if not in_flight(client):
            return
        await asyncio.sleep(0.02)  # the background worker holds one: let it finish


async def state_of(client: Client, result: IntakeResult) -> Linkback:
    assert result.linkback is not None
    lb = await client.app[keys.STORE].get_linkback(result.linkback.id)
    assert lb is not None
    return lb


async def verified(
    client: Client, source_url: str, protocol: LinkbackProtocol = LinkbackProtocol.PINGBACK
) -> Linkback:
    result = await receive(client, source_url, protocol)
    assert result.answer == Answer.QUEUED, result
    await run_jobs(client)
    return await state_of(client, result)


# ------------------------------------------------------------------ moderation rule


async def test_first_time_host_is_held_then_known_host_is_approved(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    first = await verified(client, source.url("/forsta/"))
    assert first.state == S.HELD
    assert first.verified_at is not None
    assert first.title == "A page that links"
    store = client.app[keys.STORE]
    await store.set_state(
        first.id, S.APPROVED, actor="anna", reason="ok", now=client.app[keys.CLOCK].now()
    )
    second = await verified(client, source.url("/andra/"))
    assert second.state == S.APPROVED
    assert (await store.decisions(second.id))[-1].actor == "rule"


async def test_always_hold_holds_even_known_hosts(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start("[moderation]\nalways_hold = true\n")
    first = await verified(client, source.url("/forsta/"))
    await client.app[keys.STORE].set_state(
        first.id, S.APPROVED, actor="anna", reason="", now=client.app[keys.CLOCK].now()
    )
    assert (await verified(client, source.url("/andra/"))).state == S.HELD


async def test_allow_hosts_approves_first_time(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start('[moderation]\nallow_hosts = ["127.0.0.1"]\n')
    assert (await verified(client, source.url("/forsta/"))).state == S.APPROVED


async def test_imported_linkback_makes_its_host_known(
    start: Callable[..., Awaitable[Client]],
) -> None:
    client = await start()
    store = client.app[keys.STORE]
    imported = [
        lb for lb in await store.list_linkbacks() if lb.source_host.endswith("logistikfokus.se")
    ]
    assert [(lb.state, lb.protocol) for lb in imported] == [(S.APPROVED, LinkbackProtocol.PINGBACK)]
    # what the moderation rule reads in the deciding transaction: an approved row of the host
    assert await store.list_linkbacks(states=[S.APPROVED], host=imported[0].source_host)


# ------------------------------------------------------------------ refusals before any fetch


async def test_blocked_host_from_config_is_refused_before_any_fetch(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start('[moderation]\nblock_hosts = ["127.0.0.1"]\n')
    result = await receive(client, source.url("/spam/"))
    assert (result.answer, result.refusal) == (Answer.REFUSED, Refusal.BLOCKED)
    await run_jobs(client)
    assert source.hits == []
    assert await client.app[keys.STORE].list_linkbacks(host="127.0.0.1") == []


async def test_blocked_host_from_store_is_refused_once_live_state_reloads(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    store, live = client.app[keys.STORE], client.app[keys.LIVE]
    now = client.app[keys.CLOCK].now()
    await store.edit_host(
        "127.0.0.1", "block", present=True, note=ChangeNote("block", "anna", "spam", now)
    )
    assert await live.refresh()  # what the poller does every store.poll_interval_s
    result = await receive(client, source.url("/spam/"))
    assert result.refusal == Refusal.BLOCKED
    await store.edit_host(
        "127.0.0.1", "block", present=False, note=ChangeNote("unblock", "anna", "", now)
    )
    await live.refresh()
    assert (await receive(client, source.url("/spam/"))).answer == Answer.QUEUED
    assert source.hits == []  # queued, not fetched yet


async def test_daily_cap_at_its_edge(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start("[moderation]\nper_host_daily_cap = 3\n")
    for n in range(3):
        assert (await receive(client, source.url(f"/{n}/"))).answer == Answer.QUEUED
    over = await receive(client, source.url("/3/"))
    assert (over.answer, over.refusal) == (Answer.REFUSED, Refusal.DAILY_CAP)
    clock = manual_clock(client.app)
    # the cap counts per UTC day: the next day starts fresh
    now = clock.now()
    clock.set(now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    assert (await receive(client, source.url("/3/"))).answer == Answer.QUEUED


async def test_after_the_instant_nothing_is_stored(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    manual_clock(client.app).set(client.app[keys.SETTINGS].site.shutdown_at)
    result = await receive(client, source.url("/sent-late/"))
    assert result.refusal == Refusal.AFTER_SHUTDOWN
    assert result.successor.startswith("https://www.regeringen.se/")
    assert await client.app[keys.STORE].list_linkbacks(host="127.0.0.1") == []


# ------------------------------------------------------------------ re-verification table


async def test_no_link_fails(start: Callable[..., Awaitable[Client]], source: Source) -> None:
    client = await start()
    source.modes["/tom/"] = "nolink"
    lb = await verified(client, source.url("/tom/"))
    assert lb.state == S.FAILED
    assert "no link" in lb.reason
    assert await client.app[keys.STORE].count_jobs() == 0


async def test_a_first_send_whose_source_is_gone_fails_not_deleted(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    source.modes["/borta/"] = "gone"
    lb = await verified(client, source.url("/borta/"), LinkbackProtocol.WEBMENTION)
    assert lb.state == S.FAILED  # it was never shown: nothing to delete
    assert "410" in lb.reason
    decisions = await client.app[keys.STORE].decisions(lb.id)
    assert S.DELETED not in {d.new_state for d in decisions}


async def test_transient_retries_with_backoff_then_fails_at_max_attempts(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start("[fetch]\nmax_attempts = 3\nretry_base_s = 10.0\n")
    clock = manual_clock(client.app)
    source.modes["/trasig/"] = "error"
    result = await receive(client, source.url("/trasig/"))
    await run_jobs(client)
    assert len(source.hits) == 1
    assert (await state_of(client, result)).state == S.UNVERIFIED
    # backoff doubles: 10 s, then 20 s; nothing runs a moment before the delay is up
    for attempt, delay in ((2, 10.0), (3, 20.0)):
        clock.advance(delay - 0.001)
        await run_jobs(client)
        assert len(source.hits) == attempt - 1
        clock.advance(0.001)
        await run_jobs(client)
        assert len(source.hits) == attempt
        if attempt < 3:
            assert (await state_of(client, result)).state == S.UNVERIFIED
    lb = await state_of(client, result)
    assert lb.state == S.FAILED
    assert "gave up after 3 attempts" in lb.reason
    assert await client.app[keys.STORE].count_jobs() == 0


async def approved_row(client: Client, source: Source, path: str) -> Linkback:
    """A webmention from the source, verified and approved by a moderator."""
    lb = await verified(client, source.url(path), LinkbackProtocol.WEBMENTION)
    assert lb.state == S.HELD
    return await client.app[keys.STORE].set_state(
        lb.id, S.APPROVED, actor="anna", reason="bra", now=client.app[keys.CLOCK].now()
    )


async def test_approved_resend_stays_approved_while_pending_and_after_transient_failures(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start("[fetch]\nmax_attempts = 2\nretry_base_s = 10.0\n")
    lb = await approved_row(client, source, "/visad/")
    decided = await client.app[keys.STORE].decisions(lb.id)
    source.modes["/visad/"] = "error"
    again = await receive(client, source.url("/visad/"), LinkbackProtocol.WEBMENTION)
    assert again.answer == Answer.QUEUED
    resent = await state_of(client, again)
    assert (resent.id, resent.state) == (lb.id, S.APPROVED)  # a marker, not a state change
    assert resent.reverify_url == source.url("/visad/")
    await run_jobs(client)
    assert (await state_of(client, again)).state == S.APPROVED
    manual_clock(client.app).advance(10.0)
    await run_jobs(client)
    back = await state_of(client, again)
    assert (back.state, back.reverify_url) == (S.APPROVED, None)
    assert await client.app[keys.STORE].decisions(lb.id) == decided  # nothing was decided


async def test_held_resend_transient_returns_to_held(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start("[fetch]\nmax_attempts = 1\n")
    lb = await verified(client, source.url("/vantar/"), LinkbackProtocol.WEBMENTION)
    assert lb.state == S.HELD
    source.modes["/vantar/"] = "error"
    again = await receive(client, source.url("/vantar/"), LinkbackProtocol.WEBMENTION)
    assert (await state_of(client, again)).state == S.HELD
    await run_jobs(client)
    assert (await state_of(client, again)).state == S.HELD


@pytest.mark.parametrize("mode", ["nolink", "gone"])
async def test_approved_resend_that_no_longer_links_is_deleted(
    start: Callable[..., Awaitable[Client]], source: Source, mode: str
) -> None:
    client = await start()
    lb = await approved_row(client, source, "/andrad/")
    source.modes["/andrad/"] = mode
    again = await receive(client, source.url("/andrad/"), LinkbackProtocol.WEBMENTION)
    await run_jobs(client)
    out = await state_of(client, again)
    assert (out.id, out.state, out.reverify_url) == (lb.id, S.DELETED, None)
    last = (await client.app[keys.STORE].decisions(lb.id))[-1]
    assert (last.old_state, last.new_state, last.actor) == (S.APPROVED, S.DELETED, "verifier")


async def test_deleted_row_comes_back_on_a_genuine_resend(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    lb = await approved_row(client, source, "/igen/")
    source.modes["/igen/"] = "gone"
    await receive(client, source.url("/igen/"), LinkbackProtocol.WEBMENTION)
    await run_jobs(client)
    assert (await state_of(client, IntakeResult(Answer.QUEUED, linkback=lb))).state == S.DELETED
    source.modes["/igen/"] = "link"
    again = await verified(client, source.url("/igen/"), LinkbackProtocol.WEBMENTION)
    assert (again.id, again.state) == (lb.id, S.APPROVED)  # it was shown: its host is known


async def test_failed_row_never_blocks_a_later_genuine_ping(
    start: Callable[..., Awaitable[Client]], source: Source
) -> None:
    client = await start()
    source.modes["/senare/"] = "nolink"
    lb = await verified(client, source.url("/senare/"))
    assert lb.state == S.FAILED
    source.modes["/senare/"] = "link"
    again = await verified(client, source.url("/senare/"))
    assert (again.id, again.state) == (lb.id, S.HELD)
    dup = await receive(client, source.url("/senare/"))
    assert dup.answer == Answer.DUPLICATE  # now it verified, a pingback re-send is a duplicate
