"""Recorded moderation changes: redirect mappings and host lists edited with their history."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from linkbridge.model import Change, ChangeNote, Mapping
from linkbridge.store.rows import row_to_change
from linkbridge.store.sqlite.engine import SqliteEngine, bump_mappings, bump_version, ts

_HISTORY = (
    "SELECT subject, key, action, before, after, actor, reason, at, id, 1 AS part FROM changes"
    " UNION ALL"
    " SELECT 'linkback', CAST(linkback_id AS TEXT), new_state, old_state, new_state, actor,"
    " reason, at, id, 0 AS part FROM decisions"
)
"""Both tables as one list of changes (`part` breaks ties between rows of the same instant)."""


def _record(conn: sqlite3.Connection, change: Change) -> None:
    conn.execute(
        "INSERT INTO changes (subject, key, action, before, after, actor, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (change.subject, change.key, change.action, change.before, change.after, change.actor,
         change.reason, ts(change.at)),
    )


def mapping_value(target: str, note: str) -> str:
    """A mapping as history shows it: the target, and the note after " # " when there is one."""
    return f"{target} # {note}" if note else target


class HistoryRows:
    """Store methods for recorded edits and the history (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def edit_mappings(
        self, put: Sequence[Mapping], remove: Sequence[str], note: ChangeNote
    ) -> list[Change]:
        def tx(conn: sqlite3.Connection) -> list[Change]:
            changes: list[Change] = []

            def old(source: str) -> str | None:
                row = conn.execute(
                    "SELECT target, note FROM mappings WHERE source = ?", (source,)
                ).fetchone()
                return None if row is None else mapping_value(row["target"], row["note"])

            for source in remove:
                before = old(source)
                if before is None:
                    continue
                conn.execute("DELETE FROM mappings WHERE source = ?", (source,))
                changes.append(Change("mapping", source, note.action, before, None,
                                      note.actor, note.reason, note.at))
            for m in put:
                before, after = old(m.source), mapping_value(m.target, m.note)
                if before == after:
                    continue
                conn.execute(
                    "INSERT INTO mappings (source, target, note, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (source) DO UPDATE SET target = excluded.target,"
                    " note = excluded.note, updated_at = excluded.updated_at",
                    (m.source, m.target, m.note, ts(note.at)),
                )
                changes.append(Change("mapping", m.source, note.action, before, after,
                                      note.actor, note.reason, note.at))
            for change in changes:
                _record(conn, change)
            if changes:
                bump_mappings(conn, [c.key for c in changes])
            return changes

        return await self.engine.write(tx)

    async def edit_host(
        self, host: str, list_name: str, *, present: bool, note: ChangeNote
    ) -> Change | None:
        def tx(conn: sqlite3.Connection) -> Change | None:
            row = conn.execute(
                "SELECT reason FROM host_lists WHERE host = ? AND list = ?", (host, list_name)
            ).fetchone()
            if (row is not None) == present:
                return None
            if present:
                conn.execute(
                    "INSERT INTO host_lists (host, list, reason, actor, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (host, list_name, note.reason, note.actor, ts(note.at)),
                )
            else:
                conn.execute(
                    "DELETE FROM host_lists WHERE host = ? AND list = ?", (host, list_name)
                )
            change = Change(
                "host", f"{list_name}:{host}", note.action,
                None if present else list_name, list_name if present else None,
                note.actor, note.reason, note.at,
            )
            _record(conn, change)
            bump_version(conn, "lists")
            return change

        return await self.engine.write(tx)

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
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT * FROM ({_HISTORY})"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, part DESC, id DESC LIMIT ? OFFSET ?"

        def q(conn: sqlite3.Connection) -> list[Change]:
            return [row_to_change(r) for r in conn.execute(sql, (*params, limit, offset))]

        return await self.engine.read(q)
