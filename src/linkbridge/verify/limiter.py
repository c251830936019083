"""Per-host fetch limits, so a flood of pings naming one victim becomes a trickle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

MAX_BUCKETS = 10000
"""Host rate buckets kept before full (idle) ones are dropped."""


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class HostLimits:
    """A semaphore per host (concurrency) and a token bucket per host (starts per minute)."""

    def __init__(
        self,
        concurrency: int,
        rate_per_min: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._concurrency = max(1, concurrency)
        self._rate_per_min = rate_per_min
        self._monotonic = monotonic
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._buckets: dict[str, _Bucket] = {}

    def take_token(self, host: str) -> bool:
        """Spend one start for `host`; False when its bucket is empty (0 disables the cap)."""
        if self._rate_per_min <= 0:
            return True
        now = self._monotonic()
        capacity = float(self._rate_per_min)
        bucket = self._buckets.get(host)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[host] = _Bucket(capacity, now)
        refill = (now - bucket.updated_at) * capacity / 60.0
        bucket.tokens = min(capacity, bucket.tokens + refill)
        bucket.updated_at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _prune(self, now: float) -> None:
        capacity = float(self._rate_per_min)
        for host, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated_at) * capacity / 60.0 >= capacity:
                del self._buckets[host]

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of `host`'s concurrent-fetch slots."""
        sem, users = self._slots.get(host, (None, 0))
        if sem is None:
            sem = asyncio.Semaphore(self._concurrency)
        self._slots[host] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._slots[host]
            if users <= 1:
                del self._slots[host]
            else:
                self._slots[host] = (sem, users - 1)
