"""`linkbridge archive check`: which old posts have a web-archive snapshot from before the
shutdown instant, and which do not yet (ask the archive for a capture while the blog runs)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from linkbridge import __version__
from linkbridge.commands.context import make_clock, print_json, with_store
from linkbridge.errors import ConfigError
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.text import for_terminal
from linkbridge.verify import SafeFetcher


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("archive", help="web-archive snapshots of the old posts (Memento)")
    acts = p.add_subparsers(dest="action", required=True)
    check = acts.add_parser("check", parents=[common],
                            help="look every old post up in archive.timegate; list those "
                                 "without a snapshot before the instant")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=archive_check)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rarchive: {done}/{total}", end="", file=sys.stderr, flush=True)


async def archive_check(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every post has a snapshot, 1 when some have none (they are listed)."""
    from linkbridge.retire.archive import check_archive

    if not settings.archive.timegate:
        raise ConfigError("archive check: set archive.timegate (e.g. https://web.archive.org/web/)")
    fetch = dataclasses.replace(
        settings.fetch, per_host_concurrency=settings.archive.concurrency,
        per_host_rate_per_min=settings.archive.rate_per_min,
    )
    fetcher = SafeFetcher(fetch, public_base_url=settings.site.public_base_url,
                          version=__version__)
    now = make_clock(args.at).now()

    async def run(store: Store) -> int:
        posts = [p for p in await store.all_posts() if not p.tombstone]
        try:
            found = await check_archive(fetcher, settings.archive, store, posts,
                                        settings.site.shutdown_at, now, progress=_progress)
        finally:
            await fetcher.close()
        missing = [s for s in found if not s.url]
        if args.json:
            print_json({"posts": len(found), "with_snapshot": len(found) - len(missing),
                        "missing": [{"path": s.path, "why": s.note} for s in missing]})
        else:
            print(f"{len(found) - len(missing)} of {len(found)} old posts have a snapshot "
                  "from before the instant")
            for s in missing:
                print(f"  {for_terminal(s.path)}  ({for_terminal(s.note)})")
        return 1 if missing else 0

    return await with_store(settings, run)
