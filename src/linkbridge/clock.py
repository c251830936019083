"""Injected time: every decision about the shutdown instant reads a Clock, never the OS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the service what instant it is."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Starts at a chosen instant and then runs at real speed (`serve --at`)."""

    def __init__(self, start_at: datetime) -> None:
        if start_at.tzinfo is None:
            raise ValueError("clock: the start instant must carry a timezone")
        self._start_at = start_at.astimezone(UTC)
        self._started_mono = time.monotonic()

    def now(self) -> datetime:
        return self._start_at + timedelta(seconds=time.monotonic() - self._started_mono)

