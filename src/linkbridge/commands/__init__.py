"""The CLI's subcommands, one module per group."""

from __future__ import annotations

import argparse

from linkbridge.commands import admin, config, importing, maintenance, moderate, retire, serve


def register_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add every subcommand to the parser."""
    for module in (serve, config, importing, moderate, retire, admin, maintenance):
        module.register(sub, common)
