"""Host lists, redirect mappings and admin key/values."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import Mapping
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, ts


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
        return await self.engine.read(
            lambda conn: [
                Mapping(r["source"], r["target"], origin="store", note=r["note"])
                for r in conn.execute("SELECT source, target, note FROM mappings ORDER BY source")
            ]
        )

    async def put_mappings(self, mappings: Sequence[Mapping], now: datetime) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO mappings (source, target, note, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET target = excluded.target,"
                " note = excluded.note, updated_at = excluded.updated_at",
                [(m.source, m.target, m.note, ts(now)) for m in mappings],
            )
            bump_version(conn, "mappings")

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
