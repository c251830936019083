"""Host lists, redirect mappings and admin key/values."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import Mapping, MappingChanges
from linkbridge.store.sqlite.engine import SqliteEngine, bump_mappings, ts


class ListRows:
    """Store methods for lists, mappings and settings (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def list_hosts(self, list_name: str) -> list[str]:
        return await self.engine.read(
            lambda conn: [
                r[0]
                for r in conn.execute(
                    "SELECT host FROM host_lists WHERE list = ? ORDER BY host", (list_name,)
                )
            ]
        )

    async def list_mappings(self) -> list[Mapping]:
        def q(conn: sqlite3.Connection) -> list[Mapping]:
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples: 100,000 rows are read at start-up
            cursor.execute("SELECT source, target, 'store', note FROM mappings ORDER BY source")
            return [Mapping(*row) for row in cursor]

        return await self.engine.read(q)

    async def mapping_pairs(self) -> list[tuple[str, str]]:
        def q(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples, as they come
            return cursor.execute("SELECT source, target FROM mappings ORDER BY source").fetchall()

        return await self.engine.read(q)

    async def mapping_changes(self, since: int, limit: int) -> MappingChanges | None:
        def q(conn: sqlite3.Connection) -> MappingChanges | None:
            conn.execute("BEGIN")  # one snapshot for the versions and the rows
            try:
                meta = dict(conn.execute(
                    "SELECT key, CAST(value AS INTEGER) FROM meta WHERE key IN"
                    " ('mappings_version', 'mappings_recorded_version',"
                    " 'mappings_unrecorded_version')"
                ).fetchall())
                version = int(meta["mappings_version"])
                recorded = meta["mappings_recorded_version"]
                unrecorded = meta["mappings_unrecorded_version"]
                if recorded != version or unrecorded > since or since > version:
                    return None
                rows = conn.execute(
                    "SELECT v.source, m.target, m.note FROM mapping_versions v"
                    " LEFT JOIN mappings m ON m.source = v.source"
                    " WHERE v.version > ? LIMIT ?",
                    (since, limit + 1),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            if len(rows) > limit:
                return None
            return MappingChanges(
                version,
                tuple(Mapping(r[0], r[1], origin="store", note=r[2])
                      for r in rows if r[1] is not None),
                tuple(r[0] for r in rows if r[1] is None),
            )

        return await self.engine.read(q)

    async def put_mappings(self, mappings: Sequence[Mapping], now: datetime) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO mappings (source, target, note, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET target = excluded.target,"
                " note = excluded.note, updated_at = excluded.updated_at",
                [(m.source, m.target, m.note, ts(now)) for m in mappings],
            )
            bump_mappings(conn, [m.source for m in mappings])

        await self.engine.write(tx)

    async def get_setting(self, key: str) -> str | None:
        def q(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM admin_kv WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self.engine.read(q)

    async def put_setting(self, key: str, value: str) -> None:
        await self.engine.write(
            lambda conn: conn.execute(
                "INSERT INTO admin_kv (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )
