"""SQLite plumbing: one writer thread, one reader thread, migrations, time columns.

We run each transaction as one synchronous function on a dedicated thread instead of using
aiosqlite: aiosqlite hops threads per statement, so two coroutines' transactions could
interleave on its single connection, and every statement would cost a hop. Here a whole
transaction is one hop, and the single writer thread is the store's "one writer".
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import sqlite3
import typing
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import structlog

from linkbridge.errors import ConfigError
from linkbridge.model import feed_scopes
from linkbridge.store import rows

logger = structlog.get_logger(__name__)
_T = TypeVar("_T")


@lru_cache(maxsize=256)
def ts(value: datetime | None) -> str | None:
    """Aware datetime -> sortable UTC text (remembered, bounded: a linkback's two transactions
    write the same few instants a dozen times; equal instants give the same text)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("sqlite: naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    """Stored text -> aware datetime."""
    return None if value is None else datetime.fromisoformat(value)


def dt_required(value: str) -> datetime:
    """Stored text of a NOT NULL column -> aware datetime."""
    return datetime.fromisoformat(value)


def migration_names() -> list[tuple[int, str]]:
    """(number, file name) of the numbered migration scripts shipped in the package, in order."""
    folder = resources.files("linkbridge.store") / "migrations"
    return sorted(
        (int(entry.name[:4]), entry.name)
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    )


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts shipped in the package, in order."""
    folder = resources.files("linkbridge.store") / "migrations"
    return [
        (number, (folder / name).read_text(encoding="utf-8"))
        for number, name in migration_names()
    ]


def refuse_newer_schema(stored: int, shipped: int) -> None:
    """Rolling upgrades add before they remove, so an older release may run beside a newer
    one; but an older release never (re)starts on a schema it does not know."""
    if stored > shipped:
        raise ConfigError(
            f"store: the store's schema is at migration {stored}, newer than this linkbridge"
            f" knows ({shipped}); upgrade linkbridge before serving it"
        )


class SqliteEngine:
    """Owns the two connections and their threads."""

    def __init__(
        self, path: Path, *, busy_timeout_ms: int, group_commit_max_writes: int = 256
    ) -> None:
        if group_commit_max_writes < 1:
            raise ValueError("sqlite: group_commit_max_writes must be at least 1")
        self.group_commit_max_writes = group_commit_max_writes
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        self._writer: sqlite3.Connection | None = None
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._reader: sqlite3.Connection | None = None
        # Health probes get their own thread and connection: they never queue behind a feed
        # build or an admin page on the reader thread.
        self._probe_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-probe")
        self.writes = 0
        self.reads = 0
        """Write transactions asked for and reads run since start (statistics)."""
        self._probe: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        # Under the same file lock as migrations: switching a new file to WAL escalates a read
        # lock, and SQLite answers "database is locked" at once (no busy wait, to avoid a
        # deadlock) while another process (`serve --workers`) holds the write lock.
        with self._startup_lock():
            conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed linkback survives power loss, not only a killed process.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    async def open(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(self._writer_pool, self._connect)
        await loop.run_in_executor(self._writer_pool, self._migrate, self._writer)
        self._reader = await loop.run_in_executor(self._reader_pool, self._connect)
        self._probe = await loop.run_in_executor(self._probe_pool, self._connect)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply pending migrations once, even when processes open the file together
        (`serve --workers`): an exclusive lock on a file beside the store orders them, as
        PostgreSQL's advisory lock does. (Not a lock on the store file itself: closing another
        descriptor of it would drop SQLite's own POSIX locks in this process.)"""
        with self._startup_lock():
            self._migrate_locked(conn)

    @contextlib.contextmanager
    def _startup_lock(self) -> typing.Iterator[None]:
        """An exclusive lock on a file beside the store, held while a process sets the journal
        mode or migrates."""
        lock_path = self.path.with_name(self.path.name + ".migrate-lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _migrate_locked(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY)")
        done = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")}
        shipped = migrations()
        refuse_newer_schema(max(done, default=0), shipped[-1][0])
        for number, script in shipped:
            if number in done:
                continue
            # executescript commits what is pending; wrap the script in its own transaction.
            conn.executescript(
                "BEGIN IMMEDIATE;\n"
                + script
                + f"\nINSERT INTO schema_migrations (number) VALUES ({number});\nCOMMIT;"
            )
            logger.info("migration_applied", number=number, path=str(self.path))

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)  # pending writes commit before the close
        loop = asyncio.get_running_loop()
        for conn, pool in (
            (self._probe, self._probe_pool),
            (self._reader, self._reader_pool),
            (self._writer, self._writer_pool),
        ):
            if conn is not None:
                await loop.run_in_executor(pool, conn.close)
            pool.shutdown(wait=True)
        self._reader = self._writer = self._probe = None

    async def write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn` on the writer thread inside a committed transaction; return after COMMIT.

        Writes that arrive while a commit is under way are grouped into the next transaction
        (group commit), each in its own SAVEPOINT so one failing write rolls back only itself.
        Under a flood this turns N fsyncs into a few, and nothing returns before it is durable.
        """
        if self._writer is None:
            raise RuntimeError("sqlite: store is not open")
        self.writes += 1
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self._pending.append((fn, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return typing.cast(_T, await asyncio.shield(done))

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[: self.group_commit_max_writes]
            del self._pending[: self.group_commit_max_writes]
            try:
                outcomes = await loop.run_in_executor(
                    self._writer_pool, self._run_group, [fn for fn, _ in batch]
                )
            except BaseException as exc:  # COMMIT itself failed: every write in it failed
                outcomes = [(False, exc)] * len(batch)
            for (_, done), (ok, value) in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    def _run_group(
        self, fns: list[Callable[[sqlite3.Connection], Any]]
    ) -> list[tuple[bool, Any]]:
        conn = self._writer
        assert conn is not None
        outcomes: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for fn in fns:
                conn.execute("SAVEPOINT one_write")
                try:
                    value = fn(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO one_write")
                    conn.execute("RELEASE one_write")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE one_write")
                    outcomes.append((True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    async def read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn` on the reader thread (sees committed data only, thanks to WAL)."""
        conn = self._reader
        if conn is None:
            raise RuntimeError("sqlite: store is not open")
        self.reads += 1
        return await asyncio.get_running_loop().run_in_executor(
            self._reader_pool, lambda: fn(conn)
        )


    async def probe(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run a tiny read on the probe thread (readiness only), never behind other reads."""
        conn = self._probe
        if conn is None:
            raise RuntimeError("sqlite: store is not open")
        return await asyncio.get_running_loop().run_in_executor(
            self._probe_pool, lambda: fn(conn)
        )


def bump_feeds(conn: sqlite3.Connection, blog: str, post_id: int) -> int:
    """Move the feed versions of one post's scopes inside the caller's transaction.

    Only these three feeds (in both formats) are rebuilt; the redirect table, the post
    registry and other posts' feeds keep their versions.
    """
    row = conn.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'feeds_version'"
        " RETURNING value"
    ).fetchone()
    seq = int(row[0])
    conn.executemany(
        "INSERT INTO feed_versions (scope, version) VALUES (?, ?)"
        " ON CONFLICT (scope) DO UPDATE SET version = excluded.version",
        [(scope, seq) for scope in feed_scopes(blog, post_id)],
    )
    return seq


