"""A reader's request body as the origin proxy streams it: as sent, capped in size and time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp


class BodyTooLargeError(Exception):
    """Raised inside the upload stream when the reader sends more than the cap."""


class BodyTooSlowError(Exception):
    """Raised inside the upload stream when the reader takes longer than the body time."""


class Upload:
    """The reader's body as an async stream, as sent, stopped at `max_bytes` or `deadline`.

    `done` is called when the body has been read whole (the wait for the origin's answer
    starts then).
    """

    def __init__(
        self,
        content: aiohttp.StreamReader,
        max_bytes: int,
        *,
        deadline: float | None,
        done: Callable[[], None],
    ) -> None:
        self.content = content
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.done = done
        self.sent = 0
        self.too_large = False
        self.too_slow = False

    async def _next(self) -> bytes:
        try:
            async with asyncio.timeout_at(self.deadline):
                return await self.content.readany()
        except TimeoutError:
            self.too_slow = True
            raise BodyTooSlowError("proxy: request body not sent in time") from None

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives."""
        while chunk := await self._next():
            self.sent += len(chunk)
            if self.sent > self.max_bytes:
                self.too_large = True
                raise BodyTooLargeError(f"proxy: request body over {self.max_bytes} bytes")
            yield chunk
        self.done()
