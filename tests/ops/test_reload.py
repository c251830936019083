"""SIGHUP reloads the configuration of a running `linkbridge serve`: a good file takes effect
without a refused connection, a bad one is refused with one log line and the old one keeps
serving; /readyz names the configuration's digest and load time."""

from __future__ import annotations

import http.client
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.support.serve import Served, config_args, store_overlay

pytestmark = pytest.mark.slow
AFTER = "2026-01-01T12:00:00+01:00"
OLD = "/innovation/2013/10/en-gammal-sida/"


def location(server: Served, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.headers.get("Location", "")
    finally:
        conn.close()


def wait_for_event(server: Served, event: str, seen: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [e for e in server.events() if e.get("event") == event]
        if len(found) > seen:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no {event} in the log")


def test_sighup_applies_a_good_config_and_refuses_a_bad_one(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("", encoding="utf-8")
    server = Served(*config_args(store_overlay(tmp_path), mapping), "--at", AFTER)
    failures: list[str] = []
    done = threading.Event()

    def hammer() -> None:  # readers keep coming while the configuration changes
        while not done.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("GET", "/healthz")
                if conn.getresponse().status != 200:
                    failures.append("status")
                conn.close()
            except OSError as exc:
                failures.append(repr(exc))

    try:
        server.wait_started()
        _, ready = server.get_json("/readyz")
        first = ready["config"]
        assert isinstance(first, dict)
        before = location(server, OLD)
        reader = threading.Thread(target=hammer)
        reader.start()

        mapping.write_text(
            f'[[retire.mappings]]\nfrom = "{OLD}"\nto = "https://www.regeringen.se/ny/"\n',
            encoding="utf-8",
        )
        server.proc.send_signal(signal.SIGHUP)
        reloaded = wait_for_event(server, "config_reloaded", 0)
        assert reloaded["previous"] == first["digest"]
        assert location(server, OLD) == (301, "https://www.regeringen.se/ny/")
        assert location(server, OLD) != before
        _, ready = server.get_json("/readyz")
        second = ready["config"]
        assert isinstance(second, dict)
        assert second["digest"] == reloaded["config"] != first["digest"]

        mapping.write_text("[[retire.mappings]\nthis is not TOML", encoding="utf-8")
        server.proc.send_signal(signal.SIGHUP)
        refused = wait_for_event(server, "config_reload_refused", 0)
        assert "not valid TOML" in str(refused["reason"])
        assert location(server, OLD) == (301, "https://www.regeringen.se/ny/")
        _, ready = server.get_json("/readyz")
        assert ready["config"] == second
        done.set()
        reader.join(timeout=30)
        assert failures == []
    finally:
        done.set()
        assert server.stop() == 0
