"""Recorded moderation changes: redirect mappings and host lists edited with their history."""

from __future__ import annotations

from collections.abc import Sequence

from linkbridge.model import Change, ChangeNote, Mapping
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_mappings, bump_version
from linkbridge.store.rows import row_to_change
from linkbridge.store.sqlite.history import mapping_value

_HISTORY = (
    "SELECT subject, key, action, before, after, actor, reason, at, id, 1 AS part FROM changes"
    " UNION ALL"
    " SELECT 'linkback', linkback_id::text, new_state, old_state, new_state, actor,"
    " reason, at, id, 0 AS part FROM decisions"
)
"""Both tables as one list of changes (`part` breaks ties between rows of the same instant)."""


async def _record(conn: Conn, changes: Sequence[Change]) -> None:
    await conn.executemany(
        "INSERT INTO changes (subject, key, action, before, after, actor, reason, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(c.subject, c.key, c.action, c.before, c.after, c.actor, c.reason, c.at)
         for c in changes],
    )


class HistoryRows:
    """Store methods for recorded edits and the history (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def edit_mappings(
        self, put: Sequence[Mapping], remove: Sequence[str], note: ChangeNote
    ) -> list[Change]:
        async def tx(conn: Conn) -> list[Change]:
            changes: list[Change] = []

            async def old(source: str) -> str | None:
                row = await conn.fetchrow(
                    "SELECT target, note FROM mappings WHERE source = $1 FOR UPDATE", source
                )
                return None if row is None else mapping_value(row["target"], row["note"])

            for source in remove:
                before = await old(source)
                if before is None:
                    continue
                await conn.execute("DELETE FROM mappings WHERE source = $1", source)
                changes.append(Change("mapping", source, note.action, before, None,
                                      note.actor, note.reason, note.at))
            for m in put:
                before, after = await old(m.source), mapping_value(m.target, m.note)
                if before == after:
                    continue
                await conn.execute(
                    "INSERT INTO mappings (source, target, note, updated_at)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO UPDATE SET"
                    " target = excluded.target, note = excluded.note,"
                    " updated_at = excluded.updated_at",
                    m.source, m.target, m.note, note.at,
                )
                changes.append(Change("mapping", m.source, note.action, before, after,
                                      note.actor, note.reason, note.at))
            if changes:
                await _record(conn, changes)
                await bump_mappings(conn, [c.key for c in changes])
            return changes

        return await self.engine.tx(tx)

    async def edit_host(
        self, host: str, list_name: str, *, present: bool, note: ChangeNote
    ) -> Change | None:
        async def tx(conn: Conn) -> Change | None:
            if present:
                done = await conn.fetchval(
                    "INSERT INTO host_lists (host, list, reason, actor, created_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host, list) DO NOTHING"
                    " RETURNING 1",
                    host, list_name, note.reason, note.actor, note.at,
                )
            else:
                done = await conn.fetchval(
                    "DELETE FROM host_lists WHERE host = $1 AND list = $2 RETURNING 1",
                    host, list_name,
                )
            if done is None:
                return None
            change = Change(
                "host", f"{list_name}:{host}", note.action,
                None if present else list_name, list_name if present else None,
                note.actor, note.reason, note.at,
            )
            await _record(conn, [change])
            await bump_version(conn, "lists")
            return change

        return await self.engine.tx(tx)

    async def history(
        self,
        *,
        subject: str | None = None,
        key: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        where: list[str] = []
        params: list[object] = []
        for column, value in (("subject", subject), ("key", key)):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        sql = f"SELECT * FROM ({_HISTORY}) AS h"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (f" ORDER BY at DESC, part DESC, id DESC"
                f" LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}")

        async def q(conn: Conn) -> list[Change]:
            rows = await conn.fetch(sql, *params, limit, offset)
            return [row_to_change(r) for r in rows]

        return await self.engine.read(q)
