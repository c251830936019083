"""`linkbridge backup`, `restore` and `migrate --check`: looking after the store file."""

from __future__ import annotations

import argparse
from pathlib import Path

from linkbridge.errors import ConfigError
from linkbridge.settings import Settings
from linkbridge.store.base import sqlite_path

PG_GUIDANCE = (
    "the store is PostgreSQL: back it up with `pg_dump --format=custom --file FILE DBNAME` "
    "and restore with `pg_restore --clean --if-exists --dbname DBNAME FILE` (docs/deploy.md)"
)


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    b = sub.add_parser("backup", parents=[common],
                       help="copy the store to FILE while the service runs (SQLite backup API)")
    b.add_argument("file", type=Path, metavar="FILE", help="new file to write")
    b.set_defaults(handler=backup_store)
    r = sub.add_parser("restore", parents=[common],
                       help="put a backup in place of the store (stop the service first)")
    r.add_argument("file", type=Path, metavar="FILE", help="a file written by `backup`")
    r.add_argument("--replace", action="store_true",
                   help="overwrite an existing store (it is lost)")
    r.set_defaults(handler=restore_store)
    m = sub.add_parser("migrate", parents=[common],
                       help="list the schema changes this version would apply to the store")
    m.add_argument("--check", action="store_true", required=True,
                   help="only list them (serve applies them on start)")
    m.set_defaults(handler=check_migrations)


def _store_file(settings: Settings) -> Path:
    if not settings.store.url.startswith("sqlite:"):
        raise ConfigError(PG_GUIDANCE)
    return sqlite_path(settings.store.url)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())


async def backup_store(args: argparse.Namespace, settings: Settings) -> int:
    from linkbridge.store.sqlite.backup import backup

    summary = backup(_store_file(settings), args.file)
    print(f"backup written to {args.file}: schema {summary.schema}, {_counts(summary.counts)}")
    return 0


async def restore_store(args: argparse.Namespace, settings: Settings) -> int:
    from linkbridge.store.sqlite.backup import restore

    target = _store_file(settings)
    summary = restore(args.file, target, replace=args.replace)
    print(f"restored {args.file} to {target}: schema {summary.schema}, "
          f"{_counts(summary.counts)}")
    return 0


async def check_migrations(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the store is current, 1 when `serve` would migrate it (the list printed)."""
    from linkbridge.store.sqlite.backup import pending_migrations

    path = _store_file(settings)
    pending = pending_migrations(path)
    if not pending:
        print(f"store {path} is up to date")
        return 0
    print(f"store {path}: serve will apply {len(pending)} migration(s):")
    for name in pending:
        print(f"  {name}")
    return 1
