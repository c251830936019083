"""`linkbridge serve --workers N`: N serving processes on one port (SO_REUSEPORT).

The parent only supervises: it starts N copies of the same `serve` command with
`--reuse-port`, so the kernel spreads connections over them and a retired blog's redirects
use every core. Each worker is a whole instance (its own store connections, snapshot, job
workers and hit counter); they share the store, which is what keeps them one service:

- PostgreSQL: as several instances behind a load balancer (NOTIFY wakes every snapshot).
- SQLite: every worker opens the same file; WAL lets them read at once and `BEGIN IMMEDIATE`
  serialises their writes on SQLite's own lock (busy_timeout_ms waits for it), so none owns
  the writes and none can corrupt them. Each worker's snapshot sees another's change at its
  next version poll (store.poll_interval_s), not at once.

SIGTERM/SIGINT and SIGHUP are passed on; when one worker exits on its own, the others are
stopped, since a service with a silent hole in it is worse than one that restarts whole.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

logger = structlog.get_logger("linkbridge.serve")


def worker_argv(argv: list[str]) -> list[str]:
    """The serve command line of one worker: without --workers, with --reuse-port."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [*out, "--reuse-port"]


async def supervise(args: argparse.Namespace, port: int) -> int:
    """Run `args.workers` serving processes until SIGTERM/SIGINT; their worst exit code."""
    argv = worker_argv(sys.argv[1:])
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "linkbridge", *argv)
        for _ in range(args.workers)
    ]
    logger.info("workers_started", workers=len(procs), pids=[p.pid for p in procs], port=port)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def forward(sig: signal.Signals) -> None:
        if sig != signal.SIGHUP:
            stopping.set()
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, forward, sig)
    waits = [asyncio.ensure_future(p.wait()) for p in procs]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if not stopping.is_set():  # one worker ended by itself: stop the rest
        logger.error("worker_exited", pid=[p.pid for p in procs if p.returncode is not None])
        forward(signal.SIGTERM)
    codes = await asyncio.gather(*waits)
    logger.info("workers_stopped", codes=codes)
    return max((abs(c) for c in codes), default=0)
