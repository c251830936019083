"""Every row of a table out, and rows back into an empty store (export and import)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from linkbridge.store.dump import json_value
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version


class DumpRows:
    """Store methods for whole-table export and import (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def table_names(self) -> list[str]:
        return await self.engine.read(lambda conn: [
            r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ])

    async def export_rows(self, table: str) -> list[dict[str, Any]]:
        def q(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            names = [c[0] for c in cursor.description]
            return [{n: json_value(v) for n, v in zip(names, row, strict=True)} for row in cursor]

        return await self.engine.read(q)

    async def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            for row in rows:
                names = list(row)
                columns = ", ".join(f'"{n}"' for n in names)
                marks = ", ".join("?" for _ in names)
                conn.execute(
                    f'INSERT OR IGNORE INTO "{table}" ({columns}) VALUES ({marks})',
                    [row[n] for n in names],
                )
            bump_version(conn)
            return len(rows)

        return await self.engine.write(tx)
