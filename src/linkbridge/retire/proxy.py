"""Pass readers through to the still-running blog before the shutdown instant, streamed."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from linkbridge.model import sender_group
from linkbridge.retire.upload import Upload
from linkbridge.urls import public_url

logger = structlog.get_logger(__name__)

CHUNK_BYTES = 65536
"""Size of the pieces the response body is read and written in."""

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    )
)
"""Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1)."""

_REQUEST_ONLY_DROPPED = frozenset({"host", "expect"})
# Host comes from the origin URL unless preserve_host; our own server already answered any
# "Expect: 100-continue".

_AUTO_HEADERS = (hdrs.USER_AGENT, hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.CONTENT_TYPE)
# aiohttp would add these when the reader did not send them; a proxy adds nothing.

ExtraHeaders = Mapping[str, str] | Sequence[tuple[str, str]]
"""Headers added to every answer: a mapping (a multidict keeps repeats) or (name, value) pairs."""

ErrorPage = Callable[[int, str], bytes]
"""(status, kind) -> the page's HTML; kind names the words (retire/pages.py ERRORS)."""


def _plain_error_page(status: int, kind: str) -> bytes:
    return f"{status} {kind.replace('_', ' ')}\n".encode()


def discovery_headers(public_base_url: str, shutdown_at: datetime) -> list[tuple[str, str]]:
    """Sunset (RFC 8594) and linkback discovery headers added to every proxied answer."""
    if shutdown_at.tzinfo is None:
        raise ValueError("proxy: shutdown_at must carry a timezone")
    sunset = format_datetime(shutdown_at.astimezone(UTC), usegmt=True)
    return [
        ("Sunset", sunset),
        ("Link", f'<{public_url(public_base_url, "notice")}>; rel="sunset"'),
        ("X-Pingback", public_url(public_base_url, "xmlrpc.php")),
        ("Link", f'<{public_url(public_base_url, "webmention")}>; rel="webmention"'),
    ]


def _host_name(value: str) -> str:
    """The host name of a Host header or a URL, lower case, without port or final dot."""
    value = value.strip()
    if "://" not in value:
        value = f"http://{value}"
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _pairs(extra: ExtraHeaders) -> list[tuple[str, str]]:
    if isinstance(extra, Mapping):
        return list(extra.items())
    return list(extra)


def _forwardable(
    headers: CIMultiDictProxy[str], also_dropped: Iterable[str] = ()
) -> CIMultiDict[str]:
    """Copy `headers` without hop-by-hop ones (and those their Connection header names)."""
    dropped = set(HOP_BY_HOP) | set(also_dropped)
    for value in headers.getall(hdrs.CONNECTION, []):
        dropped.update(token.strip().lower() for token in value.split(",") if token.strip())
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in dropped:
            out.add(name, value)
    return out


def _add_extra(headers: CIMultiDict[str], extra: Sequence[tuple[str, str]]) -> None:
    """Add `extra`; Link headers join the origin's, other names replace the origin's value."""
    for name in {n.lower() for n, _ in extra} - {"link"}:
        headers.popall(name, None)
    for name, value in extra:
        headers.add(name, value)


def _page(
    status: int, body: bytes, extra: Sequence[tuple[str, str]], *, is_html: bool = True
) -> web.Response:
    resp = web.Response(
        status=status, body=body, content_type="text/html" if is_html else "text/plain",
        charset="utf-8",
    )
    resp.headers[hdrs.CACHE_CONTROL] = "no-store"
    _add_extra(resp.headers, extra)
    return resp


