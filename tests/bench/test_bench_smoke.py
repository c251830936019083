"""bench/run.py works end to end (servers, wrk, table, JSON, clean-up); it measures nothing here."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import ROOT, require
from tests.support.pg import fresh_schema

SCENARIOS = {"feed_200", "feed_304", "feed_304_gzip", "redirect", "redirect_mix"}


WRK_404 = """Running 1s test @ http://127.0.0.1:18777/missing
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.90ms    1.07ms   9.36ms   90.95%
    Req/Sec     2.68k   302.63     3.08k    60.00%
  Latency Distribution
     50%  564.00us
     75%  849.00us
     90%    1.87ms
     99%    6.16ms
  2673 requests in 1.00s, 1.33MB read
  Non-2xx or 3xx responses: 2673
Requests/sec:   2669.21
Transfer/sec:      1.32MB
"""


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ (not a package: run.py imports its siblings as a script does)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_wrk_report_is_read_and_bad_answers_fail_the_scenario() -> None:
    wrk = _bench_module("wrk")
    ok = wrk.parse_wrk(WRK_404.replace("  Non-2xx or 3xx responses: 2673\n", ""))
    assert (ok.requests_per_s, ok.p99_ms, ok.requests) == (2669.21, 6.16, 2673)
    assert ok.p50_ms == pytest.approx(0.564)
    with pytest.raises(wrk.WrkFailed, match="2673 non-2xx/3xx responses"):
        wrk.parse_wrk(WRK_404)
    with pytest.raises(wrk.WrkFailed, match="unreadable"):
        wrk.parse_wrk("unable to connect to 127.0.0.1:9 Connection refused\n")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_quick_run_measures_every_scenario_and_stops_its_servers(
    tmp_path: Path
) -> None:
    require(shutil.which("wrk") is not None, "needs wrk: apt-get install -y wrk")
    require(shutil.which("taskset") is not None, "needs taskset: apt-get install -y util-linux")
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    rows = {row["scenario"]: row for row in results["scenarios"]}
    assert set(rows) == SCENARIOS
    for row in rows.values():
        assert row["error"] == ""
        for side in ("linkbridge", "reference"):
            assert len(row[side]["rounds"]) == 1
            assert row[side]["rounds"][0]["requests"] > 0
    assert results["settings"] == {"duration_s": 1, "connections": 4, "rounds": 1, "wrk_threads": 1}
    # production logging happened: every feed request logged, redirects sampled
    assert results["log_lines"]["feed_request_finished"] > 0
    # the table and the exact commands are printed
    assert "scenario" in proc.stdout
    assert "redirect_mix" in proc.stdout
    commands = results["commands"]
    assert any(c.startswith("taskset -c 1 wrk -t1 -c4 -d1s") for c in commands)
    assert any("linkbridge serve" in c and c.startswith("taskset -c 0") for c in commands)
    assert all(c in proc.stdout for c in commands)
    # every server it started is gone
    ports = {
        int(p)
        for c in commands
        if not c.startswith("taskset -c 1")
        for p in re.findall(r"--port (\d+)", c)
    }
    assert len(ports) == 3
    assert not any(_listening(port) for port in ports)


@pytest.mark.slow
def test_pingback_flood_harness_runs_end_to_end() -> None:
    flood = Path(__file__).resolve().parents[2] / "bench" / "pingback_flood.py"
    done = subprocess.run(
        [sys.executable, str(flood), "--pingbacks", "20"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"pingbacks=20 .* faults=0 p50=", done.stdout)


@pytest.mark.slow
def test_paired_pingback_harness_floods_both_builds_and_the_reference() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench"
    own = Path(sys.executable).with_name("linkbridge")
    if not own.exists():
        pytest.skip("needs the virtualenv's `linkbridge` script as the other build")
    done = subprocess.run(
        [sys.executable, str(bench / "pingback_paired.py"), "--other", str(own),
         "--rounds", "1", "--pingbacks", "10"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"this_to_other=[0-9.]+ reference_to_this=[0-9.]+", done.stdout)


@pytest.mark.slow  # over a second
def test_queue_flood_harness_runs_end_to_end() -> None:
    flood = Path(__file__).resolve().parents[2] / "bench" / "queue_flood.py"
    done = subprocess.run(
        [sys.executable, str(flood), "--flood", "10", "--hosts", "3", "--cap-s", "5"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"flood=10 hosts=3 good_verified_after: linkbridge=[\d.]+s ", done.stdout)


@pytest.mark.slow  # over a second
def test_wxr_startup_harness_runs_end_to_end() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "wxr_startup.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--posts", "20"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['wxr_imported']" in done.stdout
    assert "['wxr_unchanged']" in done.stdout


@pytest.mark.slow
def test_workers_harness_runs_end_to_end() -> None:
    require(shutil.which("wrk") is not None, "needs wrk: apt-get install -y wrk")
    bench = Path(__file__).resolve().parents[2] / "bench" / "workers.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--duration", "1", "--rounds", "1", "--connections", "4"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"linkbridge --workers 2 +\d+ req/s", done.stdout)
    assert re.search(r"--workers 2 / --workers 1: [\d.]+", done.stdout)


@pytest.mark.slow
async def test_pingback_flood_harness_runs_on_postgresql() -> None:
    flood = Path(__file__).resolve().parents[2] / "bench" / "pingback_flood.py"
    async with fresh_schema() as url:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(flood), "--pingbacks", "20", "--store-url", url],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"pingbacks=20 .* faults=0 p50=", done.stdout)


@pytest.mark.slow
def test_nginx_feeds_harness_measures_nginx_from_its_own_files(tmp_path: Path) -> None:
    require(shutil.which("wrk") is not None, "needs wrk: apt-get install -y wrk")
    require(Path(shutil.which("nginx") or "/usr/sbin/nginx").exists(),
            "needs Debian's nginx: apt-get install -y nginx-light")
    bench = Path(__file__).resolve().parents[2] / "bench" / "nginx_feeds.py"
    out = tmp_path / "nginx.json"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick", "--output", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results) == {"feed_200", "feed_304", "feed_304_gzip"}
    for row in results.values():
        assert all(row[s]["requests_per_s"] > 0 for s in ("reference", "linkbridge", "nginx"))


def test_nginx_feeds_harness_measures_the_feed_updates(tmp_path: Path) -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "nginx_feeds.py"
    out = tmp_path / "updates.json"
    done = subprocess.run(
        [sys.executable, str(bench), "--update-posts", "3", "--rounds", "1", "--output",
         str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results) == {"first_export", "one_post_edited", "one_decision", "version_only"}
    assert results["version_only"][0]["feeds_built"] == 0
    assert 0 < results["one_post_edited"][0]["feeds_built"] < results["first_export"][0][
        "feeds_built"]
