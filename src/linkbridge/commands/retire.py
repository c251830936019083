"""`linkbridge redirects check|import|export|suggest`, `hits`, `check-successors`."""

from __future__ import annotations

import argparse
import csv
import getpass
import sys
from datetime import UTC, date, timedelta
from pathlib import Path

from linkbridge import __version__
from linkbridge.commands.context import instant, make_clock, print_json, with_store
from linkbridge.errors import RejectedImport, StoreMissing
from linkbridge.model import MAPPED_RULES, Change, Mapping
from linkbridge.moderation.service import ImportPlan, Moderation
from linkbridge.posts.registry import PostRegistry
from linkbridge.retire import hit_series
from linkbridge.retire.csvio import BadRows, export_mappings_csv, parse_mappings_csv
from linkbridge.retire.explain import explain_url
from linkbridge.retire.successors import check_successors, successor_fetcher, summary
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.store import Store, open_configured_store
from linkbridge.text import for_terminal
from linkbridge.urls import Canonicaliser
from linkbridge.verify import SafeFetcher


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("redirects", help="inspect and edit the redirect table")
    acts = p.add_subparsers(dest="action", required=True)
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--by", default=None, help="who makes the change (default: the OS user)")
    who.add_argument("--reason", default="", help="why (recorded with the change)")
    check = acts.add_parser("check", parents=[common], help="what a URL does at an instant")
    check.add_argument("url")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=redirects_check)
    imp = acts.add_parser("import", parents=[common, who], help="import old,new rows from CSV")
    imp.add_argument("file", help="CSV file (UTF-8, UTF-16 or Windows-1252; , ; or tab), "
                                  "or - for stdin")
    imp.add_argument("--replace", action="store_true",
                     help="make the file the whole stored table (rows it does not name are "
                          "removed); default: add and update only")
    imp.add_argument("--dry-run", action="store_true",
                     help="print what would be added, changed and removed; change nothing")
    imp.set_defaults(handler=redirects_import)
    one = acts.add_parser("map", parents=[common, who],
                          help="map one old path (or /prefix/*) to a URL, web, social, gone or ''")
    one.add_argument("old")
    one.add_argument("new")
    one.add_argument("--note", default="", help="a note kept with the mapping")
    one.set_defaults(handler=redirects_map)
    unmap = acts.add_parser("unmap", parents=[common, who], help="remove one stored mapping")
    unmap.add_argument("old")
    unmap.set_defaults(handler=redirects_unmap)
    hist = acts.add_parser("history", parents=[common],
                           help="recorded changes of the table (or of one PATH): who, when, "
                                "before, after, why")
    hist.add_argument("path", nargs="?", default=None, metavar="PATH")
    hist.add_argument("--limit", type=int, default=100, help="rows to show, newest first")
    hist.add_argument("--json", action="store_true")
    hist.set_defaults(handler=redirects_history)
    exp = acts.add_parser("export", parents=[common], help="print the stored table as CSV")
    exp.set_defaults(handler=redirects_export)
    lint = acts.add_parser("lint", parents=[common],
                           help="list stored mappings the current config does not allow")
    lint.set_defaults(handler=redirects_lint)
    add_suggest_parser(acts, common)

    hits = sub.add_parser("hits", parents=[common], help="most-hit retired paths")
    hits.add_argument("--unmapped", action="store_true",
                      help="only paths no exact or regex mapping answers")
    hits.add_argument("--top", type=int, default=50)
    hits.add_argument("--json", action="store_true")
    hits.add_argument("--days", type=int, default=0, metavar="N",
                      help="per-day totals of the last N days instead (other paths included)")
    hits.add_argument("--since", default="", metavar="DATE",
                      help="per day from DATE (YYYY-MM-DD, UTC) to today: all, mapped, unmapped, "
                           "gone, and the --top unmapped paths' counts")
    hits.add_argument("--csv", action="store_true",
                      help="print the per-day series as CSV (from --since, else the instant)")
    hits.set_defaults(handler=list_hits)

    succ = sub.add_parser("check-successors", parents=[common],
                          help="fetch every redirect target and report those not answering 200")
    succ.add_argument("--json", action="store_true")
    succ.set_defaults(handler=run_check_successors)


