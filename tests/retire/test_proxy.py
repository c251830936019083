"""The origin proxy against a real aiohttp origin on loopback."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from linkbridge.retire.pages import render_error_page
from linkbridge.retire.proxy import (
    HOP_BY_HOP,
    OriginProxy,
    _forwardable,
    _host_name,
    discovery_headers,
)
from linkbridge.settings import Settings

BASE = "https://www.naringsbloggen.se/"
SHUTDOWN = datetime.fromisoformat("2018-02-01T00:00:00+01:00")
EXTRA = discovery_headers(BASE, SHUTDOWN)
MB = 1024 * 1024
SAFETY_S = 10  # only guards against a hang; never a pass/fail threshold

ProxyFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@dataclass
class Origin:
    """A stand-in WordPress origin that records what it was sent."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    first_chunk_seen: asyncio.Event = field(default_factory=asyncio.Event)
    reader_gone: asyncio.Event = field(default_factory=asyncio.Event)


def _origin_app(state: Origin) -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        digest, size, chunks = hashlib.sha256(), 0, 0
        async for chunk in request.content.iter_any():
            if chunks == 0:
                state.first_chunk_seen.set()
            digest.update(chunk)
            size += len(chunk)
            chunks += 1
        state.seen.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "headers": list(request.headers.items()),
                "sha256": digest.hexdigest(),
                "size": size,
                "chunks": chunks,
            }
        )
        return web.Response(text="ok")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="saknas")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/ny-plats/?a=%C3%A5&b=1")

    async def moved_abs(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("http://www.naringsbloggen.se/innovation/")

    async def hop(request: web.Request) -> web.Response:
        resp = web.Response(text="hop")
        resp.headers["Connection"] = "keep-alive, X-Secret-Hop"
        resp.headers["Keep-Alive"] = "timeout=5"
        resp.headers["X-Secret-Hop"] = "1"
        resp.headers["X-Kept"] = "yes"
        return resp

    async def close(request: web.Request) -> web.Response:
        resp = web.Response(text="bye")
        resp.force_close()
        return resp

    async def cookies(request: web.Request) -> web.Response:
        resp = web.Response(text="kakor")
        resp.headers.add("Set-Cookie", "a=1; Path=/")
        resp.headers.add("Set-Cookie", "b=2; Path=/; HttpOnly")
        return resp

    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress("hej då ".encode() * 2000)
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
        )

    async def linked(request: web.Request) -> web.Response:
        resp = web.Response(text="<p>inlägg</p>", content_type="text/html")
        resp.headers.add(
            "Link", '<https://www.naringsbloggen.se/wp-json/>; rel="https://api.w.org/"'
        )
        resp.headers["X-Pingback"] = "https://www.naringsbloggen.se/innovation/xmlrpc.php"
        return resp

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first")
        await state.release.wait()
        await resp.write(b"second")
        return resp

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first")
        await state.release.wait()
        try:
            while True:
                await resp.write(b"x" * 65536)
                await asyncio.sleep(0.01)
        except ConnectionError:
            state.reader_gone.set()
        except asyncio.CancelledError:  # a server with handler cancellation on
            state.reader_gone.set()
            raise
        return resp

    async def broken(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = 100
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        assert request.transport is not None
        request.transport.close()
        return resp

    async def slow(request: web.Request) -> web.Response:
        await state.release.wait()
        return web.Response(text="late")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="sida " * 100, content_type="text/html")

    async def drip(request: web.Request) -> web.StreamResponse:
        gap_s = float(request.query.get("gap", "0.3"))
        resp = web.StreamResponse()
        await resp.prepare(request)
        for n in range(int(request.query.get("n", "6"))):
            await asyncio.sleep(gap_s)
            await resp.write(b"bit %d;" % n)
        return resp

    app = web.Application()
    app.router.add_get("/missing", missing)
    app.router.add_get("/moved", moved)
    app.router.add_get("/moved-abs", moved_abs)
    app.router.add_get("/hop", hop)
    app.router.add_get("/close", close)
    app.router.add_get("/cookies", cookies)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/linked", linked)
    app.router.add_get("/stream", stream)
    app.router.add_get("/endless", endless)
    app.router.add_get("/broken", broken)
    app.router.add_get("/slow", slow)
    app.router.add_get("/page", page)
    app.router.add_get("/drip", drip)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture
async def origin(aiohttp_server: Any) -> AsyncIterator[Origin]:
    state = Origin()
    # bodies as sent, so the origin can tell whether an upload arrived byte for byte
    server = await aiohttp_server(_origin_app(state), host="127.0.0.1", auto_decompress=False)
    state.url = str(server.make_url("/"))
    yield state
    state.release.set()  # let waiting handlers finish so the server closes promptly


