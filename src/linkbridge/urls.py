"""The one URL canonicaliser, shared by the post registry, verification and retirement.

Two URLs that a reader would call "the same page" get the same key: scheme and www/alias
host folded, fragment and trailing slash dropped, case folded, percent-encoded and literal
letters equal (NFC), and only significant query parameters kept, sorted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit

import ada_url

from linkbridge.errors import UndecodableURL
from linkbridge.settings import SiteSettings

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PREFIXES = ("utm_",)
SOURCE_KEY_VERSION = "2"
"""The source identity rule's version: stored keys are recomputed when it changes (2: RFC 3986
§6.2.2-6.2.3 only; 1 folded path case, query values and the trailing slash)."""
PATH_KEY_CACHE_ENTRIES = 4096
"""Path keys remembered per canonicaliser: the hot paths ask for the same few URLs again."""
SOURCE_KEY_CACHE_ENTRIES = 1024
"""Source keys remembered per canonicaliser: one linkback asks for its source's key at
several steps (in-flight check, storing), each a WHATWG parse."""
SPLIT_CACHE_ENTRIES = 1024
"""URLs remembered taken apart per canonicaliser: every linkback splits its target three times
(resolving it, its in-flight key, the link found in the source), and a flood names few targets."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def fold_host(host: str) -> str:
    """Lower-case, drop a trailing dot and a leading "www."."""
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def _decode(text: str) -> str:
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise UndecodableURL(f"urls: undecodable percent-escape in {text[:200]!r}") from None
    return _normalise(decoded)


def _normalise(decoded: str) -> str:
    """Refuse control characters; NFC-normalise and case-fold already decoded text."""
    if _CONTROL.search(decoded):
        raise UndecodableURL("urls: control character in URL")
    return unicodedata.normalize("NFC", decoded).casefold()


def canonical_path(path: str) -> str:
    """Decode, NFC-normalise, case-fold, collapse "//", drop the trailing slash ("/" stays)."""
    decoded = _decode(path or "/")
    parts = [seg for seg in decoded.split("/") if seg]
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class SplitURL:
    """A URL taken apart once: folded host (empty when relative), canonical path and query."""

    scheme: str
    host: str
    port: int | None
    path: str
    query: tuple[tuple[str, str], ...]

    def key(self) -> str:
        """Path plus the kept query, e.g. "/innovation?p=12"."""
        if not self.query:
            return self.path
        return f"{self.path}?{urlencode(self.query)}"


