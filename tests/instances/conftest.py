"""Several `linkbridge serve` processes on one PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.pg import fresh_schema
from tests.support.serve import Served, config_args


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL store URL on a fresh schema (skips with a how-to when no server answers)."""
    async with fresh_schema() as url:
        yield url


class Fleet:
    """Starts servers sharing one store; stops whatever is still running at the end."""

    def __init__(self, tmp_path: Path, pg_url: str) -> None:
        self.tmp_path = tmp_path
        self.pg_url = pg_url
        self.servers: list[Served] = []

    def overlay(self, extra: str) -> Path:
        path = self.tmp_path / f"overlay-{len(self.servers)}.toml"
        path.write_text(
            f'[store]\nurl = "{self.pg_url}"\npoll_interval_s = 5.0\n{extra}', encoding="utf-8"
        )
        return path

    def start(self, extra: str = "", *, at: str, count: int = 2) -> list[Served]:
        started = []
        for _ in range(count):
            # --jobs: an instance at a shifted clock still acts on the store (flushes, jobs)
            server = Served(*config_args(self.overlay(extra)), "--at", at, "--jobs")
            self.servers.append(server)
            started.append(server)
        for server in started:
            server.wait_started()
        return started

    def stop_all(self) -> None:
        for server in self.servers:
            if server.proc.poll() is None:
                server.kill()


@pytest.fixture
def fleet(tmp_path: Path, pg_url: str) -> Iterator[Fleet]:
    f = Fleet(tmp_path, pg_url)
    yield f
    f.stop_all()
