"""Pass readers through to the still-running blog before the shutdown instant, streamed."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import structlog
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

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

_PAGE = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><title>{sv_title}</title></head>
<body>
<h1>{sv_title}</h1>
<p>{sv_text}</p>
<section lang="en">
<h2>{en_title}</h2>
<p>{en_text}</p>
</section>
</body>
</html>
"""

_DOWN = {
    "sv_title": "Bloggen svarar inte just nu",
    "sv_text": "Försök igen om en stund.",
    "en_title": "The blog is not answering right now",
    "en_text": "Please try again in a while.",
}
_TOO_LARGE = {
    "sv_title": "Förfrågan är för stor",
    "sv_text": "Bloggen tar inte emot så här mycket data i en förfrågan.",
    "en_title": "The request is too large",
    "en_text": "The blog does not accept this much data in one request.",
}


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


def pingback_link_element(public_base_url: str) -> str:
    """`<link rel="pingback">` for a page's head, the HTML twin of the X-Pingback header."""
    href = html.escape(public_url(public_base_url, "xmlrpc.php"), quote=True)
    return f'<link rel="pingback" href="{href}">'


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


def _page(status: int, texts: Mapping[str, str], extra: Sequence[tuple[str, str]]) -> web.Response:
    resp = web.Response(
        status=status, text=_PAGE.format(**texts), content_type="text/html", charset="utf-8"
    )
    resp.headers[hdrs.CACHE_CONTROL] = "no-store"
    _add_extra(resp.headers, extra)
    return resp


class _BodyTooLargeError(Exception):
    """Raised inside the upload stream when the reader sends more than the cap."""


class _Upload:
    """The reader's body as an async stream, stopped at `max_bytes`."""

    def __init__(self, content: aiohttp.StreamReader, max_bytes: int) -> None:
        self.content = content
        self.max_bytes = max_bytes
        self.sent = 0
        self.too_large = False

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives."""
        async for chunk in self.content.iter_any():
            self.sent += len(chunk)
            if self.sent > self.max_bytes:
                self.too_large = True
                raise _BodyTooLargeError(f"proxy: request body over {self.max_bytes} bytes")
            yield chunk


class OriginProxy:
    """Forwards requests to the origin blog through its own long-lived client session."""

    def __init__(
        self,
        origin_url: str,
        *,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        max_body_bytes: int,
        preserve_host: bool = False,
    ) -> None:
        origin = URL(origin_url)
        if origin.scheme not in ("http", "https") or not origin.host:
            raise ValueError(f"proxy: origin_url must be an absolute http(s) URL: {origin_url!r}")
        self.base = str(origin.with_query(None).with_fragment(None)).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=timeout_s
        )
        self.max_body_bytes = max_body_bytes
        self.preserve_host = preserve_host
        """Send the reader's Host (a WordPress multisite picks its site by Host)."""
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the client session (no cookie jar, no decompression, no redirects)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
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

    def _request_headers(self, request: web.BaseRequest, client_ip: str) -> CIMultiDict[str]:
        headers = _forwardable(request.headers, _REQUEST_ONLY_DROPPED)
        chain = [v for v in headers.popall(hdrs.X_FORWARDED_FOR, []) if v.strip()]
        headers[hdrs.X_FORWARDED_FOR] = ", ".join([*chain, client_ip])
        headers[hdrs.X_FORWARDED_HOST] = request.host
        headers[hdrs.X_FORWARDED_PROTO] = request.scheme
        if self.preserve_host and request.host:
            headers[hdrs.HOST] = request.host
        return headers

    async def forward(
        self, request: web.BaseRequest, *, extra_headers: ExtraHeaders, client_ip: str
    ) -> web.StreamResponse:
        """Send `request` to the origin and stream its answer back with `extra_headers` added."""
        if self._session is None:
            raise RuntimeError("proxy: forward() called before start()")
        extra = _pairs(extra_headers)
        log = logger.bind(method=request.method, path=request.rel_url.raw_path)
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            log.info("origin_request_refused", reason="body_too_large", length=declared)
            return _page(413, _TOO_LARGE, extra)
        upload = _Upload(request.content, self.max_body_bytes)
        try:
            upstream = await self._session.request(
                request.method,
                self._target(request),
                headers=self._request_headers(request, client_ip),
                data=upload.stream() if request.body_exists else None,
                allow_redirects=False,
                skip_auto_headers=_AUTO_HEADERS,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if upload.too_large:
                log.info("origin_request_refused", reason="body_too_large", length=upload.sent)
                return _page(413, _TOO_LARGE, extra)
            status = 504 if isinstance(exc, TimeoutError) else 502
            log.warning("origin_request_failed", status=status, error=repr(exc))
            return _page(status, _DOWN, extra)
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
