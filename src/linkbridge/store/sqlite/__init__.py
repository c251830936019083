"""The embedded SQLite Store (WAL, one writer thread, numbered migrations)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from linkbridge.store.sqlite.admin import AdminRows
from linkbridge.store.sqlite.archive import ArchiveRows
from linkbridge.store.sqlite.dump import DumpRows
from linkbridge.store.sqlite.engine import SNAPSHOT_CONCERNS, SqliteEngine, bump_version
from linkbridge.store.sqlite.history import HistoryRows
from linkbridge.store.sqlite.hits import HitRows
from linkbridge.store.sqlite.jobs import JobRows
from linkbridge.store.sqlite.linkbacks import LinkbackRows
from linkbridge.store.sqlite.lists import ListRows
from linkbridge.store.sqlite.posts import PostRows
from linkbridge.store.sqlite.privacy import PrivacyRows
from linkbridge.store.sqlite.suggestions import SuggestionRows


class SqliteStore(
    LinkbackRows, PostRows, JobRows, ListRows, HitRows, AdminRows, HistoryRows, PrivacyRows,
    DumpRows,
    SuggestionRows,
    ArchiveRows,
):
    """Store on one SQLite file; several processes may share it (CLI beside the server)."""

    def __init__(
        self, path: Path, *, busy_timeout_ms: int = 5000, group_commit_max_writes: int = 256
    ) -> None:
        self.path = path
        self.engine = SqliteEngine(
            path, busy_timeout_ms=busy_timeout_ms, group_commit_max_writes=group_commit_max_writes
        )

    async def open(self) -> None:
        await self.engine.open()

    async def close(self) -> None:
        await self.engine.close()

    async def ping(self) -> bool:
        try:
            await self.engine.probe(lambda conn: conn.execute("SELECT 1").fetchone())
        except (sqlite3.Error, RuntimeError):
            return False
        return True

    async def version(self) -> int:
        def q(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])

        return await self.engine.read(q)

    async def bump_version(self) -> int:
        return await self.engine.write(bump_version)

    async def wait_for_change(self, timeout_s: float) -> None:
        # SQLite has no change signal across processes: the caller's poll is the signal.
        await asyncio.sleep(timeout_s)

    async def versions(self) -> dict[str, int]:
        def q(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(
                "SELECT key, value FROM meta WHERE key = 'version' OR key IN (?, ?, ?)",
                tuple(f"{c}_version" for c in SNAPSHOT_CONCERNS),
            )
            return {r[0].removesuffix("_version") or "version": int(r[1]) for r in rows}

        return await self.engine.read(q)

    async def feed_changes(self, since: int) -> tuple[int, dict[str, int]]:
        def q(conn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
            seq = conn.execute("SELECT value FROM meta WHERE key = 'feeds_version'").fetchone()
            changed = conn.execute(
                "SELECT scope, version FROM feed_versions WHERE version > ?", (since,)
            )
            return int(seq[0]), {r[0]: int(r[1]) for r in changed}

        return await self.engine.read(q)
