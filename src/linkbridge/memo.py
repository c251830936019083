"""A bounded memo for the hot paths: a dict that starts afresh when full.

Why not an LRU: a hit must cost one dict lookup and nothing more (no reordering), and a memo
that someone floods with distinct keys pays one insert per key and a clear every `limit`
inserts, never a scan.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """At most `limit` entries; `remember` clears the memo first when it is full."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError("memo: the limit must be at least 1")
        self.limit = limit

    def remember(self, key: K, value: V) -> V:
        """Keep `value` under `key` (starting afresh when full) and return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
