"""Two `linkbridge serve` processes on one PostgreSQL database, as behind a load balancer."""

from __future__ import annotations

import asyncio
import contextlib
import xmlrpc.client
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.instances.conftest import Fleet
from tests.support import SEED_POST, page_linking_to
from tests.support.serve import Served

BEFORE = "2017-12-01T12:00:00+01:00"
AFTER = "2018-03-01T12:00:00+01:00"
SourceServer = Callable[[web.Application], Awaitable[TestServer]]


def loopback_fetch(port: int, extra: str = "") -> str:
    return (
        '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
        f"allowed_ports = [80, 443, {port}]\ntimeout_s = 5.0\nretry_base_s = 0.2\n"
        "per_host_concurrency = 100\nper_host_rate_per_min = 100000\nglobal_concurrency = 100\n"
        + extra
    )


async def pingback(session: aiohttp.ClientSession, server: Served, source: str) -> object:
    """The XML-RPC answer: the success string, or the Fault."""
    body = xmlrpc.client.dumps((source, SEED_POST), "pingback.ping")
    async with session.post(
        server.base + "/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"}
    ) as resp:
        text = await resp.text()
    try:
        (result,), _ = xmlrpc.client.loads(text)
    except xmlrpc.client.Fault as fault:
        return fault
    return result


async def test_the_same_ping_at_both_instances_is_one_success_and_one_48(
    fleet: Fleet, source_server: SourceServer
) -> None:
    fetched = 0
    both = asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        nonlocal fetched
        fetched += 1
        if fetched >= 2:
            both.set()
        # hold the first fetch until the other instance fetches too (or clearly will not)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 3.0)
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    src = await source_server(app)
    overlay = loopback_fetch(src.port or 0, "[pingback]\ninline_budget_s = 20.0\n")
    a, b = fleet.start(overlay, at=BEFORE)
    source = f"http://127.0.0.1:{src.port}/2017/12/samma-ping/"
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(pingback(session, a, source),
                                       pingback(session, b, source))
    faults = [x for x in answers if isinstance(x, xmlrpc.client.Fault)]
    successes = [x for x in answers if isinstance(x, str)]
    assert [f.faultCode for f in faults] == [48], answers
    assert len(successes) == 1
    assert "registered" in successes[0]
    conn = await asyncpg.connect(fleet.pg_url)
    try:
        rows = await conn.fetch("SELECT id FROM linkbacks WHERE source_url = $1", source)
        assert len(rows) == 1
        decided = await conn.fetch(
            "SELECT new_state FROM decisions WHERE linkback_id = $1", rows[0]["id"]
        )
        assert len(decided) == 1  # one decision, by one instance
    finally:
        await conn.close()


async def test_a_mapping_added_at_one_instance_is_served_by_the_other_within_a_second(
    fleet: Fleet,
) -> None:
    import re
    import time

    from linkbridge.passwords import hash_password
    from linkbridge.store import open_store

    store = open_store(fleet.pg_url)
    await store.open()
    try:
        await store.set_admin_password("moderator", hash_password("correct horse battery"))
    finally:
        await store.close()
    # the version poll is 5 s here: only the NOTIFY can make the other instance see it in 1 s
    a, b = fleet.start(at=AFTER)
    path = "/innovation/en-gammal-sida/"
    csrf = re.compile(r'name="csrf" value="([^"]+)"')
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(b.base + path, allow_redirects=False) as before:
            assert before.status == 301  # unmapped: the sub-blog's default successor
        async with session.get(a.base + "/admin/login") as page:
            token = csrf.search(await page.text())
        assert token
        async with session.post(a.base + "/admin/login", allow_redirects=False, data={
            "username": "moderator", "password": "correct horse battery", "csrf": token[1],
        }) as login:
            assert login.status == 303, await login.text()
        async with session.get(a.base + "/admin/redirects") as page:
            token = csrf.search(await page.text())
        assert token
        async with session.post(a.base + "/admin/redirects", allow_redirects=False, data={
            "csrf": token[1], "source": path, "target": "gone", "note": "",
        }) as added:
            assert added.status == 303, await added.text()
        saved = time.monotonic()
        status = 0
        while time.monotonic() - saved < 1.0:
            async with session.get(b.base + path, allow_redirects=False) as resp:
                status = resp.status
            if status == 410:
                break
            await asyncio.sleep(0.02)
        assert status == 410, "the other instance did not serve the new mapping within 1 s"


