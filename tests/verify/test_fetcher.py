"""The safe fetcher against real loopback servers: refusals, hops, caps, limits, headers."""

from __future__ import annotations

import asyncio
import socket
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from linkbridge.verify import (
    SafeFetcher,
    SourceMissingError,
    SourceRefusedError,
    SourceUnreachableError,
)
from linkbridge.verify.guard import AddressPolicy, AddressRefusedError, socket_factory
from tests.support.verify import ScriptedResolver, wait_for_flag

MiB = 1024 * 1024
StartSource = Callable[..., Awaitable[Any]]
MakeFetcher = Callable[..., SafeFetcher]


def text(body: str | bytes = "hello", **kwargs: Any) -> Callable[[web.Request], Awaitable[Any]]:
    async def handler(request: web.Request) -> web.Response:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(body=data, content_type="text/html", **kwargs)

    return handler


def redirect(to: Callable[[], str], status: int = 302) -> Callable[[web.Request], Awaitable[Any]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": to()})

    return handler


async def fetch(fetcher: SafeFetcher, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("max_bytes", 65536)
    kwargs.setdefault("max_redirects", 5)
    return await fetcher.fetch(url, **kwargs)


# ---------------------------------------------------------------- refusals, allowance empty


async def test_refusal_matrix_with_the_allowance_empty(
    start_source: StartSource, make_fetcher: MakeFetcher, connect_tripwire: list[Any]
) -> None:
    src = await start_source({"/": text()})
    p = src.port
    fetcher = make_fetcher((p,), allow=())
    urls = [
        f"http://127.0.0.1:{p}/",
        f"http://127.0.0.2:{p}/",
        f"http://[::1]:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/",
        f"http://[::127.0.0.1]:{p}/",
        f"http://[64:ff9b::7f00:1]:{p}/",
        f"http://[2002:7f00:1::]:{p}/",
        f"http://2130706433:{p}/",
        f"http://0x7f000001:{p}/",
        f"http://0177.0.0.1:{p}/",
        f"http://127.1:{p}/",
        f"http://0x7f.1:{p}/",
        f"http://127.0.0.1.:{p}/",
        f"http://１２７.０.０.１:{p}/",
        f"http://localhost:{p}/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
    ]
    for url in urls:
        with pytest.raises(SourceRefusedError, match=r"^guard: "):
            await fetch(fetcher, url)
    assert src.requests == []
    assert connect_tripwire == []


async def test_a_name_resolving_to_loopback_is_refused(
    start_source: StartSource, make_fetcher: MakeFetcher, connect_tripwire: list[Any]
) -> None:
    src = await start_source({"/": text()})
    resolver = ScriptedResolver({"evil.test": [["127.0.0.1", "10.0.0.7"]]})
    fetcher = make_fetcher((src.port,), allow=(), resolver=resolver)
    with pytest.raises(SourceRefusedError, match="resolves only to refused addresses"):
        await fetch(fetcher, f"http://evil.test:{src.port}/")
    assert resolver.calls == ["evil.test"]
    assert src.requests == []
    assert connect_tripwire == []


async def test_connector_guard_refuses_literals_even_without_the_precheck(
    start_source: StartSource, connect_tripwire: list[Any]
) -> None:
    """The socket factory alone (second line of defence) stops a loopback literal."""
    src = await start_source({"/": text()})
    policy = AddressPolicy((), (src.port,))
    connector = aiohttp.TCPConnector(socket_factory=socket_factory(policy))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(src.url("/"))
    assert isinstance(caught.value.os_error, AddressRefusedError)
    assert src.requests == []
    assert connect_tripwire == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "http://user:pw@example.com/", "http://example.com:8080/", "nonsense"],
)
async def test_url_prechecks_refuse(make_fetcher: MakeFetcher, url: str) -> None:
    with pytest.raises(SourceRefusedError):
        await fetch(make_fetcher(allow=()), url)


# ---------------------------------------------------------------- allowance, hops, rebinding


