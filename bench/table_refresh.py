"""One mapping change with many mappings, in this process: CPU of the live snapshot's refresh
and the longest event-loop stall meanwhile (a ticker task measures the gaps).

    .venv/bin/python bench/table_refresh.py [--mappings 100000]

Runs this checkout's code (PYTHONPATH=OTHER/src measures another build) on a temp SQLite store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from linkbridge.live import LiveState
from linkbridge.model import Mapping
from linkbridge.settings_loader import load_settings
from linkbridge.store import open_store

ROOT = Path(__file__).resolve().parents[1]
TARGET = "https://www.regeringen.se/sveriges-regering/naringsdepartementet/"


async def ticker(gaps: list[float], stop: asyncio.Event) -> None:
    """Yield to the loop until `stop`, noting the time between two turns."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0)
        tick = time.perf_counter()
        gaps.append(tick - last)
        last = tick


async def measure(mappings: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="linkbridge-refresh-"))
    overlay = tmp / "overlay.toml"
    overlay.write_text(f'[store]\nurl = "sqlite:///{tmp}/lb.db"\n[server]\nlog_level = "warning"\n',
                       encoding="utf-8")
    settings = load_settings([ROOT / "config" / "naringsbloggen.toml", overlay])
    store = open_store(settings.store.url)
    await store.open()
    now = datetime.now(UTC)
    await store.put_mappings(
        [Mapping(f"/innovation/arkiv/{i}/", f"{TARGET}?n={i}") for i in range(mappings)], now
    )
    live = LiveState(settings, store)
    await live.refresh(force=True)
    out: dict[str, object] = {"mappings": mappings, "load_average_1min": os.getloadavg()[0]}
    changes = {"map_new_url": Mapping("/innovation/ny-karta/", TARGET),
               "remap_one_url": Mapping("/innovation/arkiv/7/", "gone")}
    for label, change in changes.items():
        await store.put_mappings([change], now)
        gaps: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(gaps, stop))
        await asyncio.sleep(0)
        cpu, wall = time.process_time(), time.perf_counter()
        await live.refresh()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stop.set()
        await task
        out[label] = {"refresh_cpu_ms": round(cpu * 1000, 1),
                      "refresh_wall_ms": round(wall * 1000, 1),
                      "longest_stall_ms": round(max(gaps) * 1000, 1)}
    await store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mappings", type=int, default=100_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(json.dumps(asyncio.run(measure(args.mappings)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
