"""PostgreSQL for tests: one schema per test in the run's database, dropped afterwards.

The database comes from LINKBRIDGE_TEST_POSTGRES_URL (`.ci/run` creates a fresh one per run);
without it, the local server's `postgres` database on 127.0.0.1:5432. Each test gets its own
schema through the URL's `search_path`, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg

from tests.support import require

PG_URL_ENV = "LINKBRIDGE_TEST_POSTGRES_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_ENABLE = (
    "needs PostgreSQL: start it (pg_ctlcluster 15 main start; trust auth for user postgres on"
    f" 127.0.0.1:5432) or point {PG_URL_ENV} at a database you may create schemas in"
)


def server_url() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def with_schema(url: str, schema: str) -> str:
    """`url` whose connections use `schema` (asyncpg passes unknown query keys as settings)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}search_path={quote(schema)}"


async def _connect_or_skip(url: str) -> asyncpg.Connection[asyncpg.Record]:
    try:
        return await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        require(False, f"{HOW_TO_ENABLE} ({url}: {exc})")
        raise  # not reached: require skips or fails


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A store URL on an empty schema of its own; the schema is dropped on the way out."""
    url = server_url()
    admin = await _connect_or_skip(url)
    schema = f"lb_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield with_schema(url, schema)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