async def test_redirect_to_another_loopback_address_is_refused_at_that_hop(
    start_source: StartSource, make_fetcher: MakeFetcher, connect_tripwire: list[Any]
) -> None:
    inner = await start_source({"/": text()}, host="127.0.0.1")
    outer = await start_source({"/": redirect(lambda: inner.url("/"))}, host="127.0.0.2")
    fetcher = make_fetcher((inner.port, outer.port), allow=("127.0.0.2/32",))
    with pytest.raises(SourceRefusedError, match=r"127\.0\.0\.1 refused by address policy"):
        await fetch(fetcher, outer.url("/"))
    assert len(outer.requests) == 1
    assert inner.requests == []
    assert [a[0] for a in connect_tripwire] == ["127.0.0.2"]


async def test_dns_rebinding_second_answer_is_refused(
    start_source: StartSource, make_fetcher: MakeFetcher, connect_tripwire: list[Any]
) -> None:
    src = await start_source({"/": text("first")}, host="127.0.0.2")
    resolver = ScriptedResolver({"rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
    fetcher = make_fetcher((src.port,), allow=("127.0.0.2/32",), resolver=resolver)
    url = f"http://rebind.test:{src.port}/"
    first = await fetch(fetcher, url)
    assert first.body == b"first"
    with pytest.raises(SourceRefusedError, match=r"rebind.test resolves only to refused"):
        await fetch(fetcher, url)
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert [a[0] for a in connect_tripwire] == ["127.0.0.2"]


async def test_redirects_within_the_limit_are_followed(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src: Any = None
    src = await start_source(
        {
            "/a": redirect(lambda: "/b", 301),
            "/b": redirect(lambda: src.url("/c"), 307),
            "/c": text("landed"),
        }
    )
    fetcher = make_fetcher((src.port,))
    result = await fetch(fetcher, src.url("/a"), max_redirects=2)
    assert (result.status, result.body, result.redirects) == (200, b"landed", 2)
    assert result.final_url == src.url("/c")
    with pytest.raises(SourceMissingError, match=r"redirect past the hop limit \(1\)"):
        await fetch(fetcher, src.url("/a"), max_redirects=1)


async def test_pingback_hop_limit_zero_refuses_any_redirect(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/a": redirect(lambda: "/b"), "/b": text()})
    with pytest.raises(SourceMissingError, match=r"hop limit \(0\)"):
        await fetch(make_fetcher((src.port,)), src.url("/a"), max_redirects=0)
    assert [r.path for r in src.requests] == ["/a"]


async def test_redirect_to_a_port_not_allowed_is_refused(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": redirect(lambda: "http://127.0.0.1:1/")})
    with pytest.raises(SourceRefusedError, match="port 1 is not an allowed port"):
        await fetch(make_fetcher((src.port,)), src.url("/"))


# ---------------------------------------------------------------- caps


async def test_body_exactly_at_the_cap_is_whole(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": text(b"x" * 1000)})
    fetcher = make_fetcher((src.port,))
    whole = await fetch(fetcher, src.url("/"), max_bytes=1000)
    assert (len(whole.body), whole.truncated) == (1000, False)
    cut = await fetch(fetcher, src.url("/"), max_bytes=999)
    assert (len(cut.body), cut.truncated) == (999, True)


async def test_endless_stream_stops_at_the_cap_and_the_connection_is_cut(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    """A "2 GiB" body: the server would send 2 GiB; the fetcher reads the cap and hangs up."""
    closed = asyncio.Event()
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.content_length = 2 * 1024 * MiB
        await resp.prepare(request)
        chunk = b"<p>" + b"a" * 65530 + b"</p>"
        try:
            while sent < 2 * 1024 * MiB:
                await resp.write(chunk)
                sent += len(chunk)
        except (ConnectionError, asyncio.CancelledError):
            closed.set()
            raise
        return resp

    src = await start_source({"/": endless})
    fetcher = make_fetcher((src.port,))
    tracemalloc.start()
    try:
        result = await fetch(fetcher, src.url("/"), max_bytes=1 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.body) == 1 * MiB
    assert result.truncated
    await wait_for_flag(closed, "server saw the connection closed")
    assert sent < 64 * MiB
    assert peak < 32 * MiB


def gzip_bomb(prefix: bytes, inflated_bytes: int) -> bytes:
    """`prefix` then zeros up to `inflated_bytes`, gzip-compressed, built in small pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(prefix)]
    block = b" " * MiB
    for _ in range(inflated_bytes // MiB):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(b"<html><body><p>bomb</p>", 128 * MiB)


@pytest.mark.slow  # over a second
async def test_gzip_bomb_is_cut_at_the_cap_in_decompressed_bytes(
    start_source: StartSource, make_fetcher: MakeFetcher, bomb: bytes
) -> None:
    assert len(bomb) < 1 * MiB

    async def serve_bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    src = await start_source({"/": serve_bomb})
    tracemalloc.start()
    try:
        result = await fetch(make_fetcher((src.port,)), src.url("/"), max_bytes=1 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.truncated
    assert len(result.body) == 1 * MiB
    assert result.body.startswith(b"<html><body><p>bomb</p>")
    assert peak < 32 * MiB


async def test_a_server_that_never_answers_times_out(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    release = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="too late")

    src = await start_source({"/": silent})
    fetcher = make_fetcher((src.port,), timeout_s=0.3)
    try:
        with pytest.raises(SourceUnreachableError, match=r"no answer within 0.3 s"):
            await fetch(fetcher, src.url("/"))
    finally:
        release.set()


async def test_connection_refused_is_unreachable(make_fetcher: MakeFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceUnreachableError, match="cannot connect"):
        await fetch(make_fetcher((port,)), f"http://127.0.0.1:{port}/")


async def test_nxdomain_is_missing_and_dns_trouble_is_unreachable(
    make_fetcher: MakeFetcher,
) -> None:
    resolver = ScriptedResolver(
        {
            "gone.test": [socket.gaierror(socket.EAI_NONAME, "Name or service not known")],
            "flaky.test": [socket.gaierror(socket.EAI_AGAIN, "Temporary failure")],
        }
    )
    fetcher = make_fetcher(resolver=resolver)
    with pytest.raises(SourceMissingError, match=r"no such host gone\.test"):
        await fetch(fetcher, "http://gone.test/")
    with pytest.raises(SourceUnreachableError, match=r"cannot resolve flaky\.test"):
        await fetch(fetcher, "http://flaky.test/")


# ---------------------------------------------------------------- limits


def slow(hold: asyncio.Event | None = None) -> Callable[[web.Request], Awaitable[Any]]:
    async def handler(request: web.Request) -> web.Response:
        if hold is not None:
            await hold.wait()
        for _ in range(5):
            await asyncio.sleep(0)  # let the others pile up
        await asyncio.sleep(0.005)
        return web.Response(text="ok", content_type="text/html")

    return handler


async def test_one_host_never_sees_more_than_its_concurrency(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": slow()})
    fetcher = make_fetcher((src.port,), per_host_concurrency=2, global_concurrency=20)
    results = await asyncio.gather(*(fetch(fetcher, src.url(f"/?n={i}")) for i in range(100)))
    assert all(r.status == 200 for r in results)
    assert len(src.requests) == 100
    assert src.max_active == 2


async def test_global_concurrency_caps_all_hosts_together(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    a = await start_source({"/": slow()}, host="127.0.0.1")
    b = await start_source({"/": slow()}, host="127.0.0.2")
    active = {"now": 0, "max": 0}

    fetcher = make_fetcher((a.port, b.port), per_host_concurrency=5, global_concurrency=3)
    urls = [s.url(f"/?n={i}") for i in range(20) for s in (a, b)]

    async def watched(url: str) -> Any:
        return await fetch(fetcher, url)

    async def sample() -> None:
        while True:
            active["max"] = max(active["max"], a.active + b.active)
            await asyncio.sleep(0)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(watched(u) for u in urls))
    sampler.cancel()
    assert len(a.requests) + len(b.requests) == 40
    assert active["max"] <= 3


async def test_rate_cap_per_host_at_its_edge(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    now = [1000.0]
    src = await start_source({"/": text()})
    fetcher = make_fetcher((src.port,), per_host_rate_per_min=3, monotonic=lambda: now[0])
    for i in range(3):
        await fetch(fetcher, src.url(f"/?n={i}"))
    with pytest.raises(SourceUnreachableError, match=r"rate cap for 127.0.0.1 reached \(3/min\)"):
        await fetch(fetcher, src.url("/?n=3"))
    now[0] += 20.0  # one token back (3 per 60 s)
    await fetch(fetcher, src.url("/?n=4"))
    with pytest.raises(SourceUnreachableError):
        await fetch(fetcher, src.url("/?n=5"))
    assert len(src.requests) == 4


async def test_identical_in_flight_fetches_share_one_request(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    hold = asyncio.Event()
    src = await start_source({"/": slow(hold)})
    fetcher = make_fetcher((src.port,))
    calls = [fetch(fetcher, src.url("/")) for _ in range(25)]
    other = fetch(fetcher, src.url("/"), max_bytes=10)  # other caps: its own request
    gathered = asyncio.gather(*calls, other)
    while len(src.requests) < 2:
        await asyncio.sleep(0.001)
    hold.set()
    results = await gathered
    assert len(src.requests) == 2
    assert {r.body for r in results} == {b"ok"}
    again = await fetch(fetcher, src.url("/"))  # finished fetches are not cached
    assert again.status == 200
    assert len(src.requests) == 3


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    hold = asyncio.Event()
    src = await start_source({"/": slow(hold)})
    fetcher = make_fetcher((src.port,))
    first = asyncio.create_task(fetch(fetcher, src.url("/")))
    second = asyncio.create_task(fetch(fetcher, src.url("/")))
    while not src.requests:
        await asyncio.sleep(0.001)
    first.cancel()
    hold.set()
    assert (await second).body == b"ok"
    assert len(src.requests) == 1


# ---------------------------------------------------------------- honesty


async def test_user_agent_and_forwarded_for_headers(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    src = await start_source({"/": text()})
    fetcher = make_fetcher((src.port,))
    await fetch(fetcher, src.url("/"), protocol="pingback", client_ip="203.0.113.9")
    await fetch(fetcher, src.url("/?2"), protocol="webmention", client_ip="not an ip\r\nX: y")
    first, second = src.requests
    assert first.headers["User-Agent"] == (
        "linkbridge/9.9 (+http://www.naringsbloggen.se/; verifying pingback from 203.0.113.9)"
    )
    assert first.headers["X-Pingback-Forwarded-For"] == "203.0.113.9"
    assert second.headers["User-Agent"] == (
        "linkbridge/9.9 (+http://www.naringsbloggen.se/; verifying webmention)"
    )
    assert "X-Pingback-Forwarded-For" not in second.headers
    assert "Cookie" not in second.headers


async def test_allowance_logs_a_loud_warning(make_fetcher: MakeFetcher) -> None:
    with structlog.testing.capture_logs() as logs:
        make_fetcher(allow=("127.0.0.0/8",))
        make_fetcher(allow=())
    warnings = [e for e in logs if e["event"] == "fetch_allowance_enabled"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["allow_networks"] == ["127.0.0.0/8"]


async def test_close_cancels_in_flight_fetches(
    start_source: StartSource, make_fetcher: MakeFetcher
) -> None:
    hold = asyncio.Event()
    src = await start_source({"/": slow(hold)})
    fetcher = make_fetcher((src.port,))
    pending = asyncio.create_task(fetch(fetcher, src.url("/")))
    while not src.requests:
        await asyncio.sleep(0.001)
    await fetcher.close()
    hold.set()
    with pytest.raises(asyncio.CancelledError):
        await pending
    with pytest.raises(RuntimeError, match="fetcher: closed"):
        await fetch(fetcher, src.url("/"))
