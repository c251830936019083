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


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, decoded, refusing past `max_bytes` without reading the rest into memory
    and past server.body_timeout_s without waiting for the rest."""
    declared = request.content_length
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
    if encoding not in ("", "identity") and encoding not in _ENCODINGS:
        raise BodyEncodingRefused(f"body: Content-Encoding {encoding[:40]!r} is not accepted")
    if declared is not None and declared > max_bytes and encoding in ("", "identity"):
        raise BodyTooLarge(f"body: larger than {max_bytes} bytes")
    decoder = zlib.decompressobj(_ENCODINGS[encoding]) if encoding in _ENCODINGS else None
    chunks, size, raw = [], 0, 0
    timeout_s = request.app[keys.SETTINGS].server.body_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            async for sent in request.content.iter_chunked(65536):
                raw += len(sent)
                chunk = sent
                if decoder is not None:
                    try:
                        chunk = decoder.decompress(sent, max_bytes + 1 - size)
                    except zlib.error:
                        raise BodyEncodingRefused(f"body: not valid {encoding}") from None
                size += len(chunk)
                if size > max_bytes or raw > max_bytes:
                    raise BodyTooLarge(f"body: larger than {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(f"body: not sent within {timeout_s:g} s") from None
    return b"".join(chunks)


def method_not_allowed(allowed: Iterable[str]) -> web.Response:
    """405 with the Allow header every 405 carries."""
    allow = ", ".join(allowed)
    return web.Response(status=405, text=f"method not allowed; use {allow}\n",
                        headers={"Allow": allow}, content_type="text/plain")
