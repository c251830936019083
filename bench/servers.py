"""The servers under test as pinned subprocesses, started, probed and always stopped."""

from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

SERVER_CPU = "0"
START_TIMEOUT_S = 60.0
"""A hang guard: both servers start in about a second."""
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def linkbridge_executable() -> list[str]:
    """The virtualenv's `linkbridge` script, else `python -m linkbridge`."""
    script = Path(sys.executable).with_name("linkbridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linkbridge"]


class Server:
    """One server process pinned to core 0, its stderr in a log file."""

    def __init__(self, name: str, cmd: list[str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.cmd = ["taskset", "-c", SERVER_CPU, *cmd]
        self.log_path = log_path
        self._log: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> str:
        return f"{shlex.join(self.cmd)} 2>{shlex.quote(str(self.log_path))}"

    def start(self, ready_path: str) -> None:
        """Start, then wait until `ready_path` answers (any status below 500)."""
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.DEVNULL, stderr=self._log, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bench: {self.name} exited early:\n{self.log_tail()}")
            try:
                if get(self.port, ready_path)[0] < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"bench: {self.name} did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, a grace period, then SIGKILL; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (all its threads)."""
        if self.proc is None:
            return 0.0
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_lines(self, event: str) -> int:
        """How many JSON log lines name `event`."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return 0
        needles = (f'"event":"{event}"', f'"event": "{event}"')  # compact or spaced JSON
        return sum(1 for line in text.splitlines() if any(n in line for n in needles))


def get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One GET without following redirects: status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()
