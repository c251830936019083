"""The one bounded GET for linkback sources: guarded addresses, hand-followed hops, caps."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from linkbridge import __version__
from linkbridge.errors import LinkbridgeError
from linkbridge.settings import FetchSettings
from linkbridge.verify.guard import (
    AddressPolicy,
    AddressRefusedError,
    GuardedResolver,
    socket_factory,
)
from linkbridge.verify.limiter import HostLimits
from linkbridge.verify.outcome import OutcomeKind

logger = structlog.get_logger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK_BYTES = 65536
ACCEPT = (
    "text/html, application/xhtml+xml;q=0.9, application/json;q=0.8, text/plain;q=0.7, */*;q=0.1"
)
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class FetchError(LinkbridgeError):
    """A fetch that produced no response to check; `kind` says which outcome it means."""

    kind: OutcomeKind = OutcomeKind.TRANSIENT


class SourceRefusedError(FetchError):
    """The address policy refused the URL, a hop, or every address it resolved to."""

    kind = OutcomeKind.REFUSED
    reason = "source_refused"


class SourceMissingError(FetchError):
    """No such host, a redirect past the hop limit, or an unusable redirect."""

    kind = OutcomeKind.MISSING
    reason = "source_missing"


class SourceUnreachableError(FetchError):
    """Timeout, connection error or rate cap: worth retrying later."""

    kind = OutcomeKind.TRANSIENT
    reason = "source_unreachable"


@dataclass(frozen=True)
class FetchResult:
    """The final response of a fetch; `body` holds at most the cap, `truncated` if cut."""

    url: str
    final_url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    truncated: bool
    charset: str | None
    content_type: str
    redirects: int


@lru_cache(maxsize=4096)
def _client_ip(value: str) -> str:
    """The sender's address in its canonical spelling, or "" (remembered: a flood repeats)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


