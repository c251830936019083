"""The `linkbridge` command: serve, check-config, import, moderate, redirects, hits, admin."""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from linkbridge import __version__
from linkbridge.commands.context import parse_instant
from linkbridge.errors import LinkbridgeError
from linkbridge.log import configure_logging
from linkbridge.settings import Settings
from linkbridge.settings_loader import load_settings
from linkbridge.text import for_terminal_lines

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


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
    stdout, stderr = sys.stdout, sys.stderr
    if args.command != "serve":  # a moderator's terminal never gets a raw control character
        sys.stdout, sys.stderr = TerminalSafe(stdout), TerminalSafe(stderr)
    try:
        return asyncio.run(command(args, settings))
    except LinkbridgeError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        sys.stdout, sys.stderr = stdout, stderr


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
