"""What a subcommand runs with: its store, the instant it acts at, its input and output."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from linkbridge.clock import Clock, ShiftedClock, SystemClock
from linkbridge.errors import StoreMissing
from linkbridge.locations import Lookup, lookup
from linkbridge.settings import Settings
from linkbridge.settings_loader import load_settings
from linkbridge.store import Store, open_configured_store
from linkbridge.text import for_json, for_terminal_lines


def make_clock(at: datetime | None) -> Clock:
    """`--at` starts the clock at an instant; without it, the wall clock."""
    return ShiftedClock(at) if at is not None else SystemClock()


def instant(at: datetime | None) -> datetime:
    """The one instant a one-shot command acts at: `--at` exactly, or the wall clock now."""
    return at if at is not None else SystemClock().now()


async def with_store(
    settings: Settings, fn: Callable[[Store], Awaitable[int]], *, create: bool = False
) -> int:
    """Open the configured store around `fn`; only `create=True` (imports) may make a new one."""
    store = open_configured_store(settings.store, create=create)
    await store.open()
    try:
        return await fn(store)
    finally:
        await store.close()


def args_lookup(args: argparse.Namespace) -> Lookup:
    """The config files and state directory the parsed command line asks for."""
    flags = [*getattr(args, "config", []), *getattr(args, "config_files", [])]
    return lookup(flags, getattr(args, "state_dir", None), os.environ)


def load_args_settings(args: argparse.Namespace) -> Settings:
    """Settings for the parsed command line (flags, then environment, then the example)."""
    found = args_lookup(args)
    return load_settings(found.config_files, state_dir=found.state_dir)


def command_words(args: argparse.Namespace) -> str:
    """`linkbridge moderate list`, as the user typed it."""
    words = [args.command, getattr(args, "action", None) or getattr(args, "kind", None)]
    return "linkbridge " + " ".join(w for w in words if w)


def store_missing_line(args: argparse.Namespace, exc: StoreMissing) -> str:
    """One line: the command, where it looked, why there, and what to do."""
    found = args_lookup(args)
    return (
        f"{command_words(args)}: no store at {exc.path} (state directory from "
        f"{found.state_from}); it only opens an existing store. Start `linkbridge serve` or "
        "`linkbridge init` first, or point --state-dir, $LINKBRIDGE_STATE_DIR or --config at "
        "the store you mean."
    )


def print_json(value: Any) -> None:
    """Pretty JSON on stdout; unsafe characters inside strings as \\uXXXX escapes."""
    print(for_json(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def read_text(path: str) -> str:
    """A file's text, or stdin for "-"."""
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


class TerminalSafe(io.TextIOBase):
    """A text stream that writes through `for_terminal_lines`: line breaks stay, every other
    control, bidi or invisible character arrives escaped (values printed with their own line
    breaks are escaped whole with `for_terminal` by the command that prints them)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(for_terminal_lines(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()
