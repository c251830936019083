"""Which side of the shutdown instant the service stands on."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache


class Phase(StrEnum):
    """Before the instant the blog is proxied; from it on, old URLs are retired."""

    BEFORE = "before"
    AFTER = "after"


@lru_cache(maxsize=8)
def _in_utc(moment: datetime) -> datetime:
    """`moment` converted to UTC once: clocks answer in UTC, and same-zone comparison is cheap."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def phase_at(now: datetime, shutdown_at: datetime) -> Phase:
    """`after` from the instant itself on (the instant belongs to the retirement)."""
    return Phase.AFTER if now >= _in_utc(shutdown_at) else Phase.BEFORE