async def redirects_check(args: argparse.Namespace, settings: Settings) -> int:
    now = instant(args.at)
    canon = Canonicaliser.for_settings(settings.site)

    async def run(store: Store) -> int:
        posts = PostRegistry(await store.all_posts(), canon, settings.site.blog_paths)
        result = explain_url(settings, canon, await store.list_mappings(), args.url, now, posts)
        if args.json:
            print_json(result)
        else:
            for key, value in result.items():
                if value is not None:  # e.g. no status for a feed: the line is left out
                    print(f"{key:>9}: {for_terminal(value)}")
        # A URL the site would refuse (400) or that is not the site's: not what was meant.
        return 1 if result.get("outcome") in ("bad_request", "foreign") else 0

    return await with_store(settings, run)


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


def _moderation(settings: Settings, store: Store, args: argparse.Namespace) -> Moderation:
    return Moderation(settings, store, make_clock(args.at))


async def redirects_import(args: argparse.Namespace, settings: Settings) -> int:
    canon = Canonicaliser.for_settings(settings.site)
    data = read_csv_bytes(args.file)
    try:
        mappings = parse_mappings_csv(data, settings, canon)
    except BadRows as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{args.file}: {len(exc.problems)} bad rows; nothing imported", file=sys.stderr)
        return 1
    except RejectedImport as exc:
        print(f"{args.file}: {exc.message}", file=sys.stderr)
        return 1

    async def run(store: Store) -> int:
        service = _moderation(settings, store, args)
        plan = await service.plan_import(mappings, replace=args.replace)
        if args.dry_run:
            print(f"dry run, nothing changed: {len(mappings)} rows in {args.file}")
            print_plan(plan)
            return 0
        await service.import_mappings(mappings, by=_actor(args), reason=args.reason,
                                      replace=args.replace)
        print(f"imported {len(mappings)} mappings: {plan.summary()}")
        return 0

    if args.dry_run and not _store_exists(settings):  # an empty table; make no store for it
        print(f"dry run, nothing changed (no store yet): {len(mappings)} rows in {args.file}")
        print_plan(ImportPlan(added=list(mappings)))
        return 0
    return await with_store(settings, run, create=True)


PLAN_SAMPLE_ROWS = 10
"""Rows of each kind a dry run shows; the counts cover all of them."""


def print_plan(plan: ImportPlan) -> None:
    """Counts, then a sample of each kind of change."""
    print(plan.summary())
    sections: list[tuple[str, list[str]]] = [
        ("add", [f"{m.source} -> {m.target or '(unresolved)'}" for m in plan.added]),
        ("change", [f"{old.source}: {old.target or '(unresolved)'} -> "
                    f"{new.target or '(unresolved)'}" for old, new in plan.changed]),
        ("remove", [f"{m.source} (was {m.target or '(unresolved)'})" for m in plan.removed]),
    ]
    for verb, lines in sections:
        for line in lines[:PLAN_SAMPLE_ROWS]:
            print(f"  {verb:<6} {for_terminal(line)}")
        if len(lines) > PLAN_SAMPLE_ROWS:
            print(f"  … and {len(lines) - PLAN_SAMPLE_ROWS} more to {verb}")