class Canonicaliser:
    """Knows which hosts are ours and which query parameters matter."""

    def __init__(self, site_hosts: Iterable[str], significant_params: Iterable[str]) -> None:
        self.site_hosts = frozenset(fold_host(h) for h in site_hosts if h)
        self.significant = frozenset(p.lower() for p in significant_params)
        self._path_keys = lru_cache(maxsize=PATH_KEY_CACHE_ENTRIES)(self._path_key)
        self._source_keys = lru_cache(maxsize=SOURCE_KEY_CACHE_ENTRIES)(self._source_key)
        self._splits = lru_cache(maxsize=SPLIT_CACHE_ENTRIES)(self._split)

    @classmethod
    def for_site(
        cls, public_base_url: str, aliases: Iterable[str], significant: Iterable[str]
    ) -> Canonicaliser:
        """Build from settings values: the base URL's host plus every alias."""
        hosts = [urlsplit(public_base_url).hostname or ""]
        for alias in aliases:
            hosts.append(urlsplit(alias).hostname or "" if "//" in alias else alias)
        return cls(hosts, significant)

    @classmethod
    def for_settings(cls, site: SiteSettings) -> Canonicaliser:
        """The site's canonicaliser from its `[site]` settings."""
        return cls.for_site(site.public_base_url, site.hosts, site.significant_query_params)

    def split(self, url: str, *, keep_all_params: bool = False) -> SplitURL:
        """Take `url` (absolute or a path) apart into canonical pieces (memoised, bounded)."""
        return self._splits(url, keep_all_params)

    def _split(self, url: str, keep_all_params: bool) -> SplitURL:
        url = url.strip()
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UndecodableURL(f"urls: not a URL: {url[:200]!r}") from None
        scheme = parts.scheme.lower()
        host = fold_host(parts.hostname or "")
        if port is not None and DEFAULT_PORTS.get(scheme) == port:
            port = None
        path = canonical_path(parts.path)
        query: list[tuple[str, str]] = []
        try:  # parse_qsl decodes the escapes itself: decoding again would decode twice
            pairs = parse_qsl(parts.query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise UndecodableURL(f"urls: undecodable query in {url[:200]!r}") from None
        for name, value in pairs:
            name_c, value_c = _normalise(name), _normalise(value)
            is_ours = not host or host in self.site_hosts
            if is_ours and not keep_all_params and name_c not in self.significant:
                continue
            if not is_ours and name_c.startswith(TRACKING_PREFIXES):
                continue
            query.append((name_c, value_c))
        return SplitURL(scheme, host, port, path, tuple(sorted(query)))

    def is_own(self, url: str) -> bool:
        """True when `url` is on one of our hosts (relative URLs count as ours)."""
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            raise UndecodableURL(f"urls: not a URL: {url[:200]!r}") from None
        return host is None or fold_host(host) in self.site_hosts

    def path_key(self, url: str) -> str:
        """Canonical key of one of our URLs: path plus significant query (memoised, bounded)."""
        return self._path_keys(url)

    def _path_key(self, url: str) -> str:
        return self.split(url).key()

    def source_key(self, url: str) -> str:
        """A linkback source's identity: "host[:port]/path?query" (memoised, bounded).

        Folds only what is the same resource by RFC 3986 §6.2.2-6.2.3: host case, IDN to
        punycode, a trailing dot, the default port, dot segments, an empty path ("/"),
        percent-encoding case, escaped unreserved characters, non-ASCII as UTF-8 escapes, and
        the fragment; plus, as the service always has, `http`/`https` and a leading "www."
        (a site that moved to https updates its mention) and our own host aliases. Path case,
        query names, values and order, and the trailing slash are never folded: `/Notes/Q1`
        and `/notes/q1`, `?v=AbCdE` and `?v=abcde`, `/a/b` and `/a/b/` are different pages.
        """
        return self._source_keys(url)

    def _source_key(self, url: str) -> str:
        try:  # WHATWG parsing (ada): the host and port as a browser reaches them
            parsed = ada_url.URL(url.strip())
        except ValueError:
            raise UndecodableURL(f"urls: not a URL: {url[:200]!r}") from None
        if _CONTROL.search(url):
            raise UndecodableURL("urls: control character in URL")
        host = fold_host(parsed.hostname)
        if host in self.site_hosts:
            host = min(self.site_hosts)  # one spelling for all our aliases
        netloc = f"{host}:{parsed.port}" if parsed.port else host
        query = _escapes_normalised(parsed.search.removeprefix("?"))
        path = _escapes_normalised(parsed.pathname or "/") or "/"
        return f"{netloc}{path}?{query}" if query else f"{netloc}{path}"

    def canonical(self, url: str) -> str:
        """Canonical key of any absolute URL: "host[:port]/path?query" (scheme folded)."""
        s = self.split(url)
        host = s.host
        if host in self.site_hosts:
            host = min(self.site_hosts)  # one spelling for all our aliases
        netloc = f"{host}:{s.port}" if s.port else host
        return f"{netloc}{s.key()}"


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


def _escapes_normalised(component: str) -> str:
    """RFC 3986 §6.2.2.1-2: escaped unreserved characters decoded, other escapes upper-case."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(one, component)


def absolute(base: str, ref: str) -> str:
    """Resolve `ref` against `base` as a browser would."""
    return urljoin(base, ref.strip())


def public_url(public_base_url: str, path: str) -> str:
    """An absolute URL under the configured base (never built from the request's Host)."""
    return public_base_url.rstrip("/") + "/" + path.lstrip("/")


def host_of(url: str) -> str:
    """The URL's host, lower-case, no trailing dot ("" when there is none or it is garbage)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def browser_host(url: str) -> str:
    """The host a browser goes to for `url`, when `url` is an absolute http(s) URL without
    credentials that a browser reads exactly as written; else ValueError saying why.

    Parsed by the WHATWG URL rules (ada): a backslash is a path separator there, tabs and
    newlines vanish, so "https://evil.example\\.regeringen.se/" goes to evil.example. Anything
    whose WHATWG serialisation differs from the text (or whose host Python's parser reads
    differently) is refused rather than guessed at: the one check for every redirect target
    (config, CSV, command line, admin page).
    """
    try:
        parsed = ada_url.URL(url)
    except ValueError:
        raise ValueError(f"not an absolute http(s) URL: {url[:200]!r}") from None
    if parsed.protocol not in ("http:", "https:") or not parsed.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url[:200]!r}")
    if parsed.username or parsed.password:
        raise ValueError(f"credentials in a URL: {url[:200]!r}")
    if parsed.href != url:
        raise ValueError(
            f"a browser reads {url[:200]!r} as {parsed.href[:200]!r}; write that instead"
        )
    try:
        python_host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        python_host = ""
    host = parsed.hostname.lower()
    if python_host != host.strip("[]"):
        raise ValueError(f"an ambiguous host in {url[:200]!r}")
    return host
