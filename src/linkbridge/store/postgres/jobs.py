"""The durable job queue (PostgreSQL): claimed with FOR UPDATE SKIP LOCKED and a lease.

Two instances claiming at once never get the same job: each locks the first due row the
other has not locked, and the lease keeps it theirs after the claim commits. A job whose
instance died becomes due again when its lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from linkbridge.model import Job
from linkbridge.store.postgres.engine import Conn, PostgresEngine
from linkbridge.store.postgres.linkbacks import enqueue


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
    ) -> int:
        return await self.engine.tx(
            lambda conn: enqueue(conn, kind, payload, run_after, dedupe_key, run_after)
        )

    async def claim_job(self, now: datetime, lease_s: float) -> Job | None:
        lease = now + timedelta(seconds=lease_s)

        async def tx(conn: Conn) -> Job | None:
            row = await conn.fetchrow(
                "UPDATE jobs SET lease_until = $2, attempts = attempts + 1 WHERE id = ("
                " SELECT id FROM jobs WHERE run_after <= $1"
                " AND (lease_until IS NULL OR lease_until <= $1)"
                " ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
                now, lease,
            )
            if row is None:
                return None
            return Job(
                id=row["id"],
                kind=row["kind"],
                payload=row["payload"],
                attempts=row["attempts"],
                run_after=row["run_after"],
                lease_until=row["lease_until"],
                last_error=row["last_error"],
            )

        return await self.engine.tx(tx)

    async def complete_job(self, job_id: int) -> None:
        await self.engine.fetchval("DELETE FROM jobs WHERE id = $1", job_id)

    async def retry_job(self, job_id: int, run_after: datetime, error: str) -> None:
        await self.engine.fetchval(
            "UPDATE jobs SET run_after = $1, lease_until = NULL, last_error = $2 WHERE id = $3",
            run_after, error, job_id,
        )

    async def count_jobs(self) -> int:
        return int(await self.engine.fetchval("SELECT COUNT(*) FROM jobs"))

    async def next_job_at(self) -> datetime | None:
        """When the earliest job becomes due (None: no jobs)."""
        value: datetime | None = await self.engine.fetchval("SELECT MIN(run_after) FROM jobs")
        return value
