"""Caps on open client connections, in all and per address, kept below the open-file limit.

aiohttp has no connection limit of its own. A listening site (`GatedSite`) wraps each accepted
connection in a small protocol that admits it, or answers 503 and closes it at once, before
any aiohttp request handler exists. Admitted connections are plain aiohttp connections; a
client that sends its request headers too slowly is closed by aiohttp's keep-alive timer
(`server.header_timeout_s`), so held slots come back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import resource
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from aiohttp import web

from linkbridge.memo import BoundedMemo
from linkbridge.model import sender_group
from linkbridge.settings import Settings

logger = structlog.get_logger(__name__)

REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 10\r\nConnection: close\r\nContent-Length: 37\r\n\r\n"
    b"too many connections; try again soon\n"
)
FILE_RESERVE = 64
"""Open files kept free beside client connections and fetches: the store, logs, listeners."""
EXEMPT_MEMO_ENTRIES = 4096
"""Addresses whose exemption a gate remembers before it starts over."""
LOG_EVERY_S = 60.0
"""Refused connections are counted and logged at most this often, never one line each."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def open_file_limit() -> int:
    """This process's soft RLIMIT_NOFILE (a large number when unlimited)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class ConnectionGate:
    """Counts open connections in all and per address group (IPv4 address or IPv6 /64)."""

    def __init__(
        self,
        max_total: int,
        max_per_address: int,
        *,
        exempt: Iterable[str] = (),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.exempt: tuple[Network, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in exempt
        )
        self._exempt_memo: BoundedMemo[str, bool] = BoundedMemo(EXEMPT_MEMO_ENTRIES)
        """Whether an address is exempt, per address seen (the exempt networks never change)."""
        self.total = 0
        self.by_address: dict[str, int] = {}
        self.refused = 0
        self._monotonic = monotonic
        self._logged_at = -LOG_EVERY_S

    def _exempt(self, ip: str) -> bool:
        known = self._exempt_memo.get(ip)
        if known is None:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                known = False
            else:
                known = any(address in net for net in self.exempt)
            self._exempt_memo.remember(ip, known)
        return known

    def admit(self, ip: str) -> str | None:
        """Count a new connection from `ip`; its key to `release`, or None when refused."""
        key = "" if self._exempt(ip) else sender_group(ip)
        if self.total >= self.max_total or (
            key and self.by_address.get(key, 0) >= self.max_per_address
        ):
            self._refused(ip)
            return None
        self.total += 1
        if key:
            self.by_address[key] = self.by_address.get(key, 0) + 1
        return key

    def release(self, key: str) -> None:
        """A connection admitted under `key` has closed."""
        self.total -= 1
        if key:
            left = self.by_address.get(key, 0) - 1
            if left > 0:
                self.by_address[key] = left
            else:
                self.by_address.pop(key, None)

    def _refused(self, ip: str) -> None:
        self.refused += 1
        now = self._monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            logger.warning(
                "connections_refused", refused_total=self.refused, open=self.total,
                last_client=ip, max_total=self.max_total, max_per_address=self.max_per_address,
            )


class _GatedProtocol(asyncio.Protocol):
    """Admits one connection through the gate and hands every event to aiohttp's handler."""

    def __init__(self, gate: ConnectionGate, make_handler: Callable[[], asyncio.Protocol]):
        self.gate = gate
        self.make_handler = make_handler
        self.handler: asyncio.Protocol | None = None
        self.key: str | None = None
        self.accepted_at: float | None = None
        """The event loop's time the connection was accepted (see `arrival`)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.accepted_at = asyncio.get_running_loop().time()
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.key = self.gate.admit(ip)
        if self.key is None:
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REFUSAL)
            transport.close()
            return
        self.handler = self.make_handler()
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.handler is not None:
            self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received() if self.handler is not None else None

    def pause_writing(self) -> None:
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self.handler is not None:
            self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.key is not None:
            self.gate.release(self.key)
            self.key = None
        if self.handler is not None:
            self.handler.connection_lost(exc)
            self.handler = None


def arrival(request: web.Request, now: float, within_s: float) -> float:
    """When `request` arrived, as early as the server can tell: its connection's accept time
    for the first request to ask on a connection accepted at most `within_s` ago (a sender
    that opens a connection per request, as WordPress does), else `now`.

    A busy event loop reads a request late; a budget counted from the accept keeps the wait
    before the handler ran in it. A later request on a kept-alive connection counts from `now`
    (at worst a request after another one within `within_s` gets a shorter budget)."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    if isinstance(protocol, _GatedProtocol) and protocol.accepted_at is not None:
        accepted, protocol.accepted_at = protocol.accepted_at, None
        if now - accepted <= within_s:
            return min(accepted, now)
    return now


