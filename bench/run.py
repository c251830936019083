"""Feed and redirect requests/s of linkbridge against a bare aiohttp handler, in one run.

    .venv/bin/python bench/run.py [--duration 5] [--connections 50] [--rounds 3] [--quick]

Servers run on core 0, wrk on core 1 (`taskset`). Each scenario alternates reference and
linkbridge runs for N rounds and reports medians, the ratio linkbridge / reference (median of the
rounds' ratios) and the servers' CPU time per request. Writes bench/results/latest.json and
prints every command it ran. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import aiohttp

from servers import Server, free_port, get, linkbridge_executable
from wrk import (
    WrkFailed,
    WrkResult,
    path_mix_script,
    quick_if_asked,
    run_wrk,
    wrk_command,
    wrk_options,
    wrk_version,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "naringsbloggen.toml"
RESULTS = ROOT / "bench" / "results" / "latest.json"
BEFORE = "2017-12-01T12:00:00+01:00"
AFTER = "2018-03-01T12:00:00+01:00"
SEED_POST = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
REF_ETAG = '"reference-etag"'
MIX = {  # path -> the rule linkbridge's example config answers it with
    "/innovation/om/": "exact",
    "/": "exact",
    SEED_POST: "prefix",
    "/transport/2012/05/ny-trafikplan/": "prefix",
    "/innovation/author/annie-loof/": "prefix",
    "/nagot/som/aldrig/fanns/": "default",
}
GOALS = {
    "feed_200": 0.65,
    "feed_304": 0.75,
    "feed_304_gzip": 0.75,
    "redirect": 0.75,
    "redirect_mix": 0.75,
}


@dataclass
class Side:
    """One server's runs of one scenario."""

    runs: list[WrkResult] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    """Server CPU time (user + system) per request of each run, in microseconds."""

    def median(self, pick: Callable[[WrkResult], float]) -> float:
        return statistics.median(pick(r) for r in self.runs) if self.runs else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "requests_per_s": round(self.median(lambda r: r.requests_per_s), 1),
            "p50_ms": round(self.median(lambda r: r.p50_ms), 3),
            "p99_ms": round(self.median(lambda r: r.p99_ms), 3),
            "cpu_us_per_request": round(statistics.median(self.cpu_us), 1) if self.cpu_us else 0.0,
            "rounds": [asdict(r) for r in self.runs],
        }


@dataclass
class Scenario:
    """A request shape sent to linkbridge and to the reference."""

    name: str
    what: str
    lb_path: str
    ref_path: str
    lb_headers: tuple[str, ...] = ()
    ref_headers: tuple[str, ...] = ()
    script: Path | None = None
    lb: Side = field(default_factory=Side)
    ref: Side = field(default_factory=Side)
    error: str = ""

    @property
    def ratio(self) -> float:
        """Median of the rounds' ratios: each pairs runs taken seconds apart, so load from
        elsewhere on the machine affects both sides of a pair alike."""
        pairs = zip(self.lb.runs, self.ref.runs, strict=False)
        ratios = [lb.requests_per_s / ref.requests_per_s for lb, ref in pairs if ref.requests_per_s]
        return statistics.median(ratios) if ratios else 0.0

    @property
    def cpu_ratio(self) -> float:
        """Median of the rounds' reference CPU per request / linkbridge CPU per request."""
        ratios = [ref / lb for lb, ref in zip(self.lb.cpu_us, self.ref.cpu_us, strict=False) if lb]
        return statistics.median(ratios) if ratios else 0.0

    @property
    def ratio_of_medians(self) -> float:
        ref = self.ref.median(lambda r: r.requests_per_s)
        return self.lb.median(lambda r: r.requests_per_s) / ref if ref else 0.0

    def result(self) -> dict[str, object]:
        goal = GOALS[self.name]
        return {
            "scenario": self.name,
            "what": self.what,
            "linkbridge": self.lb.summary(),
            "reference": self.ref.summary(),
            "ratio": round(self.ratio, 3),
            "ratio_of_medians": round(self.ratio_of_medians, 3),
            "cpu_ratio": round(self.cpu_ratio, 3),
            "goal": goal,
            "goal_met": not self.error and self.ratio >= goal,
            "error": self.error,
        }


