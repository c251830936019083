"""`linkbridge backup` while `serve` runs, and `restore` into a fresh directory that then serves
the same answers."""

from __future__ import annotations

import http.client
import sqlite3
from pathlib import Path

import pytest

from tests.support import EXAMPLE_WXR, SEED_POST
from tests.support.serve import Served, config_args, run_cli, store_overlay

pytestmark = pytest.mark.slow
AFTER = "2026-01-01T12:00:00+01:00"
OLD_PATH = "/innovation/2013/10/en-gammal-sida/"
FEED = SEED_POST.removeprefix("http://www.naringsbloggen.se") + "feed/"


def answer(base: str, path: str) -> tuple[int, str, str]:
    """Status, Location and body of a GET (redirects are not followed)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.headers.get("Location", ""), resp.read().decode()
    finally:
        conn.close()


def test_backup_of_a_running_store_restores_into_a_fresh_directory(tmp_path: Path) -> None:
    live_dir, fresh_dir = tmp_path / "live", tmp_path / "fresh"
    live_dir.mkdir()
    fresh_dir.mkdir()
    live = config_args(store_overlay(live_dir))
    fresh = config_args(store_overlay(fresh_dir, create=False))
    # a preview instance (`--at` after the instant) imports nothing itself: import first
    imported = run_cli("import", "wxr", *live, str(EXAMPLE_WXR))
    assert imported.returncode == 0, imported.stderr
    mapped = run_cli("redirects", "map", *live, OLD_PATH, "https://www.regeringen.se/")
    assert mapped.returncode == 0, mapped.stderr

    server = Served(*live, "--at", AFTER)
    try:
        server.wait_started()
        before = [answer(server.base, p) for p in (OLD_PATH, FEED, "/innovation/om/")]
        copy = tmp_path / "backups" / "linkbridge-1.db"
        done = run_cli("backup", *live, str(copy))  # while the server runs
        assert done.returncode == 0, done.stderr
        assert "backup written" in done.stdout
    finally:
        assert server.stop() == 0

    restored = run_cli("restore", *fresh, str(copy))
    assert restored.returncode == 0, restored.stderr
    server = Served(*fresh, "--at", AFTER)
    try:
        server.wait_started()
        after = [answer(server.base, p) for p in (OLD_PATH, FEED, "/innovation/om/")]
    finally:
        assert server.stop() == 0
    assert after == before
    assert before[0][:2] == (301, "https://www.regeringen.se/")
    assert "Logistikfokus" in before[1][2]


def test_backup_refuses_to_overwrite_and_restore_refuses_an_existing_store(
    tmp_path: Path,
) -> None:
    cfg = config_args(store_overlay(tmp_path))
    assert run_cli("redirects", "map", *cfg, OLD_PATH, "https://www.regeringen.se/").returncode == 0
    copy = tmp_path / "copy.db"
    assert run_cli("backup", *cfg, str(copy)).returncode == 0
    again = run_cli("backup", *cfg, str(copy))
    assert again.returncode == 1
    assert again.stderr.strip().endswith("exists already: choose a new file name")
    assert len(again.stderr.strip().splitlines()) == 1

    refused = run_cli("restore", *cfg, str(copy))
    assert refused.returncode == 1
    assert "--replace" in refused.stderr
    assert run_cli("restore", *cfg, "--replace", str(copy)).returncode == 0


def test_restore_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    cfg = config_args(store_overlay(tmp_path / "s", create=False))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    done = run_cli("restore", *cfg, str(junk))
    assert done.returncode == 1
    assert "is not a linkbridge store" in done.stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    done = run_cli("restore", *cfg, str(other))
    assert "no schema_migrations" in done.stderr
    assert not (tmp_path / "s" / "linkbridge.db").exists()


def test_migrate_check_lists_what_serve_would_apply(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    store_file = tmp_path / "linkbridge.db"
    assert run_cli("redirects", "map", *cfg, OLD_PATH, "https://www.regeringen.se/").returncode == 0
    current = run_cli("migrate", "--check", *cfg)
    assert current.returncode == 0, current.stderr
    assert "up to date" in current.stdout
    with sqlite3.connect(store_file) as conn:  # as if made by an older version
        last = conn.execute("SELECT MAX(number) FROM schema_migrations").fetchone()[0]
        conn.execute("DELETE FROM schema_migrations WHERE number = ?", (last,))
    behind = run_cli("migrate", "--check", *cfg)
    assert behind.returncode == 1
    assert f"{last:04d}_" in behind.stdout
    assert "1 migration(s)" in behind.stdout