class OriginProxy:
    """Forwards requests to the origin blog through its own long-lived client session.

    Limits: `timeout_s` bounds the wait for the origin's response headers (counted from the
    end of the upload) and every idle gap after, never a long download as a whole;
    `body_timeout_s` bounds the reader's upload; `max_connections` the pool in all and
    `max_per_client` the requests one client address (IPv6: its /64) may have under way.
    `hosts`, when given, are the only Host names passed on (others: 421, none: 400).
    """

    def __init__(
        self,
        origin_url: str,
        *,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        max_body_bytes: int,
        preserve_host: bool = False,
        body_timeout_s: float | None = None,
        max_connections: int = 100,
        max_per_client: int = 0,
        hosts: Iterable[str] | None = None,
        trusted_proxies: Iterable[str] = (),
        error_page: ErrorPage | None = None,
    ) -> None:
        origin = URL(origin_url)
        if origin.scheme not in ("http", "https") or not origin.host:
            raise ValueError(f"proxy: origin_url must be an absolute http(s) URL: {origin_url!r}")
        self.base = str(origin.with_query(None).with_fragment(None)).rstrip("/")
        self.timeout_s = timeout_s
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=timeout_s
        )
        self.max_body_bytes = max_body_bytes
        self.preserve_host = preserve_host
        """Send the reader's Host (a WordPress multisite picks its site by Host)."""
        self.body_timeout_s = body_timeout_s
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.hosts = None if hosts is None else frozenset(_host_name(h) for h in hosts) - {""}
        self.trusted = tuple(ipaddress.ip_network(c, strict=False) for c in trusted_proxies)
        self._per_client: dict[str, int] = {}
        self.error_page = error_page
        """Renders the proxy's own error pages (the templated pages); None: plain text."""
        self._session: aiohttp.ClientSession | None = None

    def _error(self, status: int, kind: str, extra: Sequence[tuple[str, str]]) -> web.Response:
        if self.error_page is None:
            return _page(status, _plain_error_page(status, kind), extra, is_html=False)
        return _page(status, self.error_page(status, kind), extra)

    async def start(self) -> None:
        """Open the client session (no cookie jar, no decompression, no redirects)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=max(1, self.max_connections)),
                timeout=self.timeout,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )

    async def close(self) -> None:
        """Close the client session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _target(self, request: web.BaseRequest) -> URL:
        rel = request.rel_url
        query = f"?{rel.raw_query_string}" if rel.raw_query_string else ""
        return URL(f"{self.base}{rel.raw_path}{query}", encoded=True)

    def _from_trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in net for net in self.trusted)

    def _request_headers(self, request: web.BaseRequest, peer: str) -> CIMultiDict[str]:
        headers = _forwardable(request.headers, _REQUEST_ONLY_DROPPED)
        chain = [v for v in headers.popall(hdrs.X_FORWARDED_FOR, []) if v.strip()]
        if not self._from_trusted(peer):
            chain = []  # a client's own X-Forwarded-For is a claim, not a chain
        headers[hdrs.X_FORWARDED_FOR] = ", ".join([*chain, peer])
        headers[hdrs.X_FORWARDED_HOST] = request.host
        headers[hdrs.X_FORWARDED_PROTO] = request.scheme
        if self.preserve_host and request.host:
            headers[hdrs.HOST] = request.host
        return headers

    def _host_refusal(self, request: web.BaseRequest) -> int | None:
        if self.hosts is None:
            return None
        raw = request.headers.get(hdrs.HOST, "")
        if not raw.strip():
            return 400
        name = _host_name(raw)
        if not name:
            return 400
        return None if name in self.hosts else 421

    async def forward(
        self,
        request: web.BaseRequest,
        *,
        extra_headers: ExtraHeaders,
        client_ip: str,
        client: str = "",
    ) -> web.StreamResponse:
        """Send `request` to the origin and stream its answer back with `extra_headers` added.

        `client_ip` is the connecting peer (appended to X-Forwarded-For); `client` the reader's
        own address (after trusted proxies), whose requests under way are capped.
        """
        if self._session is None:
            raise RuntimeError("proxy: forward() called before start()")
        extra = _pairs(extra_headers)
        log = logger.bind(method=request.method, path=request.rel_url.raw_path)
        refused_host = self._host_refusal(request)
        if refused_host is not None:
            log.info("origin_request_refused", reason="host", host=request.host[:200])
            return self._error(refused_host, "wrong_host", extra)
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            log.info("origin_request_refused", reason="body_too_large", length=declared)
            return self._error(413, "too_large", extra)
        key = sender_group(client or client_ip)
        if self.max_per_client > 0 and key:
            if self._per_client.get(key, 0) >= self.max_per_client:
                log.info("origin_request_refused", reason="client_busy", client=key)
                busy = self._error(429, "busy", extra)
                busy.headers[hdrs.RETRY_AFTER] = "5"
                return busy
            self._per_client[key] = self._per_client.get(key, 0) + 1
        try:
            return await self._forward(request, extra, client_ip, log)
        finally:
            if self.max_per_client > 0 and key:
                left = self._per_client.get(key, 1) - 1
                if left > 0:
                    self._per_client[key] = left
                else:
                    self._per_client.pop(key, None)

    async def _forward(
        self,
        request: web.BaseRequest,
        extra: Sequence[tuple[str, str]],
        client_ip: str,
        log: structlog.typing.FilteringBoundLogger,
    ) -> web.StreamResponse:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        has_body = request.body_exists
        # the wait for the answer's headers starts once the upload is whole (or at once)
        answer_by = asyncio.timeout_at(None if has_body else loop.time() + self.timeout_s)

        def uploaded() -> None:
            answer_by.reschedule(loop.time() + self.timeout_s)

        body_deadline = None if self.body_timeout_s is None else loop.time() + self.body_timeout_s
        upload = Upload(
            request.content, self.max_body_bytes, deadline=body_deadline, done=uploaded
        )
        try:
            async with answer_by:
                upstream = await self._session.request(
                    request.method,
                    self._target(request),
                    headers=self._request_headers(request, client_ip),
                    data=upload.stream() if has_body else None,
                    allow_redirects=False,
                    skip_auto_headers=_AUTO_HEADERS,
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if upload.too_large:
                log.info("origin_request_refused", reason="body_too_large", length=upload.sent)
                return self._error(413, "too_large", extra)
            if upload.too_slow:
                log.info("origin_request_refused", reason="body_timeout", length=upload.sent)
                slow = self._error(408, "slow_body", extra)
                slow.force_close()
                return slow
            status = 504 if isinstance(exc, TimeoutError) else 502
            log.warning("origin_request_failed", status=status, error=repr(exc))
            return self._error(status, "down", extra)
        return await self._relay(request, upstream, extra, log)

    async def _relay(
        self,
        request: web.BaseRequest,
        upstream: aiohttp.ClientResponse,
        extra: Sequence[tuple[str, str]],
        log: structlog.typing.FilteringBoundLogger,
    ) -> web.StreamResponse:
        """Stream `upstream` to the reader; the upstream connection is released on every path."""
        finished = False
        try:
            headers = _forwardable(upstream.headers)
            _add_extra(headers, extra)
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            resp.headers.extend(headers)
            await resp.prepare(request)
            try:
                async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
                    await resp.write(chunk)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                if isinstance(exc, ConnectionResetError) and request.transport is None:
                    log.info("origin_stream_abandoned", reason="reader_disconnected")
                else:
                    log.warning("origin_response_broken", error=repr(exc))
                # A truncated body must not look complete to the reader: drop the connection.
                request.protocol.force_close()
                return resp
            finished = True
            return resp
        finally:
            if finished:
                upstream.release()
            else:
                upstream.close()
