"""Which side of the shutdown instant the service stands on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    """Before the instant the blog is proxied; from it on, old URLs are retired."""

    BEFORE = "before"
    AFTER = "after"


def phase_at(now: datetime, shutdown_at: datetime) -> Phase:
    """`after` from the instant itself on (the instant belongs to the retirement)."""
    return Phase.AFTER if now >= shutdown_at else Phase.BEFORE
