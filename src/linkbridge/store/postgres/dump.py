"""Every row of a table out, and rows back into an empty store (export and import), in the same
plain form as SQLite's, so an export moves between backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linkbridge.store.dump import json_value
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_version


class DumpRows:
    """Store methods for whole-table export and import (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def table_names(self) -> list[str]:
        async def q(conn: Conn) -> list[str]:
            rows = await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                " ORDER BY table_name"
            )
            return [str(r[0]) for r in rows]

        return await self.engine.read(q)

    async def export_rows(self, table: str) -> list[dict[str, Any]]:
        async def q(conn: Conn) -> list[dict[str, Any]]:
            order = "id" if "id" in await _column_types(conn, table) else "1"
            rows = await conn.fetch(f'SELECT * FROM "{table}" ORDER BY {order}')
            return [{k: json_value(v) for k, v in r.items()} for r in rows]

        return await self.engine.read(q)

    async def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        async def tx(conn: Conn) -> int:
            types = await _column_types(conn, table)
            for row in rows:
                names = list(row)
                columns = ", ".join(f'"{n}"' for n in names)
                # Every value travels as text and is cast to its column's type, so SQLite's
                # ISO instants and JSON text land in timestamptz and jsonb columns alike.
                casts = ", ".join(f"${i}::text::{types[n]}" for i, n in enumerate(names, 1))
                await conn.execute(
                    f'INSERT INTO "{table}" ({columns}) VALUES ({casts}) ON CONFLICT DO NOTHING',
                    *[None if row[n] is None else str(row[n]) for n in names],
                )
            if "id" in types:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f' COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
                )
            if table == "meta":
                await bump_version(conn)
            return len(rows)

        return await self.engine.tx(tx)


async def _column_types(conn: Conn, table: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1", table,
    )
    return {str(r[0]): str(r[1]) for r in rows}
