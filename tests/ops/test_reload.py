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


def test_reload_grace_serves_old_connections_then_closes_them(tmp_path: Path) -> None:
    """server.reload_grace_s: a connection the old configuration accepted is still answered by
    it when its request comes within the grace after the old site stops accepting; once the
    grace is over the old instance closes it, and new connections meet the new configuration."""
    mapping = tmp_path / "mapping.toml"

    def write(target: str) -> None:
        mapping.write_text(f'[server]\nreload_grace_s = 5.0\n[[retire.mappings]]\nfrom = "{OLD}"\n'
                           f'to = "https://www.regeringen.se/{target}/"\n', encoding="utf-8")

    write("gammal")
    server = Served(*config_args(store_overlay(tmp_path), mapping), "--at", AFTER)

    def ask(conn: http.client.HTTPConnection) -> tuple[int, str]:
        conn.request("GET", OLD)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.headers.get("Location", "")

    within = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    past = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        server.wait_started()
        old = (301, "https://www.regeringen.se/gammal/")
        assert ask(within) == old  # both accepted (and kept alive) by the old configuration
        assert ask(past) == old
        write("ny")
        server.proc.send_signal(signal.SIGHUP)
        draining = wait_for_event(server, "config_reload_draining", 0)
        assert draining["grace_s"] == 5.0
        assert ask(within) == old  # inside the grace: the old configuration answers
        wait_for_event(server, "config_reloaded", 0)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            ask(past)  # past it: closed by the old instance, never answered
        assert location(server, OLD) == (301, "https://www.regeringen.se/ny/")
    finally:
        within.close()
        past.close()
        assert server.stop() == 0
