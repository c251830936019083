"""Hits (PostgreSQL): exact per-day totals, capped per-path rows, additive upserts.

Instances flush into the same rows: every count is added by an upsert, never set. The
per-day row cap is counted under a transaction advisory lock per day, so two flushes of the
same day cannot both take the last free row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from linkbridge.model import Hit, HitBatch, HitDay, RuleKind
from linkbridge.store.postgres.engine import Conn, PostgresEngine

_ADD_DAY = (
    "INSERT INTO hit_days (day, status, rule, hits, other_paths, ignored)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (day, status, rule) DO UPDATE SET"
    " hits = hit_days.hits + excluded.hits,"
    " other_paths = hit_days.other_paths + excluded.other_paths,"
    " ignored = hit_days.ignored + excluded.ignored"
)
_ADD_OTHER = (
    "INSERT INTO hit_days (day, status, rule, other_paths) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (day, status, rule) DO UPDATE SET"
    " other_paths = hit_days.other_paths + excluded.other_paths"
)
_ADD_PATH = (
    "INSERT INTO hits (day, path, status, rule, count) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (day, path, status, rule) DO UPDATE SET count = hits.count + excluded.count"
)


async def _flush(
    conn: Conn, batch: HitBatch, paths_per_day_max: int | None, keep_paths_from_day: str | None
) -> int:
    """One flush inside the caller's transaction; returns hits moved to "other paths"."""
    days = sorted({d.day for d in batch.days} | {h.day for h in batch.paths})
    for day in days:  # one order for every flusher: no deadlock between instances
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('hits:' || $1))", day)
    await conn.executemany(
        _ADD_DAY,
        sorted((d.day, d.status, d.rule.value, d.hits, d.other_paths, d.ignored)
               for d in batch.days),
    )
    moved = 0
    rows_of_day: dict[str, int] = {}
    # Busiest first, so that within one flush the most-hit paths get the free rows.
    for h in sorted(batch.paths, key=lambda h: -h.count):
        key = (h.day, h.path, h.status, h.rule.value)
        added = await conn.fetchval(
            "UPDATE hits SET count = count + $1 WHERE day = $2 AND path = $3 AND status = $4"
            " AND rule = $5 RETURNING 1", h.count, *key,
        )
        if added:
            continue
        if paths_per_day_max is None:
            await conn.execute(_ADD_PATH, *key, h.count)
            continue
        if h.day not in rows_of_day:
            rows_of_day[h.day] = int(
                await conn.fetchval("SELECT COUNT(*) FROM hits WHERE day = $1", h.day)
            )
        if rows_of_day[h.day] < paths_per_day_max:
            await conn.execute(_ADD_PATH, *key, h.count)
            rows_of_day[h.day] += 1
            continue
        # Space-saving: a path busier than the day's least-hit row takes its place; the count
        # it displaces goes to "other paths", so the day's sum stays exact.
        low = await conn.fetchrow(
            "SELECT path, status, rule, count FROM hits WHERE day = $1"
            " ORDER BY count, path COLLATE \"C\" DESC LIMIT 1", h.day,
        )
        if low is not None and low["count"] < h.count:
            await conn.execute(
                "DELETE FROM hits WHERE day = $1 AND path = $2 AND status = $3 AND rule = $4",
                h.day, low["path"], low["status"], low["rule"],
            )
            await conn.execute(_ADD_OTHER, h.day, low["status"], low["rule"], low["count"])
            await conn.execute(_ADD_PATH, *key, h.count)
            moved += low["count"]
        else:
            await conn.execute(_ADD_OTHER, h.day, h.status, h.rule.value, h.count)
            moved += h.count
    if keep_paths_from_day is not None:
        await conn.execute("DELETE FROM hits WHERE day < $1", keep_paths_from_day)
    return moved


class HitRows:
    """Store methods for hits (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def add_hits(
        self,
        batch: HitBatch,
        *,
        paths_per_day_max: int | None = None,
        keep_paths_from_day: str | None = None,
    ) -> int:
        if not batch and keep_paths_from_day is None:
            return 0
        return await self.engine.tx(
            lambda conn: _flush(conn, batch, paths_per_day_max, keep_paths_from_day)
        )

    async def top_hits(self, *, limit: int, exclude_rules: Iterable[str] = ()) -> list[Hit]:
        excluded = list(exclude_rules)

        async def q(conn: Conn) -> list[Hit]:
            rows = await conn.fetch(
                "SELECT MAX(day) AS day, path, status, rule, SUM(count) AS total FROM hits"
                " WHERE NOT (rule = ANY($1::text[])) GROUP BY path, status, rule"
                " ORDER BY total DESC, path COLLATE \"C\" LIMIT $2",
                excluded, limit,
            )
            return [Hit(r["day"], r["path"], r["status"], RuleKind(r["rule"]), int(r["total"]))
                    for r in rows]

        return await self.engine.read(q)

    async def hit_days(self, *, since_day: str = "") -> list[HitDay]:
        async def q(conn: Conn) -> list[HitDay]:
            rows = await conn.fetch(
                "SELECT day, status, rule, hits, other_paths, ignored FROM hit_days"
                " WHERE day >= $1 ORDER BY day COLLATE \"C\", status, rule COLLATE \"C\"",
                since_day,
            )
            return [HitDay(r["day"], r["status"], RuleKind(r["rule"]), int(r["hits"]),
                           int(r["other_paths"]), int(r["ignored"])) for r in rows]

        return await self.engine.read(q)

    async def path_days(self, paths: Sequence[str], *, since_day: str = "") -> list[Hit]:
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return []

        async def q(conn: Conn) -> list[Hit]:
            rows = await conn.fetch(
                "SELECT day, path, status, rule, count FROM hits WHERE path = ANY($1::text[])"
                " AND day >= $2 ORDER BY path COLLATE \"C\", day COLLATE \"C\", status,"
                " rule COLLATE \"C\"", wanted, since_day,
            )
            return [Hit(r["day"], r["path"], r["status"], RuleKind(r["rule"]), int(r["count"]))
                    for r in rows]

        return await self.engine.read(q)

    async def prefix_hits(self, prefixes: Sequence[str], *, since_day: str = "") -> dict[str, int]:
        async def q(conn: Conn) -> dict[str, int]:
            totals: dict[str, int] = {}
            for prefix in prefixes:  # left(): a path's "%" or "_" is no wildcard
                totals[prefix] = int(await conn.fetchval(
                    "SELECT COALESCE(SUM(count), 0) FROM hits"
                    " WHERE left(path, length($1)) = $1 AND day >= $2", prefix, since_day,
                ))
            return totals

        return await self.engine.read(q)
