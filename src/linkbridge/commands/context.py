"""What a subcommand runs with: its store, the instant it acts at, its input and output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from linkbridge.clock import Clock, ShiftedClock, SystemClock
from linkbridge.settings import Settings
from linkbridge.store import Store, open_configured_store
from linkbridge.text import for_json


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a timezone (naive times are refused)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a timezone offset: {text!r}")
    return value


def make_clock(at: datetime | None) -> Clock:
    """`--at` starts the clock at an instant; without it, the wall clock."""
    return ShiftedClock(at) if at is not None else SystemClock()


def instant(at: datetime | None) -> datetime:
    """The one instant a one-shot command acts at: `--at` exactly, or the wall clock now."""
    return at if at is not None else SystemClock().now()


async def with_store(settings: Settings, fn: Callable[[Store], Awaitable[int]]) -> int:
    """Open the configured store around `fn`."""
    store = open_configured_store(settings.store)
    await store.open()
    try:
        return await fn(store)
    finally:
        await store.close()


def print_json(value: Any) -> None:
    """Pretty JSON on stdout; unsafe characters inside strings as \\uXXXX escapes."""
    print(for_json(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def read_text(path: str) -> str:
    """A file's text, or stdin for "-"."""
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
