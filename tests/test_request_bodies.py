"""Request bodies: server.body_timeout_s for a body sent too slowly; encoded bodies decoded with
the endpoint's cap applied after decoding (the server hands bodies over as sent)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support import SEED_POST
from tests.support.admin import enable_admin

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
