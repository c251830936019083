"""Small things of the command line, run as real subprocesses against real stores."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState
from linkbridge.store.sqlite import SqliteStore
from tests.support import ROOT
from tests.support.serve import config_args, run_cli, store_overlay

NOW = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)


def test_redirects_check_never_prints_none_and_fails_for_400_or_foreign(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    feed = run_cli("redirects", "check", *cfg, "http://www.naringsbloggen.se/feed/")
    assert feed.returncode == 0, feed.stderr
    assert "None" not in feed.stdout
    for url in ("http://evil.example/a/", "http://www.naringsbloggen.se/%ff/"):
        done = run_cli("redirects", "check", *cfg, url)
        assert done.returncode == 1, (url, done.stdout)
        assert "None" not in done.stdout


async def test_moderate_list_says_how_many_more_and_how_to_page(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    store = SqliteStore(tmp_path / "linkbridge.db")
    await store.open()
    try:
        for n in range(7):
            draft = LinkbackDraft(
                blog="/innovation/", post_id=2187, source_url=f"http://a.example/{n}/",
                source_canonical=f"a.example/{n}", source_host="a.example",
                protocol=LinkbackProtocol.PINGBACK, title=f"Inlägg {n}", state=LinkbackState.HELD,
            )
            await store.record_linkback(draft, NOW, resend_is_duplicate=True)
    finally:
        await store.close()
    first = run_cli("moderate", "list", *cfg, "--state", "held", "--limit", "5")
    assert first.stdout.splitlines()[-1] == (
        "rows 1-5 of 7; 2 more: linkbridge moderate list --state held --offset 5 --limit 5"
    )
    rest = run_cli("moderate", "list", *cfg, "--state", "held", "--limit", "5", "--offset", "5")
    assert len(rest.stdout.splitlines()) == 2  # the last two, no hint


def test_json_survives_a_closed_pipe(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    many = tmp_path / "many.csv"
    many.write_text("".join(f"/p{i}/,web\n" for i in range(3000)), encoding="utf-8")
    assert run_cli("redirects", "import", *cfg, "--by", "t", str(many)).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkbridge", "redirects", "history", "--json", "--limit", "3000",
         *cfg],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
