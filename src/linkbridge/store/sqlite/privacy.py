"""Personal data: a person's linkbacks erased on request, and sender addresses forgotten after
their retention period."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from linkbridge.model import Change, ChangeNote, Erasure, erased_digest
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, ts
from linkbridge.store.sqlite.history import _record


def erasure_where(erasure: Erasure) -> tuple[str, list[object]]:
    """The WHERE clause (with ? marks) selecting the linkbacks an erasure names."""
    clauses: list[str] = []
    params: list[object] = []
    for column, value in (("source_url", erasure.source_url),
                          ("source_canonical", erasure.source_canonical),
                          ("source_host", erasure.host),
                          ("author_name", erasure.author_name)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not clauses:
        raise ValueError("privacy: an erasure names a source, a host or an author")
    return " OR ".join(clauses), params


def erasure_change(count: int, note: ChangeNote) -> Change:
    """The history row of an erasure: who, when, why and how many, never what was erased."""
    return Change("erasure", "", note.action, None, f"{count} linkbacks erased", note.actor,
                  note.reason, note.at)


class PrivacyRows:
    """Store methods for personal data (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def erase_linkbacks(self, erasure: Erasure, note: ChangeNote) -> int:
        where, params = erasure_where(erasure)

        def tx(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                f"SELECT id, source_url, blog, post_id FROM linkbacks WHERE {where}", params
            ).fetchall()
            if not rows:
                return 0
            ids = [r[0] for r in rows]
            conn.executemany(
                "INSERT OR IGNORE INTO erased_linkbacks (digest, at) VALUES (?, ?)",
                [(erased_digest(r[1], r[2], r[3]), ts(note.at)) for r in rows],
            )
            marks = ", ".join("?" for _ in ids)
            conn.execute(f"DELETE FROM decisions WHERE linkback_id IN ({marks})", ids)
            conn.execute(
                f"DELETE FROM jobs WHERE kind = 'verify'"
                f" AND json_extract(payload, '$.linkback_id') IN ({marks})", ids,
            )
            deliveries = [r[0] for r in conn.execute(
                "SELECT id FROM webhook_deliveries"
                f" WHERE json_extract(payload, '$.linkback.id') IN ({marks})", ids,
            )]
            for delivery in deliveries:
                conn.execute("DELETE FROM webhook_deliveries WHERE id = ?", (delivery,))
                conn.execute(
                    "DELETE FROM jobs WHERE kind = 'webhook'"
                    " AND json_extract(payload, '$.delivery_id') = ?", (delivery,),
                )
            conn.execute(f"DELETE FROM linkbacks WHERE id IN ({marks})", ids)
            _record(conn, erasure_change(len(ids), note))
            bump_version(conn)
            return len(ids)

        return await self.engine.write(tx)

    async def prune_failed(self, before: datetime) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, public_id, reason FROM linkbacks"
                " WHERE state = 'failed' AND updated_at < ?", (ts(before),),
            ).fetchall()
            if not rows:
                return 0
            conn.executemany(
                "INSERT OR REPLACE INTO pruned_linkbacks (public_id, reason, pruned_at)"
                " VALUES (?, ?, ?)",
                [(r[1], r[2], ts(before)) for r in rows if r[1] is not None],
            )
            ids = [r[0] for r in rows]
            marks = ", ".join("?" for _ in ids)
            conn.execute(f"DELETE FROM decisions WHERE linkback_id IN ({marks})", ids)
            conn.execute(
                f"DELETE FROM jobs WHERE kind = 'verify'"
                f" AND json_extract(payload, '$.linkback_id') IN ({marks})", ids,
            )
            conn.execute(f"DELETE FROM linkbacks WHERE id IN ({marks})", ids)
            return len(ids)

        return await self.engine.write(tx)

    async def pruned_reason(self, public_id: str) -> str | None:
        def q(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT reason FROM pruned_linkbacks WHERE public_id = ?", (public_id,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self.engine.read(q)

    async def forget_client_data(self, before: datetime) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            cut = ts(before)
            forgotten = conn.execute(
                "UPDATE linkbacks SET client_ip = '' WHERE client_ip != '' AND created_at < ?",
                (cut,),
            ).rowcount
            forgotten += conn.execute(
                "UPDATE jobs SET sender = '' WHERE sender != '' AND created_at < ?", (cut,)
            ).rowcount
            forgotten += conn.execute(
                "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?",
                (cut,),
            ).rowcount
            return forgotten

        return await self.engine.write(tx)
