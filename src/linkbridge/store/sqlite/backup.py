"""Online, consistent copies of a SQLite store (SQLite's backup API), and restoring one.

The backup API copies pages under a read transaction, so a copy taken while `serve` writes is a
snapshot of one committed state; a plain `cp` of the file and its WAL is not.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from linkbridge.errors import ConfigError
from linkbridge.store.sqlite.engine import migration_names, migrations

_COUNTED_TABLES = ("posts", "linkbacks", "mappings", "decisions")


@dataclass(frozen=True, slots=True)
class StoreFileSummary:
    """What a store file holds: its schema number and row counts of the main tables."""

    schema: int
    counts: dict[str, int]


def summarise(path: Path) -> StoreFileSummary:
    """Check a store file's integrity and count its rows (read-only)."""
    if not path.is_file():
        raise ConfigError(f"no store file at {path}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path} is not a linkbridge store: {exc}") from None
        if verdict != "ok":
            raise ConfigError(f"{path} is damaged: integrity_check says {verdict}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_migrations" not in tables:
            raise ConfigError(f"{path} is not a linkbridge store (no schema_migrations table)")
        schema = conn.execute("SELECT COALESCE(MAX(number), 0) FROM schema_migrations").fetchone()
        counts = {
            t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in _COUNTED_TABLES
            if t in tables
        }
        return StoreFileSummary(schema=int(schema[0]), counts=counts)
    finally:
        conn.close()


def backup(store_path: Path, destination: Path, *, pages_per_step: int = 1024) -> StoreFileSummary:
    """Copy the live store to `destination` (which must not exist) and check the copy."""
    if not store_path.is_file():
        raise ConfigError(f"no store file at {store_path}: nothing to back up")
    if destination.exists():
        raise ConfigError(f"{destination} exists already: choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    source = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        # Small steps let the writer go on between them; SQLite restarts a step a write touched.
        source.backup(target, pages=pages_per_step)
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()
    partial.replace(destination)
    return summarise(destination)


def restore(backup_file: Path, store_path: Path, *, replace: bool) -> StoreFileSummary:
    """Put a checked backup in place of the store file (the service must be stopped)."""
    summary = summarise(backup_file)
    known = max((n for n, _ in migrations()), default=0)
    if summary.schema > known:
        raise ConfigError(
            f"{backup_file} has schema {summary.schema}, newer than this linkbridge knows "
            f"({known}): restore it with the version that made it"
        )
    if store_path.exists() and not replace:
        raise ConfigError(
            f"a store exists at {store_path}: stop the service and add --replace to overwrite it"
        )
    store_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a stale WAL beside the new file would corrupt it
        store_path.with_name(store_path.name + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    partial = store_path.with_name(store_path.name + ".restoring")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    partial.replace(store_path)
    return summary


def pending_migrations(path: Path) -> list[str]:
    """File names of the migrations `serve` would apply to the store at `path` (all for none)."""
    done: set[int] = set()
    if path.is_file():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
            ).fetchone():
                done = {int(r[0]) for r in conn.execute("SELECT number FROM schema_migrations")}
        finally:
            conn.close()
    return [name for number, name in migration_names() if number not in done]