class Bench:
    """Owns the temp dir, the servers and the list of commands run."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.commands: list[str] = []
        self.servers: list[Server] = []

    def start(self, server: Server, ready_path: str) -> Server:
        self.servers.append(server)
        self.commands.append(server.command)
        server.start(ready_path)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()

    def linkbridge(self, at: str) -> Server:
        overlay = self.tmp / "overlay.toml"
        overlay.write_text(
            f'[store]\nurl = "sqlite:///{self.tmp}/linkbridge.db"\n[server]\nlog_level = "info"\n',
            encoding="utf-8",
        )
        port = free_port()
        phase = "before" if at == BEFORE else "after"
        cmd = [
            *linkbridge_executable(),
            "serve",
            "--config",
            str(EXAMPLE_CONFIG),
            "--config",
            str(overlay),
            "--at",
            at,
            "--port",
            str(port),
        ]
        return self.start(
            Server(f"linkbridge ({phase})", cmd, port, self.tmp / f"linkbridge-{phase}.log"),
            "/healthz",
        )

    def reference(self, feed_body: Path, feed_type: str, redirects: Path) -> Server:
        port = free_port()
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "reference_server.py"),
            "--port",
            str(port),
            "--feed-body",
            str(feed_body),
            "--feed-type",
            feed_type,
            "--etag",
            REF_ETAG,
            "--redirects",
            str(redirects),
        ]
        return self.start(Server("reference", cmd, port, self.tmp / "reference.log"), "/feed/")

    def measure(self, scenario: Scenario, lb: Server, ref: Server) -> None:
        """Alternate reference and linkbridge runs; a bad answer fails the scenario."""
        a = self.args
        for _ in range(a.rounds):
            for side, server, path, headers in (
                (scenario.ref, ref, scenario.ref_path, scenario.ref_headers),
                (scenario.lb, lb, scenario.lb_path, scenario.lb_headers),
            ):
                cmd = wrk_command(
                    server.base + path,
                    duration_s=a.duration,
                    connections=a.connections,
                    headers=headers,
                    script=scenario.script,
                )
                if shlex.join(cmd) not in self.commands:
                    self.commands.append(shlex.join(cmd))
                cpu_before = server.cpu_seconds()
                try:
                    result = run_wrk(cmd)
                except WrkFailed as exc:
                    scenario.error = f"{server.name}: {exc}"
                    return
                side.runs.append(result)
                side.cpu_us.append((server.cpu_seconds() - cpu_before) / result.requests * 1e6)
            print(
                f"  {scenario.name}: ref {scenario.ref.runs[-1].requests_per_s:.0f} req/s, "
                f"linkbridge {scenario.lb.runs[-1].requests_per_s:.0f} req/s",
                flush=True,
            )


def expect(
    port: int, path: str, status: int, headers: dict[str, str] | None = None
) -> dict[str, str]:
    """GET once and insist on `status` (the benchmark must measure the intended answer)."""
    got, answer, _ = get(port, path, headers)
    if got != status:
        raise RuntimeError(f"bench: GET {path} on port {port} gave {got}, expected {status}")
    return answer


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    bench = Bench(args, tmp)
    load_before = os.getloadavg()[0]
    scenarios: list[Scenario] = []
    try:
        lb = bench.linkbridge(BEFORE)
        status, headers, body = get(lb.port, "/feed/", {"Accept-Encoding": "identity"})
        if status != 200:
            raise RuntimeError(f"bench: linkbridge /feed/ answered {status}")
        etag = headers["etag"]
        gz_etag = expect(lb.port, "/feed/", 200, {"Accept-Encoding": "gzip"})["etag"]
        feed_body = tmp / "feed.xml"
        feed_body.write_bytes(body)
        redirects = tmp / "redirects.json"
        location = "https://www.regeringen.se/sveriges-regering/naringsdepartementet/"
        redirects.write_text(
            json.dumps({"default": location, "paths": dict.fromkeys(MIX, location)}),
            encoding="utf-8",
        )
        ref = bench.reference(feed_body, headers["content-type"], redirects)
        identity = "Accept-Encoding: identity"
        feeds = [
            Scenario(
                "feed_200",
                f"GET /feed/ identity, {len(body)} bytes",
                "/feed/",
                "/feed/",
                (identity,),
                (identity,),
            ),
            Scenario(
                "feed_304",
                "GET /feed/ with If-None-Match (identity ETag)",
                "/feed/",
                "/feed/",
                (identity, f"If-None-Match: {etag}"),
                (identity, f"If-None-Match: {REF_ETAG}"),
            ),
            Scenario(
                "feed_304_gzip",
                "GET /feed/ with Accept-Encoding: gzip and its ETag",
                "/feed/",
                "/feed/",
                ("Accept-Encoding: gzip", f"If-None-Match: {gz_etag}"),
                ("Accept-Encoding: gzip", f"If-None-Match: {REF_ETAG}"),
            ),
        ]
        expect(lb.port, "/feed/", 304, {"If-None-Match": etag})
        expect(lb.port, "/feed/", 304, {"If-None-Match": gz_etag, "Accept-Encoding": "gzip"})
        expect(ref.port, "/feed/", 304, {"If-None-Match": REF_ETAG})
        for scenario in feeds:
            scenarios.append(scenario)
            bench.measure(scenario, lb, ref)
        feed_log_lines = lb.log_lines("request_finished")
        lb.stop()

        lb = bench.linkbridge(AFTER)
        for path in MIX:
            expect(lb.port, path, 301)
            expect(ref.port, path, 301)
        mix = path_mix_script(list(MIX), tmp / "mix.lua")
        for scenario in (
            Scenario(
                "redirect", "GET of the seed post URL: 301 (prefix rule)", SEED_POST, SEED_POST
            ),
            Scenario(
                "redirect_mix",
                "6 paths in turn: 2 exact, 3 prefix, 1 default",
                "/",
                "/",
                script=mix,
            ),
        ):
            scenarios.append(scenario)
            bench.measure(scenario, lb, ref)
        redirect_log_lines = lb.log_lines("request_finished")
    finally:
        bench.stop_all()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": _cpus(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "wrk": wrk_version(),
            "pinning": "servers taskset -c 0, wrk taskset -c 1",
            "aiohttp": aiohttp.__version__,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "rounds": args.rounds,
            "wrk_threads": 1,
        },
        "log_lines": {
            "feed_request_finished": feed_log_lines,
            "redirect_request_finished": redirect_log_lines,
        },
        "scenarios": [s.result() for s in scenarios],
        "commands": bench.commands,
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def print_table(results: dict[str, object]) -> None:
    rows = results["scenarios"]
    assert isinstance(rows, list)
    print(
        f"\n{'scenario':<15}{'linkbridge/s':>13}{'reference/s':>12}{'ratio':>7}{'goal':>6}"
        f"{'cpu µs lb/ref':>15}{'cpu ratio':>10}  {'lb p50/p99 ms':<15}  ref p50/p99 ms"
    )
    for row in rows:
        lb, ref = row["linkbridge"], row["reference"]
        mark = "ok" if row["goal_met"] else ("FAIL" if row["error"] else "below")
        cpu = f"{lb['cpu_us_per_request']:.0f}/{ref['cpu_us_per_request']:.0f}"
        print(
            f"{row['scenario']:<15}{lb['requests_per_s']:>13.0f}{ref['requests_per_s']:>12.0f}"
            f"{row['ratio']:>7.2f}{row['goal']:>6.2f}{cpu:>15}{row['cpu_ratio']:>10.2f}"
            f"  {lb['p50_ms']:>6.2f}/{lb['p99_ms']:<8.2f}  {ref['p50_ms']:.2f}/"
            f"{ref['p99_ms']:.2f}  {mark}"
        )
        if row["error"]:
            print(f"  error: {row['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    wrk_options(parser)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    args = parser.parse_args(argv)
    quick_if_asked(args)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    try:
        with tempfile.TemporaryDirectory(prefix="linkbridge-bench-") as tmp:
            results = run(args, Path(tmp))
    except KeyboardInterrupt:
        print("bench: interrupted; every server stopped", file=sys.stderr)
        return 130
    print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}\ncommands:")
    for command in results["commands"]:  # type: ignore[attr-defined]
        print(f"  {command}")
    rows = results["scenarios"]
    return 1 if any(row["error"] for row in rows) else 0  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
