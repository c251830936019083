"""PostgreSQL plumbing: an asyncpg pool, migrations under an advisory lock, version NOTIFY.

Every Store method is one transaction on one pooled connection (`tx`) or one read (`read`).
The version row is the source of truth for the live snapshot; bumping it also sends a
NOTIFY on commit, so every instance's listener wakes within milliseconds, and the timed
re-check of the row covers a lost listener connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable
from importlib import resources
from typing import Any, TypeAlias, TypeVar

import asyncpg
import asyncpg.pool
import structlog

from linkbridge.model import feed_scopes
from linkbridge.store import rows
from linkbridge.store.sqlite.engine import refuse_newer_schema

logger = structlog.get_logger(__name__)
_T = TypeVar("_T")

VERSION_CHANNEL = "linkbridge_version"
"""NOTIFY channel: the payload is the new version."""
MIGRATION_LOCK = 0x6C62_6D69  # "lbmi": the advisory lock instances migrate under
Conn: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


def migrations() -> list[tuple[int, str]]:
    """The numbered PostgreSQL migration scripts shipped in the package, in order."""
    folder = resources.files("linkbridge.store") / "migrations" / "postgres"
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(out)


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


class PostgresEngine:
    """Owns the pool and the listener connection."""

    def __init__(self, dsn: str, *, pool_max_connections: int = 10) -> None:
        if pool_max_connections < 1:
            raise ValueError("postgres: pool_max_connections must be at least 1")
        self.dsn = dsn
        self.pool_max_connections = pool_max_connections
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection[asyncpg.Record] | None = None
        self._changed = asyncio.Event()
        self._writes: set[asyncio.Future[Any]] = set()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("postgres: store is not open")
        return self._pool

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_max_connections,
            init=_init_connection,
        )
        async with self._pool.acquire() as conn:
            await migrate(conn)
        await self._listen()

    async def _listen(self) -> None:
        try:
            listener = await asyncpg.connect(self.dsn)
            await listener.add_listener(VERSION_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:  # the version poll still works
            logger.warning("version_listener_failed", error=str(exc))
            return
        self._listener = listener

    def _notified(self, *_: object) -> None:
        self._changed.set()

    async def wait_for_change(self, timeout_s: float) -> None:
        """Return when a version NOTIFY arrives, or after `timeout_s` (the fallback poll)."""
        if self._listener is None or self._listener.is_closed():
            self._listener = None
            await self._listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        self._changed.clear()

    async def close(self) -> None:
        if self._writes:  # writes whose callers went away still commit
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def tx(self, fn: Callable[[Conn], Awaitable[_T]]) -> _T:
        """Run `fn` in one committed transaction; return after COMMIT.

        As with SQLite's writer, a caller that is cancelled (a client gone, a shutdown) does
        not cancel the write: it runs to COMMIT or ROLLBACK on its own, and `close` waits.
        """
        task = asyncio.ensure_future(self._tx(fn))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def _tx(self, fn: Callable[[Conn], Awaitable[_T]]) -> _T:
        async with self.pool.acquire() as conn, conn.transaction():
            return await fn(conn)

    async def read(self, fn: Callable[[Conn], Awaitable[_T]]) -> _T:
        async with self.pool.acquire() as conn:
            return await fn(conn)

    async def write_value(self, sql: str, *args: Any) -> Any:
        """One writing statement as its own transaction (see `tx`); its first value."""
        return await self.tx(lambda conn: conn.fetchval(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)


async def migrate(conn: Conn) -> None:
    """Apply pending migrations, once even when several instances start together."""
    shipped = migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY)"
        )
        done = {r[0] for r in await conn.fetch("SELECT number FROM schema_migrations")}
        for number, script in shipped:
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_migrations (number) VALUES ($1)", number)
            logger.info("migration_applied", number=number, backend="postgresql")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    refuse_newer_schema(max(done, default=0), shipped[-1][0])


SNAPSHOT_CONCERNS = ("posts", "mappings", "lists")
"""The inputs of the in-memory snapshot, each with its own version row."""


async def bump_version(conn: Conn, concern: str | None = None) -> int:
    """Increment the version row (and `concern`'s own; None: every concern's) inside the
    caller's transaction; NOTIFY goes out on commit."""
    if concern is not None and concern not in SNAPSHOT_CONCERNS:
        raise ValueError(f"postgres: unknown version concern {concern!r}")
    await conn.execute(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = ANY($1::text[])",
        [f"{c}_version" for c in ((concern,) if concern else SNAPSHOT_CONCERNS)],
    )
    value = await conn.fetchval(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'version' RETURNING value"
    )
    await conn.execute("SELECT pg_notify($1, $2)", VERSION_CHANNEL, value)
    return int(value)


async def bump_feeds(conn: Conn, blog: str, post_id: int) -> int:
    """Move the feed versions of one post's scopes (network, sub-blog, post) inside the
    caller's transaction; the snapshot's versions stay. NOTIFY goes out on commit."""
    seq = int(await conn.fetchval(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'feeds_version'"
        " RETURNING value"
    ))
    await conn.executemany(
        "INSERT INTO feed_versions (scope, version) VALUES ($1, $2)"
        " ON CONFLICT (scope) DO UPDATE SET version = excluded.version",
        [(scope, seq) for scope in feed_scopes(blog, post_id)],
    )
    await conn.execute("SELECT pg_notify($1, $2)", VERSION_CHANNEL, f"feeds:{seq}")
    return seq


async def bump_mappings(conn: Conn, sources: Iterable[str]) -> int:
    """Bump the mappings version inside the caller's transaction and record these sources
    under the new version, and keep the record's newest MAPPING_CHANGES_KEPT rows (see
    SQLite's `bump_mappings`). The bump locks the version row, so concurrent writers record
    their rows, and prune, in commit order."""
    await bump_version(conn, "mappings")
    found = await conn.fetch(
        "SELECT key, value::bigint AS value FROM meta"
        " WHERE key IN ('mappings_version', 'mappings_recorded_version')"
    )
    meta = {r["key"]: int(r["value"]) for r in found}
    version = meta["mappings_version"]
    if meta["mappings_recorded_version"] != version - 1:
        await conn.execute(
            "UPDATE meta SET value = $1 WHERE key = 'mappings_unrecorded_version'",
            str(version - 1),
        )
    await conn.execute(
        "UPDATE meta SET value = $1 WHERE key = 'mappings_recorded_version'", str(version)
    )
    await conn.execute(
        "INSERT INTO mapping_versions (source, version) SELECT s, $2 FROM unnest($1::text[]) s"
        " ON CONFLICT (source) DO UPDATE SET version = excluded.version",
        list(dict.fromkeys(sources)), version,
    )
    horizon = await conn.fetchval(
        "SELECT version FROM mapping_versions ORDER BY version DESC LIMIT 1 OFFSET $1",
        rows.MAPPING_CHANGES_KEPT,
    )
    if horizon is not None:  # rows at and before it only serve readers that read everything
        await conn.execute("DELETE FROM mapping_versions WHERE version <= $1", horizon)
        await conn.execute(
            "UPDATE meta SET value = $1 WHERE key = 'mappings_unrecorded_version'"
            " AND value::bigint < $2",
            str(horizon), horizon,
        )
    return version
