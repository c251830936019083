"""Web-archive snapshots of old posts, as last looked up (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence

from linkbridge.model import ArchiveSnapshot
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_version
from linkbridge.store.rows import row_to_snapshot


class ArchiveRows:
    """Store methods for archive snapshots (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def put_archive_snapshots(self, snapshots: Sequence[ArchiveSnapshot]) -> None:
        async def tx(conn: Conn) -> None:
            await conn.executemany(
                "INSERT INTO archive_snapshots (path, url, memento_at, checked_at, note)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (path) DO UPDATE SET"
                " url = excluded.url, memento_at = excluded.memento_at,"
                " checked_at = excluded.checked_at, note = excluded.note",
                [(s.path, s.url, s.memento_at, s.checked_at, s.note) for s in snapshots],
            )
            await bump_version(conn)

        await self.engine.tx(tx)

    async def archive_snapshots(self) -> list[ArchiveSnapshot]:
        async def q(conn: Conn) -> list[ArchiveSnapshot]:
            rows = await conn.fetch("SELECT * FROM archive_snapshots ORDER BY path")
            return [row_to_snapshot(r) for r in rows]

        return await self.engine.read(q)
