"""Running wrk pinned to its own core and reading its report (req/s, latency, bad answers)."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_CPU = "1"
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors:\s*(.+)")
_TOTAL = re.compile(r"(\d+) requests in ")
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


class WrkFailed(RuntimeError):
    """wrk did not finish, or the server answered with something other than 2xx/3xx."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    socket_errors: str
    """wrk's "Socket errors" line ("" when none)."""


def wrk_options(parser: argparse.ArgumentParser) -> None:
    """The options every wrk harness takes: --duration, --connections, --rounds, --quick."""
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50, help="wrk -c")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per scenario")
    parser.add_argument("--quick", action="store_true",
                        help="1 s, 1 round, 4 connections: proves the harness, measures nothing")


def quick_if_asked(args: argparse.Namespace) -> None:
    """--quick: 1 s, 1 round, 4 connections."""
    if args.quick:
        args.duration, args.rounds, args.connections = 1, 1, 4


def wrk_command(
    url: str,
    *,
    duration_s: int,
    connections: int,
    headers: tuple[str, ...] = (),
    script: Path | None = None,
) -> list[str]:
    """`taskset -c 1 wrk -t1 -cN -dNs --latency [-H ...] [-s script] URL`."""
    cmd = [
        "taskset",
        "-c",
        WRK_CPU,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--latency",
    ]
    for header in headers:
        cmd += ["-H", header]
    if script is not None:
        cmd += ["-s", str(script)]
    return [*cmd, url]


def run_wrk(cmd: list[str]) -> WrkResult:
    """Run one wrk command; raise WrkFailed on an error or a non-2xx/3xx answer."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=_timeout(cmd))
    if proc.returncode != 0:
        raise WrkFailed(f"wrk: exit {proc.returncode}: {proc.stderr.strip() or proc.stdout}")
    return parse_wrk(proc.stdout, shlex.join(cmd))


def _timeout(cmd: list[str]) -> float:
    spec = next(a for a in cmd if a.startswith("-d"))
    return float(spec[2:].rstrip("s")) + 60.0


def parse_wrk(out: str, where: str = "wrk") -> WrkResult:
    """Parse wrk's `--latency` report."""
    bad = _NON_2XX_3XX.search(out)
    if bad:
        raise WrkFailed(f"wrk: {bad.group(1)} non-2xx/3xx responses from {where}\n{out}")
    rps = _RPS.search(out)
    total = _TOTAL.search(out)
    percentiles = {p: float(v) * _TO_MS[unit] for p, v, unit in _PERCENTILE.findall(out)}
    if rps is None or total is None or set(percentiles) != {"50", "99"}:
        raise WrkFailed(f"wrk: unreadable report from {where}\n{out}")
    if int(total.group(1)) == 0:
        raise WrkFailed(f"wrk: no request completed against {where}\n{out}")
    errors = _SOCKET_ERRORS.search(out)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(total.group(1)),
        socket_errors=errors.group(1).strip() if errors else "",
    )


def path_mix_script(paths: list[str], where: Path) -> Path:
    """A wrk Lua script sending GETs for `paths` in turn."""
    quoted = ", ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    where.write_text(
        "-- wrk: GET each path in turn\n"
        f"local paths = {{{quoted}}}\n"
        "local requests = {}\n"
        "local n = 0\n"
        "init = function(args)\n"
        "  for i, p in ipairs(paths) do requests[i] = wrk.format('GET', p) end\n"
        "end\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  return requests[(n % #requests) + 1]\n"
        "end\n",
        encoding="utf-8",
    )
    return where


def wrk_version() -> str:
    """wrk's version line."""
    proc = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    lines = (proc.stdout or proc.stderr).splitlines()
    return lines[0].strip() if lines else "unknown"
