"""Host lists, redirect mappings and admin key/values (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import Mapping, MappingChanges
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_mappings


class ListRows:
    """Store methods for lists, mappings and settings (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def list_hosts(self, list_name: str) -> list[str]:
        async def q(conn: Conn) -> list[str]:
            rows = await conn.fetch(
                "SELECT host FROM host_lists WHERE list = $1 ORDER BY host COLLATE \"C\"",
                list_name,
            )
            return [r[0] for r in rows]

        return await self.engine.read(q)

    async def list_mappings(self) -> list[Mapping]:
        async def q(conn: Conn) -> list[Mapping]:
            rows = await conn.fetch(
                "SELECT source, target, note FROM mappings ORDER BY source COLLATE \"C\""
            )
            return [Mapping(r["source"], r["target"], origin="store", note=r["note"])
                    for r in rows]

        return await self.engine.read(q)

    async def mapping_pairs(self) -> list[tuple[str, str]]:
        async def q(conn: Conn) -> list[tuple[str, str]]:
            rows = await conn.fetch(
                "SELECT source, target FROM mappings ORDER BY source COLLATE \"C\""
            )
            return [(r[0], r[1]) for r in rows]

        return await self.engine.read(q)

    async def mapping_changes(self, since: int, limit: int) -> MappingChanges | None:
        async def q(conn: Conn) -> MappingChanges | None:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                meta = {r["key"]: int(r["value"]) for r in await conn.fetch(
                    "SELECT key, value::bigint AS value FROM meta WHERE key IN"
                    " ('mappings_version', 'mappings_recorded_version',"
                    " 'mappings_unrecorded_version')"
                )}
                version = meta["mappings_version"]
                recorded = meta["mappings_recorded_version"]
                unrecorded = meta["mappings_unrecorded_version"]
                if recorded != version or unrecorded > since or since > version:
                    return None
                rows = await conn.fetch(
                    "SELECT v.source, m.target, m.note FROM mapping_versions v"
                    " LEFT JOIN mappings m ON m.source = v.source"
                    " WHERE v.version > $1 LIMIT $2",
                    since, limit + 1,
                )
            if len(rows) > limit:
                return None
            return MappingChanges(
                version,
                tuple(Mapping(r["source"], r["target"], origin="store", note=r["note"])
                      for r in rows if r["target"] is not None),
                tuple(r["source"] for r in rows if r["target"] is None),
            )

        return await self.engine.read(q)

    async def put_mappings(self, mappings: Sequence[Mapping], now: datetime) -> None:
        async def tx(conn: Conn) -> None:
            await conn.executemany(
                "INSERT INTO mappings (source, target, note, updated_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (source) DO UPDATE SET target = excluded.target,"
                " note = excluded.note, updated_at = excluded.updated_at",
                [(m.source, m.target, m.note, now) for m in mappings],
            )
            await bump_mappings(conn, [m.source for m in mappings])

        await self.engine.tx(tx)

    async def get_setting(self, key: str) -> str | None:
        value = await self.engine.fetchval("SELECT value FROM admin_kv WHERE key = $1", key)
        return None if value is None else str(value)

    async def put_setting(self, key: str, value: str) -> None:
        await self.engine.write_value(
            "INSERT INTO admin_kv (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key, value,
        )
