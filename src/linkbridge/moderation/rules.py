"""The moderation rule: first-time hosts held, known-good hosts approved, blocked refused."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from publicsuffixlist import PublicSuffixList

from linkbridge.errors import BadRequest
from linkbridge.model import LinkbackState
from linkbridge.settings import ModerationSettings
from linkbridge.urls import fold_host, host_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
IPV6_BLOCK_PREFIX = 64
"""An IPv6 sender usually holds a whole /64, so "its domain" is that network."""


def ascii_host(host: str) -> str:
    """A folded host name with IDN labels in punycode (as given when it does not encode)."""
    host = fold_host(host)
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped inside the package: nothing is downloaded


@lru_cache(maxsize=4096)
def ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when `host` is an IP literal ("203.0.113.5", "2001:db8::1", "[::1]")
    (remembered, bounded: each linkback asks for its host's at every list check, and a
    name's answer is an exception inside `ipaddress`)."""
    try:
        return ipaddress.ip_address(host.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def registrable_domain(host: str) -> str:
    """"blog.spam.example.co.uk" -> "example.co.uk"; an IP literal gives its address (IPv4) or
    its /64 (IPv6), never a pseudo-domain made of its last octets."""
    address = ip_of(host)
    if address is not None:
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/{IPV6_BLOCK_PREFIX}", strict=False))
        return str(address)
    host = fold_host(host)
    return _psl().privatesuffix(host) or host


def block_entry(text: str) -> str:
    """A host list entry from what a moderator typed, the same from every door.

    Accepts a host name ("www.Bad.Example." -> "bad.example", IDN -> punycode), a URL (its
    host), an IP address, or a network ("2001:db8::/64"); BadRequest for anything else, so
    nothing that can never match is stored.
    """
    raw = text.strip()
    candidate = host_of(raw) if "://" in raw else raw.lower().rstrip(".")
    address = ip_of(candidate)
    if address is not None:
        return str(address)
    if "/" in candidate:
        try:
            network = ipaddress.ip_network(candidate, strict=False)
        except ValueError:
            pass
        else:
            full = network.max_prefixlen == network.prefixlen
            return str(network.network_address) if full else str(network)
    name = ascii_host(candidate)
    if not name or len(name) > 253 or not _HOST_NAME.match(name):
        raise BadRequest(
            f"block: {text[:100]!r} is not a host name, a URL, an IP address or a network"
        )
    return name


def spam_block_entry(source_host: str, scope: str) -> str:
    """What `spam --block host|domain` blocks for a source host (an IP stays an address)."""
    if scope == "domain":
        return registrable_domain(source_host)
    address = ip_of(source_host)
    return str(address) if address is not None else fold_host(source_host)


def _split(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        address = ip_of(entry)
        try:
            network = (ipaddress.ip_network(address) if address is not None
                       else ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(ascii_host(entry))
        else:
            networks.append(network)
    return frozenset(names), tuple(networks)


@dataclass(frozen=True)
class HostLists:
    """Block and allow lists from config and store, merged; immutable, swapped on change."""

    blocked: frozenset[str] = frozenset()
    allowed: frozenset[str] = frozenset()
    url_patterns: tuple[re.Pattern[str], ...] = ()
    blocked_networks: tuple[IPNetwork, ...] = field(default=())
    allowed_networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def build(
        cls,
        settings: ModerationSettings,
        store_blocked: Iterable[str] = (),
        store_allowed: Iterable[str] = (),
    ) -> HostLists:
        blocked, blocked_networks = _split((*settings.block_hosts, *store_blocked))
        allowed, allowed_networks = _split((*settings.allow_hosts, *store_allowed))
        return cls(
            blocked=blocked,
            allowed=allowed,
            url_patterns=tuple(re.compile(p) for p in settings.block_url_patterns),
            blocked_networks=blocked_networks,
            allowed_networks=allowed_networks,
        )

    def is_blocked(self, host: str, url: str = "") -> bool:
        """True when the host (or a parent domain, or an IP host's network) is blocked, or the
        URL matches a pattern."""
        if _listed(host, self._blocked_folded, self.blocked_networks):
            return True
        return any(p.search(url) for p in self.url_patterns)

    def is_allowed(self, host: str) -> bool:
        return _listed(host, self._allowed_folded, self.allowed_networks)

    @cached_property
    def _blocked_folded(self) -> frozenset[str]:
        return frozenset(ascii_host(entry) for entry in self.blocked)

    @cached_property
    def _allowed_folded(self) -> frozenset[str]:
        return frozenset(ascii_host(entry) for entry in self.allowed)


def _listed(host: str, names: frozenset[str], networks: tuple[IPNetwork, ...]) -> bool:
    """An IP host matches networks only; a name matches names: an entry matches itself and its
    subdomains ("example.com" matches "a.example.com"), compared folded (`ascii_host`).

    `names` are folded entries. The host's own name and each parent domain are looked up in
    them (as many lookups as the host has labels), never a long list entry by entry."""
    address = ip_of(host)
    if address is not None:
        return any(address in network for network in networks)
    if not names:
        return False
    name = ascii_host(host)
    if name in names:
        return True
    dot = name.find(".")
    while dot >= 0:
        if name[dot + 1 :] in names:
            return True
        dot = name.find(".", dot + 1)
    return False


def state_after_verification(
    settings: ModerationSettings, lists: HostLists, host: str, *, host_known_good: bool
) -> LinkbackState:
    """The state a verified linkback takes by the moderation rule (docs/architecture.md)."""
    if lists.is_allowed(host):
        return LinkbackState.APPROVED
    if settings.always_hold:
        return LinkbackState.HELD
    if settings.hold_first_time and not host_known_good:
        return LinkbackState.HELD
    return LinkbackState.APPROVED