@pytest.fixture
def proxy_client(aiohttp_client: Any, settings: Settings) -> ProxyFactory:
    async def make(
        origin_url: str,
        *,
        timeout_s: float = 5.0,
        max_body_bytes: int = 8 * MB,
        preserve_host: bool = False,
        body_timeout_s: float | None = None,
        max_per_client: int = 0,
        hosts: tuple[str, ...] | None = None,
        trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128"),
        **client_kwargs: Any,
    ) -> TestClient[web.Request, web.Application]:
        proxy = OriginProxy(
            origin_url,
            timeout_s=timeout_s,
            connect_timeout_s=2.0,
            max_body_bytes=max_body_bytes,
            preserve_host=preserve_host,
            body_timeout_s=body_timeout_s,
            max_per_client=max_per_client,
            hosts=hosts,
            trusted_proxies=trusted_proxies,
            error_page=functools.partial(render_error_page, settings),
        )

        async def lifecycle(app: web.Application) -> AsyncIterator[None]:
            await proxy.start()
            yield
            await proxy.close()

        async def catch_all(request: web.Request) -> web.StreamResponse:
            return await proxy.forward(request, extra_headers=EXTRA, client_ip=request.remote or "")

        app = web.Application()
        app.cleanup_ctx.append(lifecycle)
        app.router.add_route("*", "/{tail:.*}", catch_all)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(auto_decompress=False)  # as `serve` runs it
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            server, **client_kwargs
        )
        return client

    return make


def _header(seen: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in seen["headers"] if k.lower() == name.lower()]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_discovery_headers_for_the_example_instant() -> None:
    assert EXTRA == [
        ("Sunset", "Wed, 31 Jan 2018 23:00:00 GMT"),
        ("Link", '<https://www.naringsbloggen.se/notice>; rel="sunset"'),
        ("X-Pingback", "https://www.naringsbloggen.se/xmlrpc.php"),
        ("Link", '<https://www.naringsbloggen.se/webmention>; rel="webmention"'),
    ]


def test_discovery_headers_refuse_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="proxy: "):
        discovery_headers(BASE, datetime(2018, 2, 1))  # naive on purpose


def test_origin_url_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="proxy: "):
        OriginProxy("/relative", timeout_s=1, max_body_bytes=1)


async def test_get_keeps_method_path_and_raw_query(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    target = "/innovation/p%C3%A5-v%C3%A4g/?p=12&utm_source=x&a=%2F&a=b&empty="
    resp = await client.get(URL(target, encoded=True))
    assert resp.status == 200
    [seen] = origin.seen
    assert seen["method"] == "GET"
    assert seen["raw_path"] == target


async def test_post_body_of_five_megabytes_arrives_intact(
    origin: Origin, proxy_client: ProxyFactory
):
    client = await proxy_client(origin.url)
    body = random.Random(1).randbytes(5 * MB)
    resp = await client.post("/wp-comments-post.php", data=body)
    assert resp.status == 200
    [seen] = origin.seen
    assert seen["method"] == "POST"
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["chunks"] > 1
    assert _header(seen, "Content-Length") == [str(5 * MB)]


async def test_request_body_is_streamed_not_buffered(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)

    async def upload() -> AsyncIterator[bytes]:
        yield b"part one;"
        # The origin must see the first part before the reader sends the rest.
        await asyncio.wait_for(origin.first_chunk_seen.wait(), SAFETY_S)
        yield b"part two"

    resp = await client.put("/upload", data=upload())
    assert resp.status == 200
    [seen] = origin.seen
    assert seen["size"] == len(b"part one;part two")
    assert _header(seen, "Transfer-Encoding") == ["chunked"]


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/moved", 301)])
async def test_status_is_preserved(
    origin: Origin, proxy_client: ProxyFactory, path: str, status: int
):
    client = await proxy_client(origin.url)
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == status


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/moved", "/ny-plats/?a=%C3%A5&b=1"),
        ("/moved-abs", "http://www.naringsbloggen.se/innovation/"),
    ],
)
async def test_redirect_location_is_untouched(
    origin: Origin, proxy_client: ProxyFactory, path: str, location: str
):
    client = await proxy_client(origin.url)
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 301
    assert resp.headers.getall("Location") == [location]


