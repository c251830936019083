"""The CLI's subcommands, one module per group, each imported only when one of its commands runs."""

from __future__ import annotations

import argparse
import importlib

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "run the service"),
    "init": ("init", "write a starter config into DIR and create its store"),
    "check-config": ("config", "check the configuration (errors print one line naming the key)"),
    "import": ("importing", "import data into the store"),
    "moderate": ("moderate", "moderate linkbacks and host lists"),
    "redirects": ("retire", "inspect and edit the redirect table"),
    "hits": ("retire", "most-hit retired paths"),
    "check-successors": (
        "retire", "fetch every redirect target and report those not answering 200"
    ),
    "export": ("exporting", "export the store"),
    "store": ("exporting", "move the store: copy one store into another (SQLite to PostgreSQL)"),
    "archive": ("archive", "web-archive snapshots of the old posts (Memento)"),
    "erase": ("privacy", "erase a person's linkbacks: by source URL, host or author"),
    "admin": ("admin", "the moderator's web page"),
    "backup": ("maintenance", "copy the store to FILE while the service runs (SQLite backup API)"),
    "restore": ("maintenance", "put a backup in place of the store (stop the service first)"),
    "migrate": (
        "maintenance", "list the schema changes this version would apply to the store"
    ),
}
"""Each command's module under linkbridge.commands and its one-line help (for `--help`).

A module's `register(sub, common)` adds its commands in full; tests/test_cli_startup.py checks
this table against what the modules register.
"""


def register_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    wanted: str | None,
) -> None:
    """Add `wanted` in full (importing only its module); every other command as name and help."""
    if wanted in COMMANDS:
        module = importlib.import_module(f"linkbridge.commands.{COMMANDS[wanted][0]}")
        module.register(sub, common)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
