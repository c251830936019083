"""Hits: exact per-day totals, capped per-path rows, all flushed with additive upserts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from linkbridge.model import Hit, HitBatch, HitDay, RuleKind
from linkbridge.store.sqlite.engine import SqliteEngine

_ADD_DAY = (
    "INSERT INTO hit_days (day, status, rule, hits, other_paths, ignored) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (day, status, rule) DO UPDATE SET hits = hits + excluded.hits,"
    " other_paths = other_paths + excluded.other_paths, ignored = ignored + excluded.ignored"
)
_ADD_OTHER = (
    "INSERT INTO hit_days (day, status, rule, other_paths) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, status, rule) DO UPDATE SET"
    " other_paths = other_paths + excluded.other_paths"
)
_ADD_PATH = (
    "INSERT INTO hits (day, path, status, rule, count) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (day, path, status, rule) DO UPDATE SET count = count + excluded.count"
)


def _flush(
    conn: sqlite3.Connection, batch: HitBatch, paths_per_day_max: int | None,
    keep_paths_from_day: str | None,
) -> int:
    """One flush inside the caller's transaction; returns hits moved to "other paths"."""
    conn.executemany(
        _ADD_DAY,
        [(d.day, d.status, d.rule.value, d.hits, d.other_paths, d.ignored) for d in batch.days],
    )
    moved = 0
    rows_of_day: dict[str, int] = {}
    # Busiest first, so that within one flush the most-hit paths get the free rows.
    for h in sorted(batch.paths, key=lambda h: -h.count):
        key = (h.day, h.path, h.status, h.rule.value)
        if conn.execute(
            "UPDATE hits SET count = count + ? WHERE day = ? AND path = ? AND status = ?"
            " AND rule = ?", (h.count, *key)
        ).rowcount:
            continue
        if paths_per_day_max is None:
            conn.execute(_ADD_PATH, (*key, h.count))
            continue
        if h.day not in rows_of_day:
            rows_of_day[h.day] = conn.execute(
                "SELECT COUNT(*) FROM hits WHERE day = ?", (h.day,)
            ).fetchone()[0]
        if rows_of_day[h.day] < paths_per_day_max:
            conn.execute(_ADD_PATH, (*key, h.count))
            rows_of_day[h.day] += 1
            continue
        # Space-saving: a path busier than the day's least-hit row takes its place; the count
        # it displaces goes to "other paths", so the day's sum stays exact.
        low = conn.execute(
            "SELECT path, status, rule, count FROM hits WHERE day = ? ORDER BY count, path DESC"
            " LIMIT 1", (h.day,)
        ).fetchone()
        if low is not None and low["count"] < h.count:
            conn.execute(
                "DELETE FROM hits WHERE day = ? AND path = ? AND status = ? AND rule = ?",
                (h.day, low["path"], low["status"], low["rule"]),
            )
            conn.execute(_ADD_OTHER, (h.day, low["status"], low["rule"], low["count"]))
            conn.execute(_ADD_PATH, (*key, h.count))
            moved += low["count"]
        else:
            conn.execute(_ADD_OTHER, (h.day, h.status, h.rule.value, h.count))
            moved += h.count
    if keep_paths_from_day is not None:
        conn.execute("DELETE FROM hits WHERE day < ?", (keep_paths_from_day,))
    return moved


class HitRows:
    """Store methods for hits (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def add_hits(
        self,
        batch: HitBatch,
        *,
        paths_per_day_max: int | None = None,
        keep_paths_from_day: str | None = None,
    ) -> int:
        if not batch and keep_paths_from_day is None:
            return 0
        return await self.engine.write(
            lambda conn: _flush(conn, batch, paths_per_day_max, keep_paths_from_day)
        )

    async def top_hits(self, *, limit: int, exclude_rules: Iterable[str] = ()) -> list[Hit]:
        excluded = list(exclude_rules)
        where = f"WHERE rule NOT IN ({', '.join('?' for _ in excluded)})" if excluded else ""

        def q(conn: sqlite3.Connection) -> list[Hit]:
            rows = conn.execute(
                f"SELECT MAX(day) AS day, path, status, rule, SUM(count) AS total FROM hits"
                f" {where} GROUP BY path, status, rule ORDER BY total DESC, path LIMIT ?",
                (*excluded, limit),
            )
            return [
                Hit(r["day"], r["path"], r["status"], RuleKind(r["rule"]), r["total"])
                for r in rows
            ]

        return await self.engine.read(q)

    async def hit_days(self, *, since_day: str = "") -> list[HitDay]:
        def q(conn: sqlite3.Connection) -> list[HitDay]:
            rows = conn.execute(
                "SELECT day, status, rule, hits, other_paths, ignored FROM hit_days"
                " WHERE day >= ? ORDER BY day, status, rule", (since_day,)
            )
            return [
                HitDay(r["day"], r["status"], RuleKind(r["rule"]), r["hits"], r["other_paths"],
                       r["ignored"])
                for r in rows
            ]

        return await self.engine.read(q)

    async def path_days(self, paths: Sequence[str], *, since_day: str = "") -> list[Hit]:
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return []
        marks = ", ".join("?" for _ in wanted)

        def q(conn: sqlite3.Connection) -> list[Hit]:
            rows = conn.execute(
                f"SELECT day, path, status, rule, count FROM hits WHERE path IN ({marks})"
                " AND day >= ? ORDER BY path, day, status, rule", (*wanted, since_day),
            )
            return [Hit(r["day"], r["path"], r["status"], RuleKind(r["rule"]), r["count"])
                    for r in rows]

        return await self.engine.read(q)

    async def prefix_hits(self, prefixes: Sequence[str], *, since_day: str = "") -> dict[str, int]:
        def q(conn: sqlite3.Connection) -> dict[str, int]:
            # substr() rather than LIKE: a path's "%" or "_" is no wildcard.
            return {
                prefix: conn.execute(
                    "SELECT COALESCE(SUM(count), 0) FROM hits"
                    " WHERE substr(path, 1, length(?)) = ? AND day >= ?",
                    (prefix, prefix, since_day),
                ).fetchone()[0]
                for prefix in prefixes
            }

        return await self.engine.read(q)
