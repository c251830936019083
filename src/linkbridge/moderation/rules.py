"""The moderation rule: first-time hosts held, known-good hosts approved, blocked refused."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from linkbridge.model import LinkbackState
from linkbridge.settings import ModerationSettings
from linkbridge.urls import fold_host


def host_matches(host: str, entry: str) -> bool:
    """An entry matches itself and its subdomains ("example.com" matches "a.example.com")."""
    host, entry = fold_host(host), fold_host(entry)
    return host == entry or host.endswith("." + entry)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped inside the package: nothing is downloaded


def registrable_domain(host: str) -> str:
    """"blog.spam.example.co.uk" -> "example.co.uk"; a bare suffix or IP stays as it is."""
    host = fold_host(host)
    return _psl().privatesuffix(host) or host


@dataclass(frozen=True)
class HostLists:
    """Block and allow lists from config and store, merged; immutable, swapped on change."""

    blocked: frozenset[str] = frozenset()
    allowed: frozenset[str] = frozenset()
    url_patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def build(
        cls,
        settings: ModerationSettings,
        store_blocked: Iterable[str] = (),
        store_allowed: Iterable[str] = (),
    ) -> HostLists:
        return cls(
            blocked=frozenset(fold_host(h) for h in (*settings.block_hosts, *store_blocked)),
            allowed=frozenset(fold_host(h) for h in (*settings.allow_hosts, *store_allowed)),
            url_patterns=tuple(re.compile(p) for p in settings.block_url_patterns),
        )

    def is_blocked(self, host: str, url: str = "") -> bool:
        """True when the host (or a parent domain) is blocked, or the URL matches a pattern."""
        if any(host_matches(host, entry) for entry in self.blocked):
            return True
        return any(p.search(url) for p in self.url_patterns)

    def is_allowed(self, host: str) -> bool:
        return any(host_matches(host, entry) for entry in self.allowed)


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
