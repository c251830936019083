"""Mapping suggestions: the successor site's pages (a cache) and one suggestion per old post."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from linkbridge.model import MappingSuggestion, SuccessorPage
from linkbridge.store.sqlite.engine import SqliteEngine, ts


def suggestion_of(row: Any) -> MappingSuggestion:
    """A stored row (either backend) as a MappingSuggestion."""
    return MappingSuggestion(
        path=row["path"], url=row["target"], score=float(row["score"]), reason=row["reason"],
        ranked=tuple((str(u), float(s)) for u, s in json.loads(row["ranked"])),
        state=row["state"], priority=int(row["priority"]), title=row["title"],
    )


def ranked_json(suggestion: MappingSuggestion) -> str:
    return json.dumps([list(pair) for pair in suggestion.ranked])


class SuggestionRows:
    """Store methods for mapping suggestions (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def put_successor_pages(self, pages: Sequence[SuccessorPage], now: datetime) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO successor_pages (url, title, text, lastmod, fetched_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET title = excluded.title,"
                " text = excluded.text, lastmod = excluded.lastmod,"
                " fetched_at = excluded.fetched_at",
                [(p.url, p.title, p.text, p.lastmod.isoformat() if p.lastmod else None, ts(now))
                 for p in pages],
            )

        await self.engine.write(tx)

    async def successor_pages(self) -> list[SuccessorPage]:
        def q(conn: sqlite3.Connection) -> list[SuccessorPage]:
            return [
                SuccessorPage(r["url"], r["title"], r["text"],
                              date.fromisoformat(r["lastmod"]) if r["lastmod"] else None)
                for r in conn.execute("SELECT * FROM successor_pages ORDER BY url")
            ]

        return await self.engine.read(q)

    async def put_suggestions(
        self, suggestions: Sequence[MappingSuggestion], now: datetime
    ) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO suggestions (path, target, score, reason, ranked, title, state,"
                " priority, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET target = excluded.target,"
                " score = excluded.score, reason = excluded.reason, ranked = excluded.ranked,"
                " title = excluded.title, priority = excluded.priority,"
                " updated_at = excluded.updated_at WHERE suggestions.state = 'open'",
                [(s.path, s.url, s.score, s.reason, ranked_json(s), s.title, s.priority, ts(now))
                 for s in suggestions],
            )

        await self.engine.write(tx)

    async def list_suggestions(
        self, *, state: str = "open", limit: int = 100, offset: int = 0
    ) -> list[MappingSuggestion]:
        def q(conn: sqlite3.Connection) -> list[MappingSuggestion]:
            rows = conn.execute(
                "SELECT * FROM suggestions WHERE state = ?"
                " ORDER BY priority DESC, target IS NULL, score DESC, path LIMIT ? OFFSET ?",
                (state, limit, offset),
            )
            return [suggestion_of(r) for r in rows]

        return await self.engine.read(q)

    async def set_suggestion_state(
        self, path: str, state: str, now: datetime
    ) -> MappingSuggestion | None:
        def tx(conn: sqlite3.Connection) -> MappingSuggestion | None:
            conn.execute("UPDATE suggestions SET state = ?, updated_at = ? WHERE path = ?",
                         (state, ts(now), path))
            row = conn.execute("SELECT * FROM suggestions WHERE path = ?", (path,)).fetchone()
            return None if row is None else suggestion_of(row)

        return await self.engine.write(tx)
