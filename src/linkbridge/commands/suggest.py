"""`linkbridge redirects suggest`: read the successor site and propose where each old post
should go; the proposals wait for a moderator (admin page, or `--csv` for a spreadsheet)."""

from __future__ import annotations

import argparse
import csv
import sys

from linkbridge import __version__
from linkbridge.commands.context import make_clock, with_store
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.text import for_terminal
from linkbridge.verify import SafeFetcher


def add_parser(acts: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser) -> None:
    p = acts.add_parser("suggest", parents=[common],
                        help="read the successor's sitemaps and propose a page for each "
                             "old post without an exact mapping")
    p.add_argument("--sitemap", action="append", default=[], metavar="URL",
                   help="a sitemap or sitemap index to read (repeat; default: suggest.sitemaps)")
    p.add_argument("--csv", action="store_true",
                   help="print old,new,note rows for a spreadsheet (`redirects import` reads "
                        "them back)")
    p.add_argument("--limit", type=int, default=50, help="suggestions to print, most "
                                                          "important first")
    p.set_defaults(handler=suggest)


def progress_line(stage: str, done: int, total: int) -> None:
    """One line rewritten in place on a terminal; nothing when stderr is not one."""
    if sys.stderr.isatty():
        print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)


async def suggest(args: argparse.Namespace, settings: Settings) -> int:
    from linkbridge.retire.workbench import (  # rapidfuzz and lxml load only for this command
        refresh_suggestions,
        suggest_fetch_settings,
        suggestions_csv_rows,
    )

    now = make_clock(args.at).now()
    fetcher = SafeFetcher(suggest_fetch_settings(settings),
                          public_base_url=settings.site.public_base_url, version=__version__)

    async def run(store: Store) -> int:
        try:
            report = await refresh_suggestions(settings, store, fetcher, now,
                                               sitemaps=args.sitemap, progress=progress_line)
        finally:
            await fetcher.close()
            if sys.stderr.isatty():
                print(file=sys.stderr)
        suggestions = await store.list_suggestions(limit=max(args.limit, 0))
        if args.csv:
            writer = csv.writer(sys.stdout)
            writer.writerow(["old", "new", "note"])
            writer.writerows(suggestions_csv_rows(suggestions))
            return 0
        print(f"{report.sitemap_pages} pages in the sitemaps ({report.fetched} read now, "
              f"{report.cached} from earlier runs); {report.suggested} of {report.posts} "
              "unmapped posts have a suggestion")
        for x in suggestions:
            target = for_terminal(x.url) if x.url else "(none)"
            print(f"{x.priority:>6}  {x.score:.2f}  {for_terminal(x.path)} -> {target}"
                  f"  [{for_terminal(x.reason)}]")
        return 0

    return await with_store(settings, run)