async def test_hop_by_hop_request_headers_are_dropped(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    await client.get(
        "/echo",
        headers={
            "Connection": "keep-alive, X-Drop-Me",
            "X-Drop-Me": "1",
            "Keep-Alive": "timeout=300",
            "Proxy-Authorization": "Basic eDp5",
            "TE": "trailers",
            "Upgrade": "h2c",
            "X-Kept": "yes",
            "Cookie": "wordpress_logged_in=abc",
        },
    )
    [seen] = origin.seen
    names = {k.lower() for k, _ in seen["headers"]}
    assert not names & {"x-drop-me", "keep-alive", "proxy-authorization", "te", "upgrade"}
    assert "x-drop-me" not in " ".join(_header(seen, "Connection")).lower()
    assert _header(seen, "X-Kept") == ["yes"]
    assert _header(seen, "Cookie") == ["wordpress_logged_in=abc"]


async def test_hop_by_hop_response_headers_are_dropped(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    resp = await client.get("/hop")
    assert await resp.text() == "hop"
    assert "Keep-Alive" not in resp.headers
    assert "X-Secret-Hop" not in resp.headers
    assert resp.headers["X-Kept"] == "yes"


async def test_origin_connection_close_is_not_passed_on(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    resp = await client.get("/close")
    assert await resp.text() == "bye"
    assert "close" not in resp.headers.get("Connection", "").lower()


async def test_host_and_forwarded_headers(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    await client.get(
        "/echo",
        headers={"Host": "www.naringsbloggen.se", "X-Forwarded-For": "203.0.113.9"},
    )
    [seen] = origin.seen
    assert _header(seen, "Host") == [URL(origin.url).raw_authority]
    assert _header(seen, "X-Forwarded-Host") == ["www.naringsbloggen.se"]
    assert _header(seen, "X-Forwarded-Proto") == ["http"]
    assert _header(seen, "X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"]


async def test_preserve_host_sends_the_readers_host(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url, preserve_host=True)
    await client.get("/echo", headers={"Host": "www.naringsbloggen.se"})
    [seen] = origin.seen
    assert _header(seen, "Host") == ["www.naringsbloggen.se"]
    assert _header(seen, "X-Forwarded-Host") == ["www.naringsbloggen.se"]


async def test_forwarded_for_starts_a_chain(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    await client.get("/echo")
    [seen] = origin.seen
    assert _header(seen, "X-Forwarded-For") == ["127.0.0.1"]


async def test_nothing_is_added_to_the_readers_headers(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url, skip_auto_headers=["User-Agent", "Accept-Encoding"])
    await client.post("/echo", data=b"x", skip_auto_headers=["Content-Type"])
    [seen] = origin.seen
    names = {k.lower() for k, _ in seen["headers"]}
    assert not names & {"user-agent", "accept-encoding", "content-type"}


async def test_two_set_cookie_headers_survive(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    resp = await client.get("/cookies")
    assert resp.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]


async def test_gzip_body_passes_byte_identical(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url, auto_decompress=False)
    resp = await client.get("/gzip", headers={"Accept-Encoding": "gzip"})
    body = await resp.read()
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Content-Length"] == str(len(body))
    assert gzip.decompress(body) == "hej då ".encode() * 2000


async def test_extra_headers_join_the_origins(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    resp = await client.get("/linked")
    assert resp.headers.getall("Link") == [
        '<https://www.naringsbloggen.se/wp-json/>; rel="https://api.w.org/"',
        '<https://www.naringsbloggen.se/notice>; rel="sunset"',
        '<https://www.naringsbloggen.se/webmention>; rel="webmention"',
    ]
    assert resp.headers.getall("X-Pingback") == ["https://www.naringsbloggen.se/xmlrpc.php"]
    assert resp.headers.getall("Sunset") == ["Wed, 31 Jan 2018 23:00:00 GMT"]


async def test_response_is_streamed(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    resp = await client.get("/stream")
    received = b""
    while len(received) < len(b"first"):
        received += await asyncio.wait_for(resp.content.readany(), SAFETY_S)
    assert received == b"first"
    assert not origin.release.is_set()  # the origin has not finished yet
    origin.release.set()
    assert await resp.read() == b"second"


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_reader_disconnect_releases_the_origin_connection(
    origin: Origin, handler_cancellation: bool
):
    # Both server modes: aiohttp's default (the handler sees a failed write) and the one
    # that cancels the handler when the reader goes away.
    proxy = OriginProxy(origin.url, timeout_s=5.0, max_body_bytes=MB)

    async def catch_all(request: web.Request) -> web.StreamResponse:
        return await proxy.forward(request, extra_headers=EXTRA, client_ip="127.0.0.1")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", catch_all)
    runner = web.AppRunner(app, handler_cancellation=handler_cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    await proxy.start()
    try:
        async with aiohttp.ClientSession() as session:
            resp = await session.get(f"http://{host}:{port}/endless")
            assert await asyncio.wait_for(resp.content.readexactly(5), SAFETY_S) == b"first"
            resp.close()  # the reader goes away mid-stream
            origin.release.set()
            await asyncio.wait_for(origin.reader_gone.wait(), SAFETY_S)
    finally:
        await proxy.close()
        await runner.cleanup()


async def test_origin_breaking_mid_body_is_not_a_complete_answer(
    origin: Origin, proxy_client: ProxyFactory
):
    client = await proxy_client(origin.url)
    resp = await client.get("/broken")
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


async def test_origin_down_gives_a_bilingual_502(proxy_client: ProxyFactory):
    client = await proxy_client(f"http://127.0.0.1:{_closed_port()}/")
    resp = await client.get("/innovation/")
    assert resp.status == 502
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    text = await resp.text()
    assert "Bloggen svarar inte just nu" in text
    assert "The blog is not answering right now" in text
    assert len(resp.headers.getall("Link")) == 2
    assert resp.headers["Sunset"] == "Wed, 31 Jan 2018 23:00:00 GMT"


async def test_slow_origin_gives_504(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url, timeout_s=0.2)
    resp = await client.get("/slow")
    assert resp.status == 504
    text = await resp.text()
    assert "Bloggen svarar inte just nu" in text
    assert "The blog is not answering right now" in text
    assert resp.headers["X-Pingback"] == "https://www.naringsbloggen.se/xmlrpc.php"


async def test_head_passes_through_without_body(origin: Origin, proxy_client: ProxyFactory):
    client = await proxy_client(origin.url)
    get = await client.get("/page")
    head = await client.head("/page")
    assert head.status == 200
    assert await head.read() == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["Sunset"] == "Wed, 31 Jan 2018 23:00:00 GMT"


@pytest.mark.parametrize(("size", "status"), [(1000, 200), (1001, 413)])
async def test_declared_body_limit_edge(
    origin: Origin, proxy_client: ProxyFactory, size: int, status: int
):
    client = await proxy_client(origin.url, max_body_bytes=1000)
    resp = await client.post("/echo", data=b"x" * size)
    assert resp.status == status
    assert len(origin.seen) == (1 if status == 200 else 0)
    if status == 413:
        assert "The request is too large" in await resp.text()


@pytest.mark.parametrize(("size", "status"), [(1000, 200), (1001, 413)])
async def test_chunked_body_limit_edge(
    origin: Origin, proxy_client: ProxyFactory, size: int, status: int
):
    client = await proxy_client(origin.url, max_body_bytes=1000)

    async def upload() -> AsyncIterator[bytes]:
        yield b"x" * 600
        yield b"x" * (size - 600)

    resp = await client.post("/echo", data=upload())
    assert resp.status == status
    if status == 200:
        assert origin.seen[0]["size"] == size


_names = st.sampled_from(
    ["Connection", "Keep-Alive", "TE", "Upgrade", "X-A", "X-B", "Cookie", "Link", "Trailer"]
)


@given(
    headers=st.lists(st.tuples(_names, st.text(alphabet="abXB-, ;=\t", max_size=20)), max_size=8)
)
def test_forwardable_drops_exactly_the_hop_by_hop_headers(headers: list[tuple[str, str]]):
    source = CIMultiDictProxy(CIMultiDict(headers))
    named = {
        token.strip().lower()
        for name, value in headers
        if name == "Connection"
        for token in value.split(",")
    }
    out = _forwardable(source)
    assert list(out.items()) == [
        (k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named
    ]


# ---------------------------------------------------------------- limits (docs/security.md)

SITE_HOSTS = ("http://www.naringsbloggen.se/", "naringsbloggen.se", "https://naringsbloggen.se")


async def raw_request(port: int, head: bytes, *, source: str = "127.0.0.1") -> Conn:
    """Open a connection from `source` and send `head` (a request, possibly partial)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(head)
    await writer.drain()
    return reader, writer


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def status_of(conn: Conn) -> int:
    line = await asyncio.wait_for(conn[0].readline(), SAFETY_S)
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("www.naringsbloggen.se", 200),
        ("WWW.Naringsbloggen.SE:8080", 200),
        ("naringsbloggen.se.", 200),
        ("evil.example", 421),
        ("www.naringsbloggen.se.evil.example", 421),
        ("", 400),
    ],
)
async def test_only_the_sites_hosts_are_passed_on(
    origin: Origin, proxy_client: ProxyFactory, host: str, status: int
) -> None:
    client = await proxy_client(origin.url, preserve_host=True, hosts=SITE_HOSTS)
    assert client.port is not None
    conn = await raw_request(
        client.port, b"GET /echo HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n"
    )
    try:
        assert await status_of(conn) == status
    finally:
        conn[1].close()
    assert len(origin.seen) == (1 if status == 200 else 0)


async def test_a_clients_own_forwarded_for_is_not_passed_on(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url, trusted_proxies=())  # the peer is not a proxy
    await client.get("/echo", headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
    [seen] = origin.seen
    assert _header(seen, "X-Forwarded-For") == ["127.0.0.1"]


async def test_a_gzip_upload_reaches_the_origin_byte_for_byte(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url)
    body = gzip.compress(b"<?xml version='1.0'?><media>bild</media>" * 500)
    resp = await client.post(
        "/wp-admin/async-upload.php", data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"},
    )
    assert resp.status == 200
    [seen] = origin.seen
    assert _header(seen, "Content-Encoding") == ["gzip"]
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["size"] == len(body)


async def test_a_stalled_upload_is_answered_408(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url, body_timeout_s=0.5)
    assert client.port is not None
    conn = await raw_request(
        client.port,
        b"POST /echo HTTP/1.1\r\nHost: www.naringsbloggen.se\r\nContent-Length: 1000\r\n\r\n"
        + b"x" * 10,
    )
    try:
        assert await status_of(conn) == 408
    finally:
        conn[1].close()


async def test_one_client_holds_at_most_its_share_of_the_pool(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url, max_per_client=2, body_timeout_s=SAFETY_S)
    assert client.port is not None
    stalled = (
        b"POST /echo HTTP/1.1\r\nHost: www.naringsbloggen.se\r\nContent-Length: 1000\r\n\r\nx"
    )
    held = [await raw_request(client.port, stalled, source="127.0.0.2") for _ in range(2)]
    try:
        await asyncio.wait_for(origin.first_chunk_seen.wait(), SAFETY_S)
        third = await raw_request(
            client.port, b"GET /page HTTP/1.1\r\nHost: www.naringsbloggen.se\r\n\r\n",
            source="127.0.0.2",
        )
        assert await status_of(third) == 429  # edge: the third from one address
        third[1].close()
        other = await client.get("/page")  # another address is served at once
        assert other.status == 200
    finally:
        for _, writer in held:
            writer.close()


async def test_origin_timeout_bounds_idle_gaps_not_a_long_download(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url, timeout_s=2.0)
    # ten gaps of 0.3 s: 3 s in all, longer than the timeout, never idle that long
    resp = await client.get("/drip?n=10&gap=0.3")
    assert resp.status == 200
    assert await resp.read() == b"".join(b"bit %d;" % n for n in range(10))


async def test_origin_trickling_its_headers_gives_504(proxy_client: ProxyFactory) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)  # never idle for the timeout, never done either
        except (ConnectionError, asyncio.CancelledError):
            pass
        writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        client = await proxy_client(f"http://127.0.0.1:{port}/", timeout_s=0.5)
        resp = await asyncio.wait_for(client.get("/"), SAFETY_S)
        assert resp.status == 504
    finally:
        server.close()


async def test_the_wait_for_the_answer_starts_after_the_upload(
    origin: Origin, proxy_client: ProxyFactory
) -> None:
    client = await proxy_client(origin.url, timeout_s=1.0, body_timeout_s=SAFETY_S)

    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(5):  # 2.5 s of upload, longer than the origin timeout
            await asyncio.sleep(0.5)
            yield b"del;"

    resp = await client.post("/echo", data=slow_body())
    assert resp.status == 200
    [seen] = origin.seen
    assert seen["size"] == 20


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(st.text(max_size=100))
def test_host_name_never_fails_and_is_lower_case(value: str) -> None:
    name = _host_name(value)
    assert name == name.lower()
    assert not name.endswith(".")


@given(
    st.lists(labels, min_size=1, max_size=4),
    st.booleans(),
    st.one_of(st.none(), st.integers(1, 65535)),
    st.booleans(),
)
def test_host_name_folds_case_port_and_final_dot(
    parts: list[str], upper: bool, port: int | None, dot: bool
) -> None:
    host = ".".join(parts)
    spelled = (host.upper() if upper else host) + ("." if dot else "")
    if port is not None:
        spelled += f":{port}"
    assert _host_name(spelled) == host
