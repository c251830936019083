"""The PostgreSQL Store (asyncpg pool, numbered migrations under an advisory lock)."""

from __future__ import annotations

import asyncpg

from linkbridge.store.postgres.admin import AdminRows
from linkbridge.store.postgres.archive import ArchiveRows
from linkbridge.store.postgres.dump import DumpRows
from linkbridge.store.postgres.engine import SNAPSHOT_CONCERNS, Conn, PostgresEngine, bump_version
from linkbridge.store.postgres.history import HistoryRows
from linkbridge.store.postgres.hits import HitRows
from linkbridge.store.postgres.jobs import JobRows
from linkbridge.store.postgres.linkbacks import LinkbackRows
from linkbridge.store.postgres.lists import ListRows
from linkbridge.store.postgres.posts import PostRows
from linkbridge.store.postgres.privacy import PrivacyRows
from linkbridge.store.postgres.suggestions import SuggestionRows


class PostgresStore(
    LinkbackRows, PostRows, JobRows, ListRows, HitRows, AdminRows, HistoryRows, PrivacyRows,
    DumpRows,
    SuggestionRows,
    ArchiveRows,
):
    """Store on one PostgreSQL database; any number of instances may share it."""

    def __init__(self, dsn: str, *, pool_max_connections: int = 10) -> None:
        self.dsn = dsn
        self.engine = PostgresEngine(dsn, pool_max_connections=pool_max_connections)

    async def open(self) -> None:
        await self.engine.open()

    async def close(self) -> None:
        await self.engine.close()

    async def ping(self) -> bool:
        try:
            await self.engine.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, RuntimeError):
            return False
        return True

    async def version(self) -> int:
        return int(await self.engine.fetchval("SELECT value FROM meta WHERE key = 'version'"))

    async def bump_version(self) -> int:
        return await self.engine.tx(bump_version)

    async def versions(self) -> dict[str, int]:
        rows = await self.engine.read(lambda conn: conn.fetch(
            "SELECT key, value FROM meta WHERE key = 'version' OR key = ANY($1::text[])",
            [f"{c}_version" for c in SNAPSHOT_CONCERNS],
        ))
        return {r["key"].removesuffix("_version"): int(r["value"]) for r in rows}

    async def feed_changes(self, since: int) -> tuple[int, dict[str, int]]:
        async def q(conn: Conn) -> tuple[int, dict[str, int]]:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                seq = await conn.fetchval("SELECT value FROM meta WHERE key = 'feeds_version'")
                rows = await conn.fetch(
                    "SELECT scope, version FROM feed_versions WHERE version > $1", since
                )
            return int(seq), {r["scope"]: int(r["version"]) for r in rows}

        return await self.engine.read(q)

    async def wait_for_change(self, timeout_s: float) -> None:
        await self.engine.wait_for_change(timeout_s)
