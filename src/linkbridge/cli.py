"""The `linkbridge` command: serve, check-config, import, moderate, redirects, hits, admin."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from linkbridge import __version__
from linkbridge.clock import Clock, ShiftedClock, SystemClock
from linkbridge.errors import LinkbridgeError
from linkbridge.log import configure_logging
from linkbridge.settings import Settings
from linkbridge.settings_loader import load_settings
from linkbridge.store import Store, open_configured_store

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


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


def build_parser() -> argparse.ArgumentParser:
    from linkbridge.commands import register_commands

    parser = argparse.ArgumentParser(prog="linkbridge", description=__doc__)
    parser.add_argument("--version", action="version", version=f"linkbridge {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", action="append", default=[], metavar="FILE",
        help="TOML config; repeat to overlay (later files win key by key). "
             "Default: config/naringsbloggen.toml",
    )
    common.add_argument("--at", type=parse_instant, default=None, metavar="INSTANT",
                        help="act as if it were INSTANT (ISO 8601 with offset)")
    sub = parser.add_subparsers(dest="command", required=True)
    register_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings([*args.config, *getattr(args, "config_files", [])])
    except LinkbridgeError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    configure_logging(settings.server.log_level, json=args.command == "serve")
    command: Command = args.handler
    try:
        return asyncio.run(command(args, settings))
    except LinkbridgeError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def read_text(path: str) -> str:
    """A file's text, or stdin for "-"."""
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
