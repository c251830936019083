"""Run `linkbridge` as a real subprocess: the CLI, and `serve` with its JSON log lines."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support import ROOT, create_store

START_TIMEOUT_S = 60.0
"""A hang guard only: a healthy start takes well under a second."""


def free_port() -> int:
    """A port nobody listens on right now (bound and released on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def store_overlay(
    tmp_path: Path, extra: str = "", name: str = "overlay.toml", *, create: bool = True
) -> Path:
    """An overlay putting the store in tmp_path (created unless `create=False`), plus `extra`."""
    if create:
        create_store(tmp_path / "linkbridge.db")
    path = tmp_path / name
    path.write_text(
        f'[store]\nurl = "sqlite:{tmp_path}/linkbridge.db"\npoll_interval_s = 0.2\n{extra}',
        encoding="utf-8",
    )
    return path


def config_args(*overlays: Path) -> list[str]:
    """`--config EXAMPLE --config overlay …`."""
    out = ["--config", str(EXAMPLE)]
    for path in overlays:
        out += ["--config", str(path)]
    return out


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m linkbridge ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "linkbridge", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


class Served:
    """`linkbridge serve` in a subprocess; its stderr log lines are collected by a thread."""

    def __init__(
        self, *args: str, port: int | None = None, port_flag: bool = True,
        open_files: int | None = None,
    ) -> None:
        """`open_files` lowers the subprocess's RLIMIT_NOFILE (to keep load tests small)."""
        self.port = port if port is not None else free_port()
        cmd = [sys.executable, "-m", "linkbridge", "serve", *args]
        if port_flag:
            cmd += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        if open_files is not None:  # before it listens; Linux only, as the whole suite
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (open_files, open_files))
        self.lines: list[str] = []
        self._started = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if '"server_started"' in line:
                self._started.set()
        self._started.set()  # the process ended: stop waiting

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_started(self) -> None:
        """Block until the `server_started` log line (or the process ended)."""
        assert self._started.wait(START_TIMEOUT_S), "serve did not start"
        assert self.proc.poll() is None, f"serve exited early:\n{''.join(self.lines)}"

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines seen so far."""
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        """GET a JSON resource of the running server."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def get_text(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(self.base + path, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig`, wait for the exit code and the rest of the log."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        self.stop(signal.SIGKILL)
