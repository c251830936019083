"""The `linkbridge` command: serve, check-config, import, moderate, redirects, hits, admin, backup.

Only the chosen subcommand's modules are imported, so `--version` and `--help` start at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from linkbridge import __version__

if TYPE_CHECKING:
    from linkbridge.settings import Settings

Command = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a timezone (naive times are refused)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a timezone offset: {text!r}")
    return value


def wanted_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first argument that is not an option)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(wanted: str | None = None) -> argparse.ArgumentParser:
    """The parser, with `wanted` in full and every other subcommand as its name and help."""
    from linkbridge.commands import register_commands

    parser = argparse.ArgumentParser(prog="linkbridge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"linkbridge {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", action="append", default=[], metavar="FILE",
        help="TOML config; repeat to overlay (later files win key by key). "
             "Default: $LINKBRIDGE_CONFIG (FILE:FILE…), else the shipped example",
    )
    common.add_argument(
        "--state-dir", default=None, metavar="DIR",
        help="where a relative sqlite store lives. Default: $LINKBRIDGE_STATE_DIR, else the "
             "first config file's folder (the user's state directory for the shipped example)",
    )
    common.add_argument("--at", type=parse_instant, default=None, metavar="INSTANT",
                        help="act as if it were INSTANT (ISO 8601 with offset)")
    sub = parser.add_subparsers(dest="command", required=True)
    register_commands(sub, common, wanted)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(wanted_command(argv))
    if "-h" in argv or "--help" in argv:
        explain_lookup(parser, argv)
    args = parser.parse_args(argv)
    # Imported after parsing: `--version` and `--help` have exited by now.
    import asyncio

    from linkbridge.commands.context import TerminalSafe, load_args_settings, store_missing_line
    from linkbridge.errors import LinkbridgeError, StoreMissing
    from linkbridge.log import configure_logging

    try:
        settings = load_args_settings(args)
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
    except StoreMissing as exc:
        print(store_missing_line(args, exc), file=sys.stderr)
        return 1
    except LinkbridgeError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`… --json | head`): not an error of ours. Point stdout at /dev/null
        # so the interpreter's last flush does not complain either (as the Python docs advise).
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        return 0
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def explain_lookup(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Put the config files and store this command would use under every --help page.

    Only the lookup and the settings loader are imported here, so `--help` stays quick.
    """
    import os

    from linkbridge.errors import LinkbridgeError
    from linkbridge.locations import describe_lookup, lookup
    from linkbridge.settings_loader import load_settings

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", action="append", default=[])
    pre.add_argument("--state-dir", default=None)
    known, _ = pre.parse_known_args(argv)
    found = lookup(known.config, known.state_dir, os.environ)
    try:
        url: str | None = load_settings(found.config_files, state_dir=found.state_dir).store.url
    except LinkbridgeError:
        url = None
    text = "this command would use:\n" + describe_lookup(found, url)
    stack = [parser]
    while stack:
        current = stack.pop()
        current.epilog = text
        current.formatter_class = argparse.RawDescriptionHelpFormatter  # paths unbroken
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
