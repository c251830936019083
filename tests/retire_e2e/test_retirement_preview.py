"""`serve --at` at or after the instant is a preview: it answers, but never acts on the store."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from linkbridge.store.sqlite import SqliteStore
from tests.support.serve import Served, config_args, run_cli, store_overlay

AFTER_AT = "2018-03-01T12:00:00+01:00"
PAST = datetime(2017, 1, 1, tzinfo=UTC)


def hit(base: str, path: str) -> None:
    # A 301 to a host not reachable from here: only the counting matters.
    with contextlib.suppress(urllib.error.URLError):
        urllib.request.urlopen(base + path, timeout=30)


async def pending_jobs(db: Path, enqueue: bool = False) -> int:
    store = SqliteStore(db)
    await store.open()
    try:
        if enqueue:
            await store.enqueue_job("verify", {"linkback_id": 999999}, PAST)
        return await store.count_jobs()
    finally:
        await store.close()


def run_instance(cfg: list[str], *flags: str, lines: int) -> tuple[Served, str]:
    """Start, read the first `lines` human lines, send three retired-URL requests, stop."""
    server = Served(*cfg, "--at", AFTER_AT, *flags)
    server.wait_started()
    assert server.proc.stdout is not None
    out = "".join(server.proc.stdout.readline() for _ in range(lines))
    for _ in range(3):
        hit(server.base, "/innovation/om/")
    assert server.stop() == 0
    return server, out


def test_a_preview_instance_takes_no_jobs_and_flushes_no_hits(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path, "[retire]\nhit_flush_interval_s = 0.1\n"))
    db = tmp_path / "linkbridge.db"
    assert asyncio.run(pending_jobs(db, enqueue=True)) == 1

    server, out = run_instance(cfg, lines=2)
    assert "preview instance" in out
    assert "add --jobs to let it" in out
    assert [e for e in server.events() if e.get("event") == "preview_instance"]
    assert asyncio.run(pending_jobs(db)) == 1, "the preview left the job alone"
    hits = run_cli("hits", *cfg)
    assert hits.stdout.startswith("no hits"), hits.stdout
    assert "all days: 0 hits" in hits.stdout

    server, out = run_instance(cfg, "--jobs", lines=1)
    assert "preview instance" not in out
    assert asyncio.run(pending_jobs(db)) == 0, "with --jobs it works the queue"
    hits = run_cli("hits", *cfg)
    assert "/innovation/om" in hits.stdout


def test_before_the_instant_nothing_changes(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    server = Served(*cfg, "--at", "2017-12-01T12:00:00+01:00")
    server.wait_started()
    assert server.proc.stdout is not None
    out = server.proc.stdout.readline()
    assert server.stop() == 0
    assert "phase before" in out
    assert not [e for e in server.events() if e.get("event") == "preview_instance"]
