"""`linkbridge import wxr FILE…`: import WordPress exports by hand (idempotent, atomic)."""

from __future__ import annotations

import argparse
from pathlib import Path

from linkbridge.commands.context import make_clock, with_store
from linkbridge.posts.importer import import_wxr
from linkbridge.settings import Settings
from linkbridge.store import Store


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("import", help="import data into the store")
    kinds = p.add_subparsers(dest="kind", required=True)
    wxr = kinds.add_parser("wxr", parents=[common], help="import WordPress WXR exports")
    wxr.add_argument("files", nargs="+", metavar="FILE")
    wxr.set_defaults(handler=import_files)


async def import_files(args: argparse.Namespace, settings: Settings) -> int:
    now = make_clock(args.at).now()

    async def run(store: Store) -> int:
        for name in args.files:
            report = await import_wxr(settings, store, Path(name), now)
            print(f"{report.path}: blog {report.blog}: {report.posts} posts, "
                  f"{report.new_linkbacks} new linkbacks")
        return 0

    return await with_store(settings, run)
