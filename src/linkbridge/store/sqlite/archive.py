"""Web-archive snapshots of old posts, as last looked up."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from linkbridge.model import ArchiveSnapshot
from linkbridge.store.rows import row_to_snapshot
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, ts


class ArchiveRows:
    """Store methods for archive snapshots (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def put_archive_snapshots(self, snapshots: Sequence[ArchiveSnapshot]) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO archive_snapshots (path, url, memento_at, checked_at, note)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET url = excluded.url,"
                " memento_at = excluded.memento_at, checked_at = excluded.checked_at,"
                " note = excluded.note",
                [(s.path, s.url, ts(s.memento_at), ts(s.checked_at), s.note) for s in snapshots],
            )
            bump_version(conn)  # running instances load the new links

        await self.engine.write(tx)

    async def archive_snapshots(self) -> list[ArchiveSnapshot]:
        def q(conn: sqlite3.Connection) -> list[ArchiveSnapshot]:
            rows = conn.execute("SELECT * FROM archive_snapshots ORDER BY path")
            return [row_to_snapshot(r) for r in rows]

        return await self.engine.read(q)
