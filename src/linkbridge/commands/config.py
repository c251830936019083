"""`linkbridge check-config FILE…`: load the configuration without starting anything."""

from __future__ import annotations

import argparse
import sys

from linkbridge.commands.context import args_lookup, with_store
from linkbridge.commands.retire import print_skipped_mappings
from linkbridge.config_check import check_config
from linkbridge.errors import ConfigError
from linkbridge.locations import describe_lookup
from linkbridge.settings import Settings
from linkbridge.store import Store


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("check-config", parents=[common],
                       help="check the configuration (errors print one line naming the key)")
    p.add_argument("config_files", nargs="*", metavar="FILE",
                   help="config files (same as --config)")
    p.add_argument("--store", action="store_true",
                   help="also list stored mappings this config does not allow")
    p.set_defaults(handler=run_check_config)


async def run_check_config(args: argparse.Namespace, settings: Settings) -> int:
    """Loading already happened in main(); then the checks serve runs, WXR files parsed."""
    print(describe_lookup(args_lookup(args), settings.store.url))
    try:
        check_config(settings, parse_wxr=True)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(f"config OK: {len(settings.site.blogs)} blogs, shutdown at "
          f"{settings.site.shutdown_at.isoformat()}")
    if not args.store:
        return 0

    async def lint(store: Store) -> int:
        return print_skipped_mappings(settings, await store.list_mappings())

    return await with_store(settings, lint)