async def test_per_day_hit_totals_from_both_instances_add_up_exactly(fleet: Fleet) -> None:
    from linkbridge.store import open_store

    # a short flush interval: both flush into the same day rows many times over
    a, b = fleet.start("[retire]\nhit_flush_interval_s = 0.1\n", at=AFTER)
    sent = {a.base: 0, b.base: 0}
    async with aiohttp.ClientSession() as session:

        async def hit(base: str, n: int) -> None:
            async with session.get(f"{base}/innovation/sida-{n % 7}/",
                                   allow_redirects=False) as resp:
                assert resp.status in (301, 410)
            sent[base] += 1

        for burst in range(5):
            await asyncio.gather(*(hit(s.base, burst * 40 + i) for s in (a, b) for i in range(40)))
    assert a.stop() == 0  # the last counts are flushed on the way out
    assert b.stop() == 0
    store = open_store(fleet.pg_url)
    await store.open()
    try:
        days = await store.hit_days()
        top = await store.top_hits(limit=100)
    finally:
        await store.close()
    assert {d.day for d in days} == {"2018-03-01"}
    assert sum(d.hits for d in days) == sum(sent.values()) == 400
    assert sum(h.count for h in top) + sum(d.other_paths for d in days) == 400


async def test_a_pingback_rate_limit_holds_across_both_instances(
    fleet: Fleet, source_server: SourceServer
) -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)  # quick answers; the limit is what is tested

    app = web.Application()
    app.router.add_get("/{tail:.*}", missing)
    src = await source_server(app)
    a, b = fleet.start(
        loopback_fetch(src.port or 0, "[pingback]\nrate_per_min = 30\n"
                       "[moderation]\nper_host_daily_cap = 100000\n"),
        at=BEFORE,
    )
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(
            pingback(session, (a, b)[n % 2], f"http://127.0.0.1:{src.port}/takt/{n}/")
            for n in range(60)
        ))
    limited = [x for x in answers if isinstance(x, xmlrpc.client.Fault)
               and "Too many pingbacks" in x.faultString]
    assert len(limited) == 30, answers  # 60 from one address, 30 a minute across both


async def test_webmentions_acknowledged_by_a_killed_instance_are_finished_once_by_the_other(
    fleet: Fleet, source_server: SourceServer
) -> None:
    total, kill_after = 500, 250

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=page_linking_to(SEED_POST), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    src = await source_server(app)
    a, b = fleet.start(
        loopback_fetch(src.port or 0).replace("timeout_s = 5.0", "timeout_s = 1.0")
        + "[jobs]\nlease_s = 2.0\nidle_poll_s = 0.1\n"
        "[webmention]\nrate_per_min = 100000\n[moderation]\nper_host_daily_cap = 100000\n",
        at=BEFORE,
    )
    acknowledged: list[str] = []
    gate = asyncio.Semaphore(16)

    async def mention(session: aiohttp.ClientSession, n: int) -> None:
        server = (a, b)[n % 2]
        source = f"http://127.0.0.1:{src.port}/omnamnd/{n}/"
        async with gate:
            try:
                async with session.post(server.base + "/webmention",
                                        data={"source": source, "target": SEED_POST}) as resp:
                    if resp.status != 201:
                        return
            except aiohttp.ClientError:
                return  # the killed instance: no answer, no promise
        acknowledged.append(source)
        if len(acknowledged) == kill_after:
            a.proc.kill()  # SIGKILL, with jobs claimed and fetches under way

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(mention(session, n) for n in range(total)))
    a.kill()
    assert len(acknowledged) >= kill_after

    conn = await asyncpg.connect(fleet.pg_url)
    try:
        async with asyncio.timeout(180):  # a hang guard: the survivor needs seconds
            while await conn.fetchval(
                "SELECT COUNT(*) FROM linkbacks WHERE state = 'unverified'"
            ) or await conn.fetchval("SELECT COUNT(*) FROM jobs"):
                await asyncio.sleep(0.2)
        rows = await conn.fetch(
            "SELECT l.source_url, l.state, COUNT(d.id) AS decided FROM linkbacks l"
            " LEFT JOIN decisions d ON d.linkback_id = l.id"
            " WHERE l.source_url = ANY($1::text[]) GROUP BY l.source_url, l.state",
            acknowledged,
        )
    finally:
        await conn.close()
    assert len(rows) == len(acknowledged)  # every acknowledged one was stored, once
    assert {r["state"] for r in rows} == {"held"}
    assert {r["decided"] for r in rows} == {1}  # and decided exactly once
    assert b.stop() == 0
