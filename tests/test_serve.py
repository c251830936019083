"""`linkbridge serve` and `check-config` as real subprocesses: probes, signals, --at, overlays."""

from __future__ import annotations

import json
import signal
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support.serve import Served, config_args, free_port, run_cli, store_overlay

BEFORE_AT = "2017-12-01T12:00:00+01:00"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A started server on the example config with its store in tmp_path."""
    server = Served(*config_args(store_overlay(tmp_path)), "--at", BEFORE_AT)
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()  # a no-op wait when the test stopped it already


def test_probes_answer_and_sigterm_stops_cleanly(served: Served) -> None:
    status, health = served.get_json("/healthz")
    assert (status, health["status"]) == (200, "ok")
    status, ready = served.get_json("/readyz")
    assert status == 200
    assert ready["status"] == "ok"
    assert ready["store"]
    assert ready["registry"]
    assert ready["phase"] == "before"
    assert ready["shutdown_at"] == "2018-02-01T00:00:00+01:00"
    assert ready["posts"] >= 2  # the shipped WXR: the seed post and "Om bloggen"

    assert served.stop(signal.SIGTERM) == 0
    events = [e["event"] for e in served.events()]
    assert "server_stopped" in events
    assert events.index("server_stopping") < events.index("server_stopped")
    requests = [e for e in served.events() if e["event"] == "request_finished"]
    assert {e["path"] for e in requests} >= {"/healthz", "/readyz"}
    assert all(e["request_id"] and e["client_ip"] == "127.0.0.1" for e in requests)


def test_sigint_stops_cleanly(served: Served) -> None:
    assert served.get_json("/healthz")[0] == 200
    assert served.stop(signal.SIGINT) == 0
    assert "server_stopped" in [e["event"] for e in served.events()]


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        # a few minutes before: the clock runs on from --at while the server starts
        ("2018-01-31T23:55:00+01:00", "before"),
        ("2018-02-01T00:00:00+01:00", "after"),
        ("2018-01-31T23:00:00Z", "after"),  # the same instant in UTC, then an hour on
    ],
)
def test_at_puts_the_clock_either_side_of_the_instant(tmp_path: Path, at: str, phase: str) -> None:
    server = Served(*config_args(store_overlay(tmp_path)), "--at", at)
    try:
        server.wait_started()
        status, ready = server.get_json("/readyz")
        assert (status, ready["phase"]) == (200, phase)
    finally:
        assert server.stop() == 0


def test_overlay_overrides_one_key_and_the_rest_stays(tmp_path: Path) -> None:
    port = free_port()
    overlay = store_overlay(tmp_path, f'[server]\nport = {port}\n[site]\ntitle = "Provbloggen"\n')
    server = Served(*config_args(overlay), "--at", BEFORE_AT, port=port, port_flag=False)
    try:
        server.wait_started()
        status, ready = server.get_json("/readyz")  # listening on the overlay's port
        assert (status, ready["phase"]) == (200, "before")
        status, feed = server.get_text("/feed/")
        assert status == 200
        channel_title = feed.split("<title>", 1)[1].split("</title>", 1)[0]
        assert channel_title == "Provbloggen"
        # everything else still comes from the example
        with EXAMPLE.open("rb") as fh:
            example = tomllib.load(fh)
        status, notice = server.get_json("/notice.json")
        assert status == 200
        assert example["notice"]["sv"] in json.dumps(notice, ensure_ascii=False)
        assert ready["shutdown_at"] == "2018-02-01T00:00:00+01:00"
    finally:
        assert server.stop() == 0


BAD_CONFIGS = {
    "unknown_key": ("[server]\nbogus = 1\n", "server.bogus"),
    "wrong_type": ('[server]\nport = "åttio"\n', "server.port"),
    "naive_datetime": ("[site]\nshutdown_at = 2018-02-01T00:00:00\n", "site.shutdown_at"),
    "bad_url": ('[site]\npublic_base_url = "ftp://naringsbloggen.se/"\n', "site.public_base_url"),
}


@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_bad_config_stops_start_up_with_one_line(tmp_path: Path, kind: str) -> None:
    text, key = BAD_CONFIGS[kind]
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[store]\nurl = "sqlite:{tmp_path}/linkbridge.db"\n{text}', encoding="utf-8")
    done = run_cli("serve", *config_args(bad), "--port", str(free_port()))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"in {bad}: ")
    assert key in lines[0]
    assert not (tmp_path / "linkbridge.db").exists()  # nothing started


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    done = run_cli("serve", "--config", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"config file not found: {tmp_path}/nope.toml"]


def test_check_config_prints_ok_or_the_error_without_starting(tmp_path: Path) -> None:
    ok = run_cli("check-config", str(EXAMPLE), str(store_overlay(tmp_path, create=False)))
    assert ok.returncode == 0, ok.stderr
    assert "config OK" in ok.stdout
    assert "2018-02-01T00:00:00+01:00" in ok.stdout
    assert not (tmp_path / "linkbridge.db").exists()

    broken = tmp_path / "broken.toml"
    broken.write_text("[moderation]\nhold_first_tme = true\n", encoding="utf-8")
    bad = run_cli("check-config", str(EXAMPLE), str(broken))
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        f"in {broken}: unknown key moderation.hold_first_tme "
        "(did you mean moderation.hold_first_time?)"
    ]


def test_imported_pingback_is_in_the_store_after_start(tmp_path: Path) -> None:
    overlay = store_overlay(tmp_path)
    server = Served(*config_args(overlay), "--at", BEFORE_AT)
    try:
        server.wait_started()
        listed = run_cli("moderate", "list", "--json", *config_args(overlay))
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        logistikfokus = [r for r in rows if "logistikfokus.se" in r["source_url"]]
        assert len(logistikfokus) == 1
        row = logistikfokus[0]
        assert (row["state"], row["protocol"]) == ("approved", "pingback")
        assert row["blog"] == "/innovation/"
        assert row["title"].startswith("Omvärldsspaning oktober 2013")
        # the server keeps answering while another process shares the store
        req = urllib.request.Request(server.base + "/readyz")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
    finally:
        assert server.stop() == 0