class GatedSite(web.BaseSite):
    """A TCP site whose connections pass a `ConnectionGate` first."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, gate: ConnectionGate,
        *, backlog: int = 128, sock: socket.socket | None = None, reuse_port: bool = False,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self.host = host
        self.requested_port = port
        self.gate = gate
        self.bound_port: int | None = None
        self.sock = sock
        """An already listening socket to serve (a reload's copy of the old site's)."""
        self.reuse_port = reuse_port
        """SO_REUSEPORT: several processes (serve --workers) listen on the one port."""

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.bound_port or self.requested_port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        gate = self.gate

        def factory() -> asyncio.Protocol:
            return _GatedProtocol(gate, server)

        loop = asyncio.get_running_loop()
        if self.sock is not None:
            self._server = await loop.create_server(factory, sock=self.sock,
                                                    backlog=self._backlog)
        else:
            self._server = await loop.create_server(
                factory, self.host, self.requested_port, backlog=self._backlog,
                reuse_address=True, reuse_port=self.reuse_port or None,
            )
        if self._server.sockets:
            self.bound_port = int(self._server.sockets[0].getsockname()[1])

    def listening_copy(self) -> socket.socket:
        """A new descriptor of this site's listening socket: another site can accept on it
        while this one stops (its close then leaves the socket open)."""
        server = self._server
        assert isinstance(server, asyncio.Server)
        assert server.sockets
        return socket.socket(fileno=os.dup(server.sockets[0].fileno()))


def capped_total(max_connections: int, other_files: int, limit: int | None = None) -> int:
    """`max_connections`, lowered to fit the open-file limit beside `other_files` in use."""
    room = (limit if limit is not None else open_file_limit()) - FILE_RESERVE - other_files
    return max(1, min(max_connections, room))


def server_options(settings: Settings) -> dict[str, Any]:
    """aiohttp server options `serve` and the tests use: timeouts, raw bodies, no access log.

    keepalive_timeout is aiohttp's timer for a connection waiting for its next request; it
    runs from connecting (and from each answer) and closes a connection whose headers have not
    all arrived, so it is the header timeout. Request bodies reach handlers as sent
    (auto_decompress off): the origin proxy forwards them byte for byte.
    """
    return {
        "shutdown_timeout": settings.server.shutdown_timeout_s,
        "access_log": None,
        "keepalive_timeout": settings.server.header_timeout_s,
        "auto_decompress": False,
    }


def connection_gate(settings: Settings, *, limit: int | None = None) -> ConnectionGate:
    """The gate for `serve`: server.max_connections fitted to the open-file limit."""
    server = settings.server
    origin_files = server.origin_max_connections if settings.site.origin_url else 0
    total = capped_total(
        server.max_connections, settings.fetch.global_concurrency + origin_files, limit
    )
    if total < server.max_connections:
        logger.warning(
            "connections_cap_lowered", max_connections=server.max_connections, now=total,
            open_file_limit=limit if limit is not None else open_file_limit(),
        )
    return ConnectionGate(
        total, min(total, server.max_connections_per_ip), exempt=server.trusted_proxies
    )