class SafeFetcher:
    """One long-lived guarded client session shared by every verification."""

    def __init__(
        self,
        fetch_settings: FetchSettings,
        *,
        public_base_url: str,
        resolver: AbstractResolver | None = None,
        version: str = __version__,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = fetch_settings
        self.policy = AddressPolicy(fetch_settings.allow_networks, fetch_settings.allowed_ports)
        self._resolver = GuardedResolver(self.policy, resolver)
        self._limits = HostLimits(
            fetch_settings.per_host_concurrency,
            fetch_settings.per_host_rate_per_min,
            monotonic=monotonic,
        )
        self._global = asyncio.Semaphore(max(1, fetch_settings.global_concurrency))
        self._ua_base = f"linkbridge/{version} (+{public_base_url}"
        contact = re.sub(r"[\x00-\x1f\x7f();]", "", fetch_settings.user_agent_contact).strip()
        self._ua_contact = f"; {contact}" if contact else ""
        self._in_flight: dict[tuple[str, int, int], asyncio.Task[FetchResult]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._monotonic = monotonic
        self.on_fetched: Callable[[float], None] | None = None
        """Told how long each source fetch took, s (the metrics' histogram)."""
        if fetch_settings.allow_networks:
            logger.warning(
                "fetch_allowance_enabled",
                allow_networks=list(fetch_settings.allow_networks),
                message="fetcher: these networks bypass the public-address rule; tests only",
            )

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("fetcher: closed")
        if self._session is None:
            s = self.settings
            connector = aiohttp.TCPConnector(
                resolver=self._resolver,
                use_dns_cache=False,  # every request resolves (and is checked) afresh
                force_close=True,  # no pooled connection outlives its check
                socket_factory=socket_factory(self.policy),
                limit=max(1, s.global_concurrency),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=s.timeout_s, connect=s.connect_timeout_s, sock_connect=s.connect_timeout_s
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    def headers(self, protocol: str, client_ip: str) -> dict[str, str]:
        """The honest request headers: who we are, what we verify, for whom."""
        ip = _client_ip(client_ip)
        doing = "verifying " + (re.sub(r"[^a-z]", "", protocol.lower()) or "linkback")
        if ip:
            doing += f" from {ip}"
        headers = {"User-Agent": f"{self._ua_base}; {doing}{self._ua_contact})", "Accept": ACCEPT}
        if ip:
            headers["X-Pingback-Forwarded-For"] = ip
        return headers

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        max_redirects: int,
        protocol: str = "pingback",
        client_ip: str = "",
        accept_datetime: str = "",
    ) -> FetchResult:
        """GET `url` within the caps; identical in-flight fetches share one request.

        `accept_datetime` asks a Memento TimeGate (RFC 7089) for the snapshot nearest it."""
        key = (f"{url}\n{accept_datetime}" if accept_datetime else url, max_bytes, max_redirects)
        task = self._in_flight.get(key)
        if task is None:
            headers = self.headers(protocol, client_ip)
            if accept_datetime:
                headers["Accept-Datetime"] = accept_datetime
            task = asyncio.create_task(self._fetch(url, max_bytes, max_redirects, headers))
            self._in_flight[key] = task
            task.add_done_callback(partial(self._forget, key))
        return await asyncio.shield(task)

    def _forget(self, key: tuple[str, int, int], task: asyncio.Task[FetchResult]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone

    async def _fetch(
        self, url: str, max_bytes: int, max_redirects: int, headers: dict[str, str]
    ) -> FetchResult:
        log = logger.bind(url=url[:500])
        started = self._monotonic()
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                result = await self._follow(url, max_bytes, max_redirects, headers)
        except TimeoutError:
            err: FetchError = SourceUnreachableError(
                f"fetcher: no answer within {self.settings.timeout_s:g} s"
            )
            log.info("source_fetch_failed", reason=err.message)
            raise err from None
        except FetchError as exc:
            log.info("source_fetch_failed", reason=exc.message)
            raise
        finally:
            if self.on_fetched is not None:
                self.on_fetched(self._monotonic() - started)
        log.debug(
            "source_fetched",
            status=result.status,
            final_url=result.final_url[:500],
            bytes=len(result.body),
            truncated=result.truncated,
        )
        return result

    async def _follow(
        self, url: str, max_bytes: int, max_redirects: int, headers: dict[str, str]
    ) -> FetchResult:
        try:
            current = URL(url.strip()).with_fragment(None)
        except (ValueError, TypeError):
            raise SourceRefusedError("guard: not a usable URL") from None
        hops = 0
        while True:
            location = await self._hop(current, headers, max_bytes)
            if isinstance(location, FetchResult):
                return FetchResult(
                    url=url,
                    final_url=location.final_url,
                    status=location.status,
                    headers=location.headers,
                    body=location.body,
                    truncated=location.truncated,
                    charset=location.charset,
                    content_type=location.content_type,
                    redirects=hops,
                )
            hops += 1
            if hops > max_redirects:
                raise SourceMissingError(f"fetcher: redirect past the hop limit ({max_redirects})")
            try:
                current = current.join(URL(location)).with_fragment(None)
            except (ValueError, TypeError):
                raise SourceMissingError("fetcher: unusable redirect Location") from None

    async def _hop(self, url: URL, headers: dict[str, str], max_bytes: int) -> FetchResult | str:
        """One request: the final response, or the Location of a redirect."""
        try:
            self.policy.check_url(url)
        except AddressRefusedError as exc:
            raise SourceRefusedError(str(exc)) from None
        host = url.raw_host or ""
        if not self._limits.take_token(host):
            raise SourceUnreachableError(
                f"fetcher: rate cap for {host} reached ({self.settings.per_host_rate_per_min}/min)"
            )
        session = self._client()
        try:
            async with self._limits.slot(host), self._global:
                pace = _Pace(self.settings.min_bytes_per_s, self.settings.rate_grace_s)
                resp = await pace.headers(
                    session.get(url, headers=headers, allow_redirects=False)
                )
                async with resp:
                    location = resp.headers.get("Location")
                    if resp.status in REDIRECT_STATUSES and location is not None:
                        return location
                    body, truncated = await _read_capped(resp, max_bytes, pace)
                    return FetchResult(
                        url=str(url),
                        final_url=str(resp.url),
                        status=resp.status,
                        headers=CIMultiDictProxy(CIMultiDict(resp.headers)),
                        body=body,
                        truncated=truncated,
                        charset=resp.charset,
                        content_type=resp.content_type,
                        redirects=0,
                    )
        except TimeoutError:
            raise
        except AddressRefusedError as exc:
            raise SourceRefusedError(str(exc)) from None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, AddressRefusedError):
                raise SourceRefusedError(str(exc.os_error)) from None
            if isinstance(exc.os_error, socket.gaierror) and exc.os_error.errno in _NO_SUCH_HOST:
                raise SourceMissingError(f"fetcher: no such host {host}") from None
            raise SourceUnreachableError(f"fetcher: cannot resolve {host}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressRefusedError):
                raise SourceRefusedError(str(exc.os_error)) from None
            raise SourceUnreachableError(
                f"fetcher: cannot connect to {host}: {exc.strerror}"
            ) from None
        except aiohttp.InvalidURL:
            raise SourceRefusedError("guard: not a usable URL") from None
        except aiohttp.ClientError as exc:
            raise SourceUnreachableError(f"fetcher: {host}: {type(exc).__name__}") from None

    async def close(self) -> None:
        """Cancel in-flight fetches and close the session and resolver."""
        self._closed = True
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self._resolver.close()


class _Pace:
    """The slowest a source may be: headers within `grace_s`, then `min_bytes_per_s` on average.

    By `t` seconds after the request, at least `min_bytes_per_s * (t - grace_s)` body bytes
    must have arrived; a source that trickles (slowloris in reverse) is cut off instead of
    holding a fetch slot for the whole fetch.timeout_s. `min_bytes_per_s` 0 turns it off.
    """

    def __init__(self, min_bytes_per_s: int, grace_s: float) -> None:
        self.rate = min_bytes_per_s
        self.grace_s = grace_s
        self.started = asyncio.get_running_loop().time()

    def _slow(self) -> SourceUnreachableError:
        return SourceUnreachableError(
            f"fetcher: source slower than {self.rate} bytes/s after {self.grace_s:g} s"
        )

    async def headers(
        self, request: Awaitable[aiohttp.ClientResponse]
    ) -> aiohttp.ClientResponse:
        """Await the response headers within the grace time."""
        if self.rate <= 0:
            return await request
        try:
            async with asyncio.timeout(self.grace_s) as cm:
                return await request
        except TimeoutError:
            if cm.expired():
                raise self._slow() from None
            raise

    async def read(self, content: aiohttp.StreamReader, size: int, have: int) -> bytes:
        """Read up to `size` bytes, given `have` so far, before the pace falls behind."""
        if self.rate <= 0:
            return await content.read(size)
        due = self.started + self.grace_s + (have + 1) / self.rate
        try:
            async with asyncio.timeout_at(due) as cm:
                return await content.read(size)
        except TimeoutError:
            if cm.expired():
                raise self._slow() from None
            raise


async def _read_capped(
    resp: aiohttp.ClientResponse, max_bytes: int, pace: _Pace
) -> tuple[bytes, bool]:
    """Read decompressed bytes up to `max_bytes`, never past; cut the connection if more."""
    buf = bytearray()
    while len(buf) < max_bytes:
        chunk = await pace.read(resp.content, min(READ_CHUNK_BYTES, max_bytes - len(buf)), len(buf))
        if not chunk:
            return bytes(buf), False
        buf += chunk
    truncated = not resp.content.at_eof()
    if truncated:
        resp.close()
    return bytes(buf), truncated
