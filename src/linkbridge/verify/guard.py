"""The address policy: linkback sources may only reach global unicast addresses.

Three checks, so the address checked is the address connected to: the URL before any
request (scheme, userinfo, port, odd host spellings, IP literals), a resolver that drops
refused DNS answers, and a socket factory that refuses any other address at connect time.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from functools import lru_cache

from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DENIED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_DENIED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_HOST_NAME = re.compile(
    r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
    r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$"
)
_NUMBER_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_CANONICAL_V4 = re.compile(
    r"^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$"
)


ADDRESS_CACHE_ENTRIES = 4096
"""Addresses whose policy answer one AddressPolicy remembers."""


class AddressRefusedError(OSError):
    """An address (or URL) the policy refuses; an OSError so aiohttp passes it through."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible, 6to4 or NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


class AddressPolicy:
    """Global unicast only, except networks in `allow_networks` (tests only)."""

    def __init__(self, allow_networks: Iterable[str] = (), allowed_ports: Iterable[int] = ()):
        self.allow_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allow_networks
        )
        self.allowed_ports = frozenset(allowed_ports)
        # The policy never changes, so its answer for an address is remembered (bounded):
        # every fetch asks it twice (the resolver, then the socket factory).
        self._allows_text = lru_cache(maxsize=ADDRESS_CACHE_ENTRIES)(self._allows_uncached)

    def _exempt(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.allow_networks)

    def allows_ip(self, ip: IPAddress) -> bool:
        """True when `ip` may be connected to."""
        if self._exempt(ip):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id is not None:
                return False
            inner = embedded_ipv4(ip)
            if inner is not None:
                return self.allows_ip(inner)
            denied: tuple[IPNetwork, ...] = _DENIED_V6
        else:
            denied = _DENIED_V4
        if any(ip in n for n in denied):
            return False
        return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private)

    def allows(self, address: str) -> bool:
        """True when the textual address (as a resolver or socket gives it) is allowed."""
        return self._allows_text(address)

    def _allows_uncached(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return self.allows_ip(ip)

    def check_url(self, url: URL) -> None:
        """Refuse a URL before any request: raises AddressRefusedError with a readable reason."""
        if url.scheme not in ("http", "https"):
            raise AddressRefusedError(f"guard: only http and https URLs, not {url.scheme!r}")
        if url.user is not None or url.password is not None:
            raise AddressRefusedError("guard: URLs with a user name or password are refused")
        host = url.raw_host
        if not host:
            raise AddressRefusedError("guard: the URL has no host")
        if url.port not in self.allowed_ports:
            raise AddressRefusedError(f"guard: port {url.port} is not an allowed port")
        literal = host_literal(host)
        if literal is not None and not self.allows(str(literal)):
            raise AddressRefusedError(f"guard: {host} refused by address policy")


def host_literal(host: str) -> IPAddress | None:
    """The IP address a URL host spells, or None for a name; odd spellings are refused.

    A host whose last label is a number (decimal, octal or 0x-hex, as browsers read it)
    is an IPv4 address and must be a canonical dotted quad: 2130706433, 0x7f000001,
    0177.0.0.1, 127.1 and "127.0.0.1." are refused outright.
    """
    host = host.lower()
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.strip("[]").replace("%25", "%"))
        except ValueError:
            raise AddressRefusedError(f"guard: not an IPv6 address: {host[:100]!r}") from None
    if len(host) > 254 or not _HOST_NAME.match(host):
        raise AddressRefusedError(f"guard: not a host name: {host[:100]!r}")
    last = host.rstrip(".").rsplit(".", 1)[-1]
    if not _NUMBER_LABEL.match(last):
        return None
    if not _CANONICAL_V4.match(host):
        raise AddressRefusedError(f"guard: odd IPv4 spelling refused: {host[:100]!r}")
    return ipaddress.IPv4Address(host)


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and keeps only the answers the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host_literal(host) is not None:  # raises on odd spellings
            raise AddressRefusedError(f"guard: {host} is an address, not a name")
        if self._inner is None:
            self._inner = ThreadedResolver()  # made here: it needs a running loop
        answers = await self._inner.resolve(host, port, family)
        allowed = [a for a in answers if self._policy.allows(a["host"])]
        if not allowed:
            shown = ", ".join(sorted({a["host"] for a in answers}))
            raise AddressRefusedError(f"guard: {host} resolves only to refused addresses ({shown})")
        return allowed

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def socket_factory(policy: AddressPolicy) -> SocketFactoryType:
    """A connect-time check for aiohttp's TCPConnector(socket_factory=...)."""

    def make_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        if not policy.allows(str(address[0])):
            raise AddressRefusedError(f"guard: {address[0]} refused by address policy")
        return socket.socket(family=family, type=type_, proto=proto)

    return make_socket
