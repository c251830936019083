"""One parametrised fixture: every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from linkbridge.store import Store, open_store
from linkbridge.store.postgres.engine import migrations as pg_migrations
from linkbridge.store.sqlite.engine import migrations as sqlite_migrations
from tests.support.pg import fresh_schema


@dataclass(frozen=True)
class Backend:
    """A store URL plus a second, plain connection's view of the same data."""

    name: str
    url: str

    def make(self) -> Store:
        """Another Store on the same data (not yet opened): a second process or instance."""
        return open_store(self.url)

    def migrations(self) -> list[tuple[int, str]]:
        return sqlite_migrations() if self.name == "sqlite" else pg_migrations()

    async def peek(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Run `sql` (with ? marks) on a separate connection: what another process sees."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.url.removeprefix("sqlite://"))
            try:
                return list(conn.execute(sql, params))
            finally:
                conn.close()
        numbered = iter(range(1, 100))
        pg_sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
        pg = await asyncpg.connect(self.url)
        try:
            return [tuple(r) for r in await pg.fetch(pg_sql, *params)]
        finally:
            await pg.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite://{tmp_path}/sub/linkbridge.db")
        return
    async with fresh_schema() as url:
        yield Backend("postgres", url)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    s = backend.make()
    await s.open()
    yield s
    await s.close()
