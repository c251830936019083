"""Helpers the end-to-end pingback tests share: real XML-RPC clients, a scriptable source site."""

from __future__ import annotations

import asyncio
import socket
import xmlrpc.client
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from tests.support import (
    ROOT,
    SEED_POST,
    Client,
    page_linking_to,
)

SUCCESS_WORDS = "registered"
QUEUED_WORDS = "queued"
MULTIBLOG_WXR = ROOT / "tests" / "fixtures" / "multiblog" / "innovation.wxr"
TRASHED_POST = "http://www.naringsbloggen.se/innovation/okategoriserade/testinlagg/"
PINGS_CLOSED_POST = (
    "http://www.naringsbloggen.se/innovation/forskning-och-utveckling/"
    "nationella-innovationsstrategin-2/"
)
LOGISTIKFOKUS = "http://www.logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/"



def endpoint(client: Client, path: str = "/xmlrpc.php") -> str:
    """The absolute URL a real XML-RPC client talks to."""
    return str(client.make_url(path))


async def call(url: str, method: str, *params: Any) -> Any:
    """Call `method` through Python's blocking ServerProxy in a thread; a Fault is returned."""

    def run() -> Any:
        with xmlrpc.client.ServerProxy(url) as proxy:
            try:
                return getattr(proxy, method)(*params)
            except xmlrpc.client.Fault as fault:
                return fault

    return await asyncio.to_thread(run)


async def ping(
    client: Client, source: str, target: str = SEED_POST, path: str = "/xmlrpc.php"
) -> Any:
    """pingback.ping(source, target) through ServerProxy; the success string or the Fault."""
    return await call(endpoint(client, path), "pingback.ping", source, target)


def call_body(method: str, *params: Any) -> bytes:
    """A methodCall as Python's client would write it."""
    return xmlrpc.client.dumps(params, method).encode("utf-8")


async def post_raw(
    client: Client, body: bytes, path: str = "/xmlrpc.php", headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST a raw body; (HTTP status, the parsed value or Fault). The answer must parse."""
    sent = {"Content-Type": "text/xml", **(headers or {})}
    resp = await client.post(path, data=body, headers=sent)
    raw = await resp.read()
    assert resp.status == 200, (resp.status, raw[:300])
    assert resp.content_type == "text/xml"
    return resp.status, parse_response(raw)


def parse_response(raw: bytes) -> Any:
    """The single value of a methodResponse, or its Fault; raises if not well-formed."""
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), raw[:100]
    try:
        (value,), _ = xmlrpc.client.loads(raw)
    except xmlrpc.client.Fault as fault:
        return fault
    return value


def fault_code(answer: Any) -> int | None:
    """The fault code of an answer, or None when it is a success value."""
    return answer.faultCode if isinstance(answer, xmlrpc.client.Fault) else None


@dataclass
class Page:
    """What the source site answers at one path."""

    body: str = ""
    status: int = 200
    delay_s: float = 0.0


@dataclass
class SourceSite:
    """A loopback blog whose pages the test scripts; counts every request it gets."""

    pages: dict[str, Page] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        page = self.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="not here")
        if page.delay_s:
            await asyncio.sleep(page.delay_s)
        return web.Response(status=page.status, text=page.body, content_type="text/html")

    @property
    def port(self) -> int:
        assert self.server is not None
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: str = "", *, status: int = 200, delay_s: float = 0.0) -> str:
        """Serve `body` at `path`; returns the page's URL."""
        self.pages[path] = Page(body, status, delay_s)
        return self.url(path)

    def linking(self, path: str, target: str = SEED_POST, **kw: Any) -> str:
        """Serve a page at `path` that links to `target`; returns its URL."""
        return self.add(path, page_linking_to(target), **kw)


class NoSuchHostResolver(AbstractResolver):
    """DNS that knows no name (NXDOMAIN), so no test ever asks a real DNS server."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        pass


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within_s: float = 30) -> None:
    """Poll `check` until true; the bound is a safety net, not a timing assertion."""
    try:
        async with asyncio.timeout(within_s):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
