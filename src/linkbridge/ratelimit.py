"""In-memory, per-instance rate limits (sliding one-minute windows) and repeat windows."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` events per `window_s` per key; the key table is bounded (LRU)."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
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


class RepeatWindow:
    """Remembers keys for `window_s`; `seen_recently` answers and records in one step."""

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
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen_recently(self, key: str) -> bool:
        now = self._now()
        last = self._seen.get(key)
        self._seen[key] = now
        self._seen.move_to_end(key)
        if len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return last is not None and now - last < self.window_s
