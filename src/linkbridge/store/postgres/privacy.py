"""Personal data: a person's linkbacks erased on request, and sender addresses forgotten after
their retention period (PostgreSQL)."""

from __future__ import annotations

import re
from datetime import datetime

from linkbridge.model import ChangeNote, Erasure, erased_digest
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_version
from linkbridge.store.postgres.history import _record
from linkbridge.store.sqlite.privacy import erasure_change, erasure_where


class PrivacyRows:
    """Store methods for personal data (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def erase_linkbacks(self, erasure: Erasure, note: ChangeNote) -> int:
        where, params = erasure_where(erasure)
        numbered = iter(range(1, len(params) + 1))
        where = re.sub(r"\?", lambda _: f"${next(numbered)}", where)

        async def tx(conn: Conn) -> int:
            rows = await conn.fetch(
                f"SELECT id, source_url, blog, post_id FROM linkbacks WHERE {where}", *params
            )
            if not rows:
                return 0
            ids = [int(r[0]) for r in rows]
            await conn.executemany(
                "INSERT INTO erased_linkbacks (digest, at) VALUES ($1, $2)"
                " ON CONFLICT (digest) DO NOTHING",
                [(erased_digest(r[1], r[2], r[3]), note.at) for r in rows],
            )
            await conn.execute("DELETE FROM decisions WHERE linkback_id = ANY($1::bigint[])", ids)
            await conn.execute(
                "DELETE FROM jobs WHERE kind = 'verify'"
                " AND (payload->>'linkback_id')::bigint = ANY($1::bigint[])", ids,
            )
            deliveries = [int(r[0]) for r in await conn.fetch(
                "SELECT id FROM webhook_deliveries"
                " WHERE (payload::jsonb->'linkback'->>'id')::bigint = ANY($1::bigint[])", ids,
            )]
            if deliveries:
                await conn.execute(
                    "DELETE FROM jobs WHERE kind = 'webhook'"
                    " AND (payload->>'delivery_id')::bigint = ANY($1::bigint[])", deliveries,
                )
                await conn.execute(
                    "DELETE FROM webhook_deliveries WHERE id = ANY($1::bigint[])", deliveries
                )
            await conn.execute("DELETE FROM linkbacks WHERE id = ANY($1::bigint[])", ids)
            await _record(conn, [erasure_change(len(ids), note)])
            await bump_version(conn)
            return len(ids)

        return await self.engine.tx(tx)

    async def prune_failed(self, before: datetime) -> int:
        async def tx(conn: Conn) -> int:
            rows = await conn.fetch(
                "SELECT id, public_id, reason FROM linkbacks"
                " WHERE state = 'failed' AND updated_at < $1 FOR UPDATE", before,
            )
            if not rows:
                return 0
            await conn.executemany(
                "INSERT INTO pruned_linkbacks (public_id, reason, pruned_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (public_id) DO UPDATE SET reason = excluded.reason,"
                " pruned_at = excluded.pruned_at",
                [(r["public_id"], r["reason"], before) for r in rows if r["public_id"]],
            )
            ids = [r["id"] for r in rows]
            await conn.execute("DELETE FROM decisions WHERE linkback_id = ANY($1::bigint[])", ids)
            await conn.execute(
                "DELETE FROM jobs WHERE kind = 'verify'"
                " AND (payload ->> 'linkback_id')::bigint = ANY($1::bigint[])", ids,
            )
            await conn.execute("DELETE FROM linkbacks WHERE id = ANY($1::bigint[])", ids)
            return len(ids)

        return await self.engine.tx(tx)

    async def pruned_reason(self, public_id: str) -> str | None:
        reason = await self.engine.fetchval(
            "SELECT reason FROM pruned_linkbacks WHERE public_id = $1", public_id
        )
        return None if reason is None else str(reason)

    async def forget_client_data(self, before: datetime) -> int:
        async def tx(conn: Conn) -> int:
            total = 0
            for sql in (
                "UPDATE linkbacks SET client_ip = '' WHERE client_ip != '' AND created_at < $1",
                "UPDATE jobs SET sender = '' WHERE sender != '' AND created_at < $1",
                "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < $1",
            ):
                status = await conn.execute(sql, before)
                total += int(status.rsplit(" ", 1)[-1])
            return total

        return await self.engine.tx(tx)
