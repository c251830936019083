"""In-memory, per-instance rate limits (sliding one-minute windows) and repeat windows."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

RATE_WINDOW_S = 60.0
"""The window of every per-minute rate limit."""


class RateLimiter:
    """At most `limit` events per `window_s` per key; the key table is bounded (LRU)."""

    def __init__(
        self,
        limit: int,
        window_s: float = RATE_WINDOW_S,
        *,
        max_keys: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._now = monotonic
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False when it would exceed the limit (not counted)."""
        if self.limit <= 0:
            return False
        now = self._now()
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            if len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after_s(self, key: str) -> int:
        """Whole seconds until `key` may send again (for a 429's `Retry-After`), at least 1."""
        events = self._events.get(key)
        if not events or len(events) < self.limit:
            return 1
        return max(1, math.ceil(events[0] + self.window_s - self._now()))


class RepeatWindow:
    """Windows of `window_s` per key, opened by a key's first event; repeats inside one are
    coalesced (a webmention re-sent within the window is verified once, when it ends)."""

    def __init__(
        self,
        window_s: float,
        *,
        max_keys: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._now = monotonic
        self._opened: OrderedDict[str, float] = OrderedDict()

    def remaining_s(self, key: str) -> float | None:
        """Seconds left in `key`'s open window; None (and a new window opens) when none is."""
        now = self._now()
        opened = self._opened.get(key)
        if opened is not None and now - opened < self.window_s:
            return self.window_s - (now - opened)
        self._opened[key] = now
        self._opened.move_to_end(key)
        if len(self._opened) > self.max_keys:
            self._opened.popitem(last=False)
        return None
