"""`linkbridge export --json`: the whole store as one JSON document (posts, linkbacks with their
decisions, mappings, hits, lists, history), which `linkbridge import json` restores; and
`linkbridge export nginx DIR [--watch]`, the redirect table as an nginx map and the feeds as
files with their ETags (retire/nginx.py, retire/nginx_feeds.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from linkbridge import __version__
from linkbridge.commands.context import make_clock, with_store
from linkbridge.errors import ConfigError
from linkbridge.live import LiveState
from linkbridge.phase import Phase, phase_at
from linkbridge.redact import redact_url
from linkbridge.retire.nginx import (
    CONF_FILE,
    MAP_FILE,
    hash_sizes,
    nginx_conf,
    nginx_location,
    nginx_map,
)
from linkbridge.retire.nginx_feeds import FEEDS_MAP_FILE, FeedFiles
from linkbridge.settings import Settings
from linkbridge.store import Store, open_store
from linkbridge.store.dump import EXPORT_TABLES, FORMAT, FORMAT_VERSION, SKIPPED_TABLES


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("export", parents=[common], help="export the store")
    p.add_argument("--json", action="store_true",
                   help="the whole store as one JSON document (import json restores it)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write to FILE (default: standard output)")
    p.add_argument("target", nargs="*", metavar="nginx DIR",
                   help="nginx DIR: the redirect table as an nginx map and config in DIR")
    p.add_argument("--upstream", default="", metavar="HOST:PORT",
                   help="where nginx passes what it does not answer (default: server.host:port)")
    p.add_argument("--watch", action="store_true",
                   help="keep DIR current: rewrite it within a second of any change")
    p.add_argument("--reload", default="", metavar="COMMAND",
                   help='run after each rewrite, e.g. "nginx -s reload"')
    p.set_defaults(handler=export_any)
    st = sub.add_parser("store", help="move the store: copy one store into another "
                        "(SQLite to PostgreSQL)")
    acts = st.add_subparsers(dest="action", required=True)
    cp = acts.add_parser("copy", parents=[common],
                         help="copy every row of SOURCE into TARGET, then compare the counts "
                              "(idempotent: rows already there are left as they are)")
    cp.add_argument("source", metavar="SOURCE_URL", help="e.g. sqlite:var/linkbridge.db")
    cp.add_argument("target", metavar="TARGET_URL", help="e.g. postgresql://lb@db/linkbridge")
    cp.set_defaults(handler=copy_store)


async def export_any(args: argparse.Namespace, settings: Settings) -> int:
    """`export --json` or `export nginx DIR`."""
    if args.target:
        if len(args.target) != 2 or args.target[0] != "nginx":
            raise ConfigError("export: expected `export nginx DIR` or `export --json`")
        return await export_nginx(args, settings, Path(args.target[1]))
    if not args.json:
        raise ConfigError("export: expected `export nginx DIR` or `export --json`")
    return await export_json(args, settings)


async def export_document(store: Store) -> dict[str, Any]:
    """Every exported table's rows, with the format and the exporting version."""
    present = set(await store.table_names())
    unknown = present - set(EXPORT_TABLES) - SKIPPED_TABLES
    if unknown:  # a table added without deciding whether it is exported
        raise ConfigError(f"export: the store has tables export does not know: {sorted(unknown)}")
    tables = {t: await store.export_rows(t) for t in EXPORT_TABLES if t in present}
    return {"format": FORMAT, "version": FORMAT_VERSION, "linkbridge": __version__,
            "tables": tables}


