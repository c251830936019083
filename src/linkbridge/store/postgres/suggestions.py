"""Mapping suggestions: the successor site's pages (a cache) and one suggestion per old post
(PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import MappingSuggestion, SuccessorPage
from linkbridge.store.postgres.engine import Conn, PostgresEngine
from linkbridge.store.sqlite.suggestions import ranked_json, suggestion_of


class SuggestionRows:
    """Store methods for mapping suggestions (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def put_successor_pages(self, pages: Sequence[SuccessorPage], now: datetime) -> None:
        async def tx(conn: Conn) -> None:
            await conn.executemany(
                "INSERT INTO successor_pages (url, title, text, lastmod, fetched_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (url) DO UPDATE SET"
                " title = excluded.title, text = excluded.text, lastmod = excluded.lastmod,"
                " fetched_at = excluded.fetched_at",
                [(p.url, p.title, p.text, p.lastmod, now) for p in pages],
            )

        await self.engine.tx(tx)

    async def successor_pages(self) -> list[SuccessorPage]:
        async def q(conn: Conn) -> list[SuccessorPage]:
            rows = await conn.fetch("SELECT * FROM successor_pages ORDER BY url")
            return [SuccessorPage(r["url"], r["title"], r["text"], r["lastmod"]) for r in rows]

        return await self.engine.read(q)

    async def put_suggestions(
        self, suggestions: Sequence[MappingSuggestion], now: datetime
    ) -> None:
        async def tx(conn: Conn) -> None:
            await conn.executemany(
                "INSERT INTO suggestions (path, target, score, reason, ranked, title, state,"
                " priority, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)"
                " ON CONFLICT (path) DO UPDATE SET target = excluded.target,"
                " score = excluded.score, reason = excluded.reason, ranked = excluded.ranked,"
                " title = excluded.title, priority = excluded.priority,"
                " updated_at = excluded.updated_at WHERE suggestions.state = 'open'",
                [(s.path, s.url, s.score, s.reason, ranked_json(s), s.title, s.priority, now)
                 for s in suggestions],
            )

        await self.engine.tx(tx)

    async def list_suggestions(
        self, *, state: str = "open", limit: int = 100, offset: int = 0
    ) -> list[MappingSuggestion]:
        async def q(conn: Conn) -> list[MappingSuggestion]:
            rows = await conn.fetch(
                "SELECT * FROM suggestions WHERE state = $1 ORDER BY priority DESC,"
                " target IS NULL, score DESC, path LIMIT $2 OFFSET $3", state, limit, offset,
            )
            return [suggestion_of(r) for r in rows]

        return await self.engine.read(q)

    async def set_suggestion_state(
        self, path: str, state: str, now: datetime
    ) -> MappingSuggestion | None:
        async def tx(conn: Conn) -> MappingSuggestion | None:
            row = await conn.fetchrow(
                "UPDATE suggestions SET state = $1, updated_at = $2 WHERE path = $3 RETURNING *",
                state, now, path,
            )
            return None if row is None else suggestion_of(row)

        return await self.engine.tx(tx)
