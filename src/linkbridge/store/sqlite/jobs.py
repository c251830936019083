"""The durable job queue: claimed with a lease, retried with backoff, kept across restarts."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from linkbridge.model import Job
from linkbridge.store.rows import row_to_job
from linkbridge.store.sqlite.engine import SqliteEngine, dt, ts
from linkbridge.store.sqlite.linkbacks import _enqueue

_CLAIM = """
SELECT * FROM jobs AS j
WHERE j.run_after <= :now AND (j.lease_until IS NULL OR j.lease_until <= :now)
  AND (:per_host <= 0 OR j.source_host = '' OR (
        SELECT COUNT(*) FROM jobs AS l
        WHERE l.source_host = j.source_host AND l.lease_until > :now) < :per_host)
  AND (:per_sender <= 0 OR j.sender = '' OR (
        SELECT COUNT(*) FROM jobs AS l
        WHERE l.sender = j.sender AND l.lease_until > :now) < :per_sender)
ORDER BY j.attempts > 0, j.run_after, j.id
LIMIT 1
"""
"""The first due, unleased job whose host and sender are under their share of leased jobs;
fresh jobs (never claimed) before retries, then by due time."""


class JobRows:
    """Store methods for jobs (mixed into SqliteStore)."""

    engine: SqliteEngine

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
        return await self.engine.write(
            lambda conn: _enqueue(
                conn, kind, payload, run_after, dedupe_key, run_after,
                source_host=source_host, sender=sender,
            )
        )

    async def claim_job(
        self, now: datetime, lease_s: float, *, max_per_host: int = 0, max_per_sender: int = 0
    ) -> Job | None:
        params = {"now": ts(now), "per_host": max_per_host, "per_sender": max_per_sender}
        # Looked for on the reader first: an idle queue never takes the write lock.
        if await self.engine.read(lambda conn: conn.execute(_CLAIM, params).fetchone()) is None:
            return None

        def tx(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(_CLAIM, params).fetchone()
            if row is None:
                return None
            lease = now + timedelta(seconds=lease_s)
            conn.execute(
                "UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                (ts(lease), row["id"]),
            )
            return replace(row_to_job(row), attempts=row["attempts"] + 1, lease_until=lease)

        return await self.engine.write(tx)

    async def complete_job(self, job_id: int) -> None:
        await self.engine.write(lambda conn: conn.execute("DELETE FROM jobs WHERE id = ?",
                                                          (job_id,)))

    async def retry_job(self, job_id: int, run_after: datetime, error: str) -> None:
        await self.engine.write(
            lambda conn: conn.execute(
                "UPDATE jobs SET run_after = ?, lease_until = NULL, last_error = ? WHERE id = ?",
                (ts(run_after), error, job_id),
            )
        )

    async def count_jobs(self) -> int:
        return await self.engine.read(
            lambda conn: int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
        )

    async def oldest_job_at(self) -> datetime | None:
        return await self.engine.read(
            lambda conn: dt(conn.execute("SELECT MIN(created_at) FROM jobs").fetchone()[0])
        )
