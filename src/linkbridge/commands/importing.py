"""`linkbridge import wxr FILE…` (WordPress exports, idempotent, atomic) and `import json FILE`
(a whole-store export into a new store)."""

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
    wxr.add_argument("--force", action="store_true",
                     help="import an export whose base_site_url is not one of site.hosts")
    wxr.set_defaults(handler=import_files)
    dump = kinds.add_parser("json", parents=[common],
                            help="restore a `linkbridge export --json` file into a new store")
    dump.add_argument("file", type=Path, metavar="FILE")
    dump.set_defaults(handler=import_json)


async def import_json(args: argparse.Namespace, settings: Settings) -> int:
    from linkbridge.commands.exporting import import_document, read_document

    document = read_document(args.file)

    async def run(store: Store) -> int:
        loaded = await import_document(store, document)
        print(f"imported {args.file}: " + ", ".join(f"{n} {t}" for t, n in loaded.items()))
        return 0

    return await with_store(settings, run, create=True)  # an import may start a new store


async def import_files(args: argparse.Namespace, settings: Settings) -> int:
    now = make_clock(args.at).now()

    async def run(store: Store) -> int:
        for name in args.files:
            report = await import_wxr(settings, store, Path(name), now, foreign_ok=args.force)
            assert report is not None  # only start-up skips unchanged files
            print(f"{report.path}: blog {report.blog}: {report.posts} posts, "
                  f"{report.new_linkbacks} new linkbacks")
        return 0

    return await with_store(settings, run, create=True)
