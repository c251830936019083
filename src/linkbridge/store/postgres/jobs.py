"""The durable job queue (PostgreSQL): claimed with FOR UPDATE SKIP LOCKED and a lease.

Two instances claiming at once never get the same job: each locks the first due row the
other has not locked, and the lease keeps it theirs after the claim commits. A job whose
instance died becomes due again when its lease runs out. With fair-share caps on, claims
take a transaction advisory lock first, so the count of leased jobs per host or sender that
a claim reads cannot miss a claim committing beside it on another instance.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from linkbridge.model import Job
from linkbridge.store.postgres.engine import Conn, PostgresEngine
from linkbridge.store.postgres.linkbacks import enqueue
from linkbridge.store.rows import row_to_job

CLAIM_LOCK = 0x6C62_6A63  # "lbjc": serialises fair-share claims across instances
_CLAIM = """
UPDATE jobs SET lease_until = $4, attempts = attempts + 1 WHERE id = (
  SELECT j.id FROM jobs AS j
  WHERE j.run_after <= $1 AND (j.lease_until IS NULL OR j.lease_until <= $1)
    AND ($2 <= 0 OR j.source_host = '' OR (
          SELECT COUNT(*) FROM jobs AS l
          WHERE l.source_host = j.source_host AND l.lease_until > $1) < $2)
    AND ($3 <= 0 OR j.sender = '' OR (
          SELECT COUNT(*) FROM jobs AS l
          WHERE l.sender = j.sender AND l.lease_until > $1) < $3)
  ORDER BY j.attempts > 0, j.run_after, j.id
  LIMIT 1 FOR UPDATE SKIP LOCKED
) RETURNING *
"""
"""Lease the first due, unleased job whose host and sender are under their share of leased
jobs; fresh jobs (never claimed) before retries, then by due time."""


class JobRows:
    """Store methods for jobs (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def enqueue_job(
        self,
        kind: str,
        payload: dict[str, Any],
        run_after: datetime,
        *,
        dedupe_key: str | None = None,
        source_host: str = "",
        sender: str = "",
    ) -> int:
        return await self.engine.tx(
            lambda conn: enqueue(
                conn, kind, payload, run_after, dedupe_key, run_after,
                source_host=source_host, sender=sender,
            )
        )

    async def claim_job(
        self, now: datetime, lease_s: float, *, max_per_host: int = 0, max_per_sender: int = 0
    ) -> Job | None:
        lease = now + timedelta(seconds=lease_s)

        async def tx(conn: Conn) -> Job | None:
            if max_per_host > 0 or max_per_sender > 0:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", CLAIM_LOCK)
            row = await conn.fetchrow(_CLAIM, now, max_per_host, max_per_sender, lease)
            if row is None:
                return None
            return row_to_job(row)

        return await self.engine.tx(tx)

    async def complete_job(self, job_id: int) -> None:
        await self.engine.write_value("DELETE FROM jobs WHERE id = $1", job_id)

    async def retry_job(self, job_id: int, run_after: datetime, error: str) -> None:
        await self.engine.write_value(
            "UPDATE jobs SET run_after = $1, lease_until = NULL, last_error = $2 WHERE id = $3",
            run_after, error, job_id,
        )

    async def count_jobs(self) -> int:
        return int(await self.engine.fetchval("SELECT COUNT(*) FROM jobs"))

    async def oldest_job_at(self) -> datetime | None:
        value = await self.engine.fetchval("SELECT MIN(created_at) FROM jobs")
        return value if isinstance(value, datetime) else None