async def export_json(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        document = await export_document(store)
        text = json.dumps(document, ensure_ascii=False, indent=1)
        if args.out is None:
            sys.stdout.write(text + "\n")
        else:
            args.out.write_text(text + "\n", encoding="utf-8")
            counts = ", ".join(f"{len(rows)} {t}" for t, rows in document["tables"].items()
                               if rows)
            print(f"exported to {args.out}: {counts}", file=sys.stderr)
        return 0

    return await with_store(settings, run)


def read_document(path: Path) -> dict[str, Any]:
    """An export file, checked for its format (one-line errors)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"import json: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"import json: {path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"import json: {path} is not a linkbridge export")
    if document.get("version") != FORMAT_VERSION:
        raise ConfigError(f"import json: {path} has export version {document.get('version')!r};"
                          f" this linkbridge reads version {FORMAT_VERSION}")
    tables = document.get("tables")
    if not isinstance(tables, dict) or not set(tables) <= set(EXPORT_TABLES):
        raise ConfigError(f"import json: {path} holds tables this linkbridge does not know")
    return document


async def import_document(store: Store, document: dict[str, Any]) -> dict[str, int]:
    """Load an export into an empty store; return the rows loaded per table."""
    for table in ("posts", "linkbacks", "mappings"):
        if await store.export_rows(table):
            raise ConfigError("import json: the store is not empty: import into a new store")
    loaded = {}
    for table in EXPORT_TABLES:
        rows = document["tables"].get(table, [])
        if rows:
            loaded[table] = await store.import_rows(table, rows)
    return loaded


async def copy_store(args: argparse.Namespace, settings: Settings) -> int:
    """Copy SOURCE into TARGET (both migrated first) and check every table's row count.

    Stop the service on SOURCE first: rows written during the copy would be left behind. The
    whole store passes through memory once (a retired blog's store is megabytes, not more)."""
    source = open_store(args.source)
    target = open_store(args.target, pool_max_connections=settings.store.pool_max_connections)
    names = f"{redact_url(args.source)} to {redact_url(args.target)}"
    await source.open()
    try:
        await target.open()
        try:
            document = await export_document(source)
            for table in EXPORT_TABLES:
                rows = document["tables"].get(table, [])
                if rows:
                    await target.import_rows(table, rows)
            differ = []
            for table, rows in document["tables"].items():
                copied = len(await target.export_rows(table))
                if copied != len(rows):
                    differ.append(f"{table} {len(rows)} → {copied}")
        finally:
            await target.close()
    finally:
        await source.close()
    if differ:
        print(f"store copy: {names}: row counts differ: {', '.join(differ)} (was the target"
              " empty, or a copy of this source?)", file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(rows)} {t}" for t, rows in document["tables"].items() if rows)
    print(f"copied {names}; row counts equal: {counts}")
    return 0


# ------------------------------------------------------------------ export nginx DIR
# Before the shutdown instant the redirect map is empty (nginx passes everything on, to the old
# blog through linkbridge); from the instant on it holds the redirects. The feed map's keys name
# the side of the instant they were written for, and nginx checks that side with its own clock.
# With --watch the files are rewritten within a second of any store change and at the instant
# itself, and --reload runs after each rewrite, so the switch needs nobody.

WATCH_INTERVAL_S = 0.5
"""How often --watch looks at the store's version and the clock (changes show within 1 s)."""


def _write(path: Path, text: str) -> bool:
    """Replace `path` atomically when its text changed; True when it did."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


async def write_files(folder: Path, live: LiveState, phase: Phase, upstream: str,
                      feeds: FeedFiles, reload: Callable[[], Awaitable[None]]) -> bool:
    """The feed files and map, the redirect map (empty before the instant), and the
    http-level and server-level config; True when any file changed.

    Before rebuilding feeds because the posts version moved (a WXR import, an erasure), the
    feed map is written without those feeds and `reload` run, so that linkbridge answers them
    meanwhile, never nginx from outdated files."""
    snapshot = live.snapshot
    # feeds show posts and linkbacks only: a mapping or host-list change rebuilds none of them
    posts_version = snapshot.inputs.get("posts", snapshot.version)

    async def before_build(text: str) -> None:
        if _write(folder / FEEDS_MAP_FILE, text):
            await reload()

    feeds_text = await feeds.update(
        snapshot.registry, live.store, posts_version, live.feed_version, phase, before_build
    )
    return _write_config(folder, live, phase, upstream, feeds, feeds_text)


def _write_config(folder: Path, live: LiveState, phase: Phase, upstream: str, feeds: FeedFiles,
                  feeds_text: str) -> bool:
    settings, snapshot = live.settings, live.snapshot
    feeds_map = folder / FEEDS_MAP_FILE
    changed = _write(feeds_map, feeds_text)
    map_path = folder / MAP_FILE
    redirects = nginx_map(snapshot.table) if phase == Phase.AFTER else ""
    changed |= _write(map_path, redirects)
    changed |= _write(folder / CONF_FILE, nginx_conf(
        str(map_path.resolve()), upstream, str(feeds_map.resolve()), settings.site.shutdown_at,
        hash_sizes(redirects, feeds_text),
    ))
    changed |= _write(folder / (CONF_FILE + ".location"), nginx_location(
        settings.retire.cache_max_age_s, str(feeds.files.resolve()), settings.feeds.max_age_s
    ))
    return changed


async def export_nginx(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    upstream = args.upstream or f"{settings.server.host}:{settings.server.port}"
    clock = make_clock(args.at)
    if args.watch and not args.reload:
        print("nginx: --watch without --reload: nginx keeps the maps it loaded until someone "
              "reloads it (its 304s name the ETags of then)", file=sys.stderr, flush=True)

    async def run(store: Store) -> int:
        live = LiveState(settings, store)
        await live.refresh(force=True)
        feeds = FeedFiles(folder, settings, live.canonicaliser)

        async def reload() -> None:
            if args.reload:
                await asyncio.to_thread(subprocess.run, shlex.split(args.reload), check=False)

        moved, seen_phase = True, None
        while True:
            phase = phase_at(clock.now(), settings.site.shutdown_at)
            if (moved or phase != seen_phase) and await write_files(
                folder, live, phase, upstream, feeds, reload
            ):
                side = "redirects" if phase == Phase.AFTER else "before the instant"
                print(f"nginx: wrote {folder} ({side})", file=sys.stderr, flush=True)
                await reload()
            seen_phase = phase
            if not args.watch:
                return 0
            await asyncio.sleep(WATCH_INTERVAL_S)
            moved = await live.refresh()

    return await with_store(settings, run)
