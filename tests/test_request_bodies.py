"""Request bodies: server.body_timeout_s for a body sent too slowly; encoded bodies decoded with
the endpoint's cap applied after decoding (the server hands bodies over as sent)."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import re
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from linkbridge import keys
from linkbridge.web.body import BodyDecoder, BodyEncodingRefused, BodyTooLarge
from tests.support import SEED_POST
from tests.support.admin import enable_admin, login

Client = TestClient[web.Request, web.Application]
FORM = "application/x-www-form-urlencoded"


async def test_a_body_sent_too_slowly_is_answered_408(
    lb_app: Callable[..., Awaitable[Any]],
) -> None:
    client: Client = await lb_app(extra="[server]\nbody_timeout_s = 0.5\n")
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(
        b"POST /webmention HTTP/1.1\r\nHost: www.naringsbloggen.se\r\n"
        b"Content-Type: " + FORM.encode() + b"\r\nContent-Length: 100\r\n\r\nsource=http"
    )
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readline(), 10)  # a hang guard only
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 408 ")


async def test_a_gzip_body_is_decoded(lb_app: Callable[..., Awaitable[Any]]) -> None:
    client: Client = await lb_app()
    body = gzip.compress(f"source=http://example.org/a&target={SEED_POST}".encode())
    resp = await client.post(
        "/webmention", data=body,
        headers={"Content-Type": FORM, "Content-Encoding": "gzip"},
    )
    assert resp.status == 201, await resp.text()


async def test_a_decoded_body_past_the_cap_is_refused(
    lb_app: Callable[..., Awaitable[Any]],
) -> None:
    client: Client = await lb_app(extra="[webmention]\nmax_body_bytes = 1000\n")
    at_cap = f"source=http://example.org/b&target={SEED_POST}&x=".encode()
    at_cap += b"a" * (1000 - len(at_cap))
    resp = await client.post(
        "/webmention", data=gzip.compress(at_cap),
        headers={"Content-Type": FORM, "Content-Encoding": "gzip"},
    )
    assert resp.status == 201, await resp.text()  # edge: exactly the cap
    bomb = gzip.compress(at_cap + b"a")  # one byte past it, a few dozen bytes on the wire
    resp = await client.post(
        "/webmention", data=bomb, headers={"Content-Type": FORM, "Content-Encoding": "gzip"}
    )
    assert resp.status == 413


async def test_an_unknown_encoding_is_refused(lb_app: Callable[..., Awaitable[Any]]) -> None:
    client: Client = await lb_app()
    resp = await client.post(
        "/webmention", data=b"\x00\x01", headers={"Content-Type": FORM, "Content-Encoding": "br"}
    )
    assert resp.status == 415


async def test_a_login_form_sent_too_slowly_is_answered_408(
    lb_app: Callable[..., Awaitable[Any]],
) -> None:
    client: Client = await lb_app(extra="[server]\nbody_timeout_s = 0.5\n")
    await enable_admin(client)
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(
        b"POST /admin/login HTTP/1.1\r\nHost: www.naringsbloggen.se\r\n"
        b"Content-Type: " + FORM.encode() + b"\r\nContent-Length: 100\r\n\r\nusername=mo"
    )
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readline(), 10)  # a hang guard only
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 408 ")


def admin_post_paths(app: web.Application) -> list[str]:
    """Every /admin path a POST reaches, read from the route table (a new form is in it)."""
    paths = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("POST", "*") and path.startswith("/admin"):
            paths.add(re.sub(r"\{id[^}]*\}", "1", re.sub(r"\{tail[^}]*\}", "nowhere", path)))
    return sorted(paths)


async def _post_slowly(
    port: int, path: str, cookie: str, pieces: list[bytes], *, pause_s: float, stall: bool
) -> bytes:
    """POST a form in `pieces`, `pause_s` apart; with `stall`, the last piece never comes."""
    body = b"".join(pieces)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: www.naringsbloggen.se\r\nCookie: {cookie}\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    try:
        for piece in pieces[:-1] if stall else pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause_s)
        return await asyncio.wait_for(reader.readline(), 30)  # a hang guard only
    finally:
        writer.close()


async def test_every_admin_form_sent_too_slowly_is_answered_408(
    lb_app: Callable[..., Awaitable[Any]],
) -> None:
    """server.body_timeout_s bounds every admin POST as it bounds the public ones: a form that
    arrives in pieces within it is read; one that stops coming gets 408, on every form."""
    client: Client = await lb_app(extra="[server]\nbody_timeout_s = 2.0\n")
    await enable_admin(client)
    csrf = await login(client)
    assert client.server.port is not None
    port = client.server.port
    cookie = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
    paths = admin_post_paths(client.app)
    assert {"/admin/login", "/admin/hosts", "/admin/redirects/import", "/admin/linkbacks/1",
            "/admin/nowhere"} <= set(paths)
    # within the time, however slowly: read and acted on
    form = f"csrf={csrf}&host=slow.example&list=block&reason=".encode()
    head = await _post_slowly(port, "/admin/hosts", cookie, [form[:5], form[5:20], form[20:]],
                              pause_s=0.2, stall=False)
    assert head.startswith(b"HTTP/1.1 303 "), head
    assert await client.app[keys.STORE].list_hosts("block") == ["slow.example"]
    # the rest never comes: 408 on every form, nothing changed
    heads = await asyncio.gather(*(
        _post_slowly(port, path, cookie, [f"csrf={csrf}&".encode(), b"host=late.example"],
                     pause_s=0.0, stall=True)
        for path in paths
    ))
    answered = {path: head[:13] for path, head in zip(paths, heads, strict=True)}
    assert answered == dict.fromkeys(paths, b"HTTP/1.1 408 ")
    assert await client.app[keys.STORE].list_hosts("block") == ["slow.example"]


# ---------------------------------------------------------------- the decoder, fuzzed

ENCODINGS = st.sampled_from(["", "identity", "gzip", "x-gzip", "deflate", "GZIP ", "br", "zstd"])


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _decode(encoding: str, pieces: list[bytes], max_bytes: int) -> bytes:
    decoder = BodyDecoder(encoding, max_bytes)
    out = b"".join(decoder.feed(p) for p in pieces)
    decoder.finish()
    return out


@given(st.binary(max_size=3000), ENCODINGS, st.lists(st.integers(0, 3000), max_size=5),
       st.integers(0, 2000))
def test_any_bytes_in_any_encoding_decode_or_are_refused(
    body: bytes, encoding: str, cuts: list[int], max_bytes: int
) -> None:
    try:
        out = _decode(encoding, _pieces(body, cuts), max_bytes)
    except (BodyTooLarge, BodyEncodingRefused):
        return
    assert len(out) <= max_bytes


def _compress(data: bytes, encoding: str) -> bytes:
    return gzip.compress(data) if "gzip" in encoding else zlib.compress(data)


@given(st.binary(max_size=3000), st.sampled_from(["gzip", "x-gzip", "deflate"]),
       st.lists(st.integers(0, 4000), max_size=5), st.integers(0, 4000))
def test_a_compressed_body_decodes_exactly_up_to_the_cap(
    body: bytes, encoding: str, cuts: list[int], max_bytes: int
) -> None:
    sent = _compress(body, encoding)
    pieces = _pieces(sent, cuts)
    if len(body) > max_bytes or len(sent) > max_bytes:
        with pytest.raises(BodyTooLarge):
            _decode(encoding, pieces, max_bytes)
    else:
        assert _decode(encoding, pieces, max_bytes) == body


def test_a_cut_short_gzip_body_is_refused() -> None:
    sent = gzip.compress(b"source=http://example.org/&target=x" * 10)
    with pytest.raises(BodyEncodingRefused, match="cut short"):
        _decode("gzip", [sent[:-5]], 10_000)
