"""Reading request bodies with a per-endpoint cap, and the 405 answer."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from linkbridge.errors import LinkbridgeError


class BodyTooLarge(LinkbridgeError):
    """The request body is larger than the endpoint accepts."""

    status = 413
    reason = "body_too_large"


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, refusing past `max_bytes` without reading the rest into memory."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge(f"body: larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"body: larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def method_not_allowed(allowed: Iterable[str]) -> web.Response:
    """405 with the Allow header every 405 carries."""
    allow = ", ".join(allowed)
    return web.Response(status=405, text=f"method not allowed; use {allow}\n",
                        headers={"Allow": allow}, content_type="text/plain")