def read_csv_bytes(name: str) -> bytes:
    """The file's bytes (stdin for "-"); a missing or unreadable file is one line."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise RejectedImport(
            f"redirects import: cannot read {name}: {exc.strerror or exc}"
        ) from None


def _store_exists(settings: Settings) -> bool:
    try:
        open_configured_store(settings.store, create=False)
    except StoreMissing:
        return False
    return True


async def redirects_map(args: argparse.Namespace, settings: Settings) -> int:
    """One row, checked exactly as a CSV import row is."""
    async def run(store: Store) -> int:
        service = _moderation(settings, store, args)
        mapping = service.checked_mapping(args.old, args.new, args.note)
        await service.put_mappings([mapping], by=_actor(args), reason=args.reason)
        print(f"mapped {mapping.source} -> {mapping.target or '(unresolved)'}")
        return 0

    return await with_store(settings, run)


async def redirects_unmap(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        service = _moderation(settings, store, args)
        source = service.source_key(args.old)
        removed = await service.unmap(args.old, by=_actor(args), reason=args.reason)
        print(f"unmapped {source}" if removed else f"{source} had no stored mapping")
        return 0 if removed else 1

    return await with_store(settings, run)


def change_line(c: Change) -> str:
    """One recorded change as a line: when, who, what, before -> after, why."""
    before = "(none)" if c.before is None else c.before or "(unresolved)"
    after = "(none)" if c.after is None else c.after or "(unresolved)"
    why = f"  ({c.reason})" if c.reason else ""
    return (f"{c.at.isoformat(timespec='seconds')}  {c.actor:<12} {c.action:<7} {c.key}: "
            f"{before} -> {after}{why}")


async def redirects_history(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        service = _moderation(settings, store, args)
        if args.path is None:
            rows = await service.history(subject="mapping", limit=args.limit)
        else:
            rows = await service.history(args.path, limit=args.limit)
        if args.json:
            print_json([{"path": c.key, "action": c.action, "before": c.before,
                         "after": c.after, "by": c.actor, "reason": c.reason,
                         "at": c.at.isoformat()} for c in rows])
            return 0
        for c in rows:
            print(change_line(c))
        if not rows:
            print("no recorded changes")
        return 0

    return await with_store(settings, run)


async def redirects_export(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        sys.stdout.write(export_mappings_csv(await store.list_mappings()))
        return 0

    return await with_store(settings, run)


async def redirects_lint(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        return print_skipped_mappings(settings, await store.list_mappings())

    return await with_store(settings, run)


def print_skipped_mappings(settings: Settings, mappings: list[Mapping]) -> int:
    """Stored rows serve would skip, one line each; 1 when there are any."""
    table = RedirectTable.build(settings, Canonicaliser.for_settings(settings.site), mappings)
    for row in table.skipped:
        print(row.describe())
    if table.skipped:
        print(f"{len(table.skipped)} of {len(mappings)} stored mappings are skipped")
        return 1
    print(f"all {len(mappings)} stored mappings are allowed by the config")
    return 0


async def list_hits(args: argparse.Namespace, settings: Settings) -> int:
    if args.since or args.csv:
        return await list_hit_series(args, settings)
    if args.days > 0:
        return await list_hit_days(args, settings)

    async def run(store: Store) -> int:
        excluded = MAPPED_RULES if args.unmapped else frozenset()
        rows = await store.top_hits(limit=args.top, exclude_rules=excluded)
        if args.json:
            print_json([{"path": h.path, "status": h.status, "rule": h.rule.value,
                         "count": h.count, "last_day": h.day} for h in rows])
            return 0
        for h in rows:
            print(f"{h.count:>8}  {h.status}  {h.rule.value:<10} {for_terminal(h.path)}")
        if not rows:
            print("no hits")
        days = await store.hit_days()
        total = sum(d.hits for d in days)
        other = sum(d.other_paths for d in days)
        ignored = sum(d.ignored for d in days)
        print(f"all days: {total} hits; {other} in other paths (no row of their own); "
              f"{ignored} ignored (assets, probes)")
        return 0

    return await with_store(settings, run)


async def list_hit_days(args: argparse.Namespace, settings: Settings) -> int:
    """Per-day totals by status and rule: exact, kept forever."""
    since = (instant(args.at).astimezone(UTC) - timedelta(days=args.days - 1)).date()

    async def run(store: Store) -> int:
        days = await store.hit_days(since_day=since.isoformat())
        if args.json:
            print_json([{"day": d.day, "status": d.status, "rule": d.rule.value, "hits": d.hits,
                         "other_paths": d.other_paths, "ignored": d.ignored} for d in days])
            return 0
        print(f"{'day':<10}  status  {'rule':<10} {'hits':>8} {'other':>8} {'ignored':>8}")
        for d in days:
            print(f"{d.day:<10}  {d.status:<6}  {d.rule.value:<10} {d.hits:>8} "
                  f"{d.other_paths:>8} {d.ignored:>8}")
        return 0

    return await with_store(settings, run)


async def list_hit_series(args: argparse.Namespace, settings: Settings) -> int:
    """All, mapped, unmapped and gone per day (the admin hits page's numbers), and the top
    unmapped paths per day; as CSV with --csv."""
    last = instant(args.at).astimezone(UTC).date()
    if args.since:
        try:
            first = date.fromisoformat(args.since)
        except ValueError:
            print(f"hits --since: {for_terminal(args.since)!r} is not a date (YYYY-MM-DD)",
                  file=sys.stderr)
            return 2
    elif args.days > 0:
        first = last - timedelta(days=args.days - 1)
    else:
        first = settings.site.shutdown_at.astimezone(UTC).date()
    days = hit_series.day_range(first, last, max_days=(last - first).days + 1)

    async def run(store: Store) -> int:
        rows = hit_series.per_day(await store.hit_days(since_day=first.isoformat()), days)
        top = await store.top_hits(limit=args.top, exclude_rules=MAPPED_RULES)
        wanted = [h.path for h in top]
        counts = hit_series.per_path(
            await store.path_days(wanted, since_day=first.isoformat()), days)
        paths = {p: counts.get(p, [0] * len(days)) for p in wanted}
        if args.csv:
            sys.stdout.write(hit_series.series_csv(rows, paths))
            return 0
        print(f"{'day':<10} " + " ".join(f"{s:>8}" for s in hit_series.SERIES))
        for row in rows:
            print(f"{row.day:<10} " + " ".join(f"{row.value(s):>8}" for s in hit_series.SERIES))
        for path, values in paths.items():
            print(f"{sum(values):>8}  {for_terminal(path)}")
        return 0

    return await with_store(settings, run)


async def run_check_successors(args: argparse.Namespace, settings: Settings) -> int:
    fetcher = successor_fetcher(settings)
    on_terminal = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int, bad: int) -> None:
        print(f"\rchecked {done}/{total}, {bad} not answering 200", end="", file=sys.stderr,
              flush=True)

    async def run(store: Store) -> int:
        try:
            results = await check_successors(
                settings, await store.list_mappings(), fetcher, make_clock(args.at).now(),
                progress=progress if on_terminal else None,
            )
        finally:
            await fetcher.close()
        if on_terminal:
            print(file=sys.stderr)
        bad = [r for r in results if not r.ok]
        if args.json:
            print_json([r.__dict__ for r in results])
            return 1 if bad else 0
        for r in sorted(results, key=lambda r: r.ok):  # failures first
            print(f"{'ok ' if r.ok else 'BAD'} {r.status or '-':>4} {for_terminal(r.url)}  "
                  f"{for_terminal(r.detail)}")
        print(summary(results))
        return 1 if bad else 0

    return await with_store(settings, run)


def add_suggest_parser(acts: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    """`redirects suggest`: propose a successor page for each unmapped old post."""
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
    p.set_defaults(handler=redirects_suggest)


def progress_line(stage: str, done: int, total: int) -> None:
    """One line rewritten in place on a terminal; nothing when stderr is not one."""
    if sys.stderr.isatty():
        print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)


async def redirects_suggest(args: argparse.Namespace, settings: Settings) -> int:
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
        if report.unread_sitemaps:
            print(f"suggest: {report.unread_sitemaps} sitemaps not read: suggest.max_sitemaps "
                  f"({settings.suggest.max_sitemaps}) was reached; raise it to read them",
                  file=sys.stderr)
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