SNAPSHOT_CONCERNS = ("posts", "mappings", "lists")
"""The inputs of the in-memory snapshot, each with its own version row."""


def bump_version(conn: sqlite3.Connection, concern: str | None = None) -> int:
    """Increment the version row inside the caller's transaction, and `concern`'s own version
    (None: every concern's, so that a writer that names none rebuilds everything)."""
    if concern is not None and concern not in SNAPSHOT_CONCERNS:
        raise ValueError(f"sqlite: unknown version concern {concern!r}")
    conn.executemany(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?",
        [(f"{c}_version",) for c in ((concern,) if concern else SNAPSHOT_CONCERNS)],
    )
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")
    row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return int(row[0])


def bump_mappings(conn: sqlite3.Connection, sources: Iterable[str]) -> int:
    """Bump the mappings version inside the caller's transaction and record these sources
    (written or removed) under the new version, so a server reads only the rows that moved.

    When the version had moved since the last recorded change without naming its rows (an
    older release, a restore), 'mappings_unrecorded_version' says so: readers older than it
    read every row. The record keeps its newest MAPPING_CHANGES_KEPT rows; the version of the
    newest pruned row becomes the unrecorded version, so a reader behind it reads every row.
    """
    bump_version(conn, "mappings")
    meta = dict(conn.execute(
        "SELECT key, CAST(value AS INTEGER) FROM meta"
        " WHERE key IN ('mappings_version', 'mappings_recorded_version')"
    ).fetchall())
    version = int(meta["mappings_version"])
    if int(meta["mappings_recorded_version"]) != version - 1:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'mappings_unrecorded_version'",
                     (str(version - 1),))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'mappings_recorded_version'",
                 (str(version),))
    conn.executemany(
        "INSERT INTO mapping_versions (source, version) VALUES (?, ?)"
        " ON CONFLICT (source) DO UPDATE SET version = excluded.version",
        [(source, version) for source in sources],
    )
    horizon = conn.execute(
        "SELECT version FROM mapping_versions ORDER BY version DESC LIMIT 1 OFFSET ?",
        (rows.MAPPING_CHANGES_KEPT,),
    ).fetchone()
    if horizon is not None:  # rows at and before it only serve readers that read everything
        conn.execute("DELETE FROM mapping_versions WHERE version <= ?", (horizon[0],))
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'mappings_unrecorded_version'"
            " AND CAST(value AS INTEGER) < ?",
            (str(horizon[0]), horizon[0]),
        )
    return version
