"""Reading request bodies with a per-endpoint cap, and the 405 answer."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable

from aiohttp import hdrs, web

from linkbridge import keys
from linkbridge.errors import LinkbridgeError


class BodyTooLarge(LinkbridgeError):
    """The request body is larger than the endpoint accepts."""

    status = 413
    reason = "body_too_large"


class BodyTimeout(LinkbridgeError):
    """The client did not send its request body within server.body_timeout_s."""

    status = 408
    reason = "body_timeout"


class BodyEncodingRefused(LinkbridgeError):
    """A Content-Encoding the endpoint cannot read."""

    status = 415
    reason = "body_encoding_refused"


_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# The server hands bodies over as sent (the origin proxy forwards them byte for byte), so the
# endpoints that read a body decode it here, capped after decoding (no zip bombs).


class BodyDecoder:
    """A request body's bytes as sent -> its bytes decoded, at most `max_bytes` of either."""

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity") and encoding not in _ENCODINGS:
            raise BodyEncodingRefused(f"body: Content-Encoding {encoding[:40]!r} is not accepted")
        self.encoding = encoding
        self.max_bytes = max_bytes
        self._zlib = zlib.decompressobj(_ENCODINGS[encoding]) if encoding in _ENCODINGS else None
        self.sent = 0
        self.size = 0

    def feed(self, sent: bytes) -> bytes:
        """Decode the next piece as sent; BodyTooLarge past the cap, BodyEncodingRefused if
        it is not valid in its encoding."""
        self.sent += len(sent)
        chunk = sent
        if self._zlib is not None:
            try:
                chunk = self._zlib.decompress(sent, self.max_bytes + 1 - self.size)
            except zlib.error:
                raise BodyEncodingRefused(f"body: not valid {self.encoding}") from None
        self.size += len(chunk)
        if self.size > self.max_bytes or self.sent > self.max_bytes:
            raise BodyTooLarge(f"body: larger than {self.max_bytes} bytes")
        return chunk

    def finish(self) -> None:
        """The body ended: a compressed one must have ended whole."""
        if self._zlib is not None and not self._zlib.eof:
            raise BodyEncodingRefused(f"body: {self.encoding} stream cut short")


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, decoded, refusing past `max_bytes` without reading the rest into memory
    and past server.body_timeout_s without waiting for the rest."""
    decoder = BodyDecoder(request.headers.get(hdrs.CONTENT_ENCODING, ""), max_bytes)
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge(f"body: larger than {max_bytes} bytes")
    chunks = []
    timeout_s = request.app[keys.SETTINGS].server.body_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            async for sent in request.content.iter_chunked(65536):
                chunks.append(decoder.feed(sent))
    except TimeoutError:
        raise BodyTimeout(f"body: not sent within {timeout_s:g} s") from None
    decoder.finish()
    return b"".join(chunks)


def method_not_allowed(allowed: Iterable[str]) -> web.Response:
    """405 with the Allow header every 405 carries."""
    allow = ", ".join(allowed)
    return web.Response(status=405, text=f"method not allowed; use {allow}\n",
                        headers={"Allow": allow}, content_type="text/plain")
