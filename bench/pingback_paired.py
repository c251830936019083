"""Two linkbridge builds (and the bare aiohttp reference) flooded in turn, round after round.

    .venv/bin/python bench/pingback_paired.py --other PATH [--rounds 12] [--pingbacks 300]

On a machine shared with other work, CPU per pingback moves by a quarter between runs a minute
apart, more than most changes make. Here all three servers are up together, pinned to core 0,
and every round floods each of them in turn (the order reversed every other round) with
`--pingbacks` distinct loopback sources, so neighbouring floods share the machine's load.
Printed: each round's CPU ms per pingback (server user + system, all threads, until quiet),
the medians, and the medians of the per-round ratios (this build / `--other`, reference /
each build), which are the figures to compare. `--other` is another checkout's `linkbridge`
executable (its own config/naringsbloggen.toml is used), as `pingback_flood.py --linkbridge`.
Each build keeps its store across rounds, as a server does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pingback_flood import overlay_toml, send, serve_sources, settled_cpu
from servers import Server, free_port, linkbridge_executable

ROOT = Path(__file__).resolve().parents[1]


async def _flood(base: str, source_port: int, first: int, count: int) -> int:
    """One flood of `count` distinct sources; how many were answered without a fault."""
    runner = await serve_sources(source_port, 0.0, 0)
    try:
        answers = await send(base, source_port, range(first, first + count))
    finally:
        await runner.cleanup()
    return sum(1 for _, kind in answers if kind != "fault")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True,
                        help="the other build's `linkbridge` executable")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--pingbacks", type=int, default=300)
    args = parser.parse_args(argv)
    n = args.pingbacks
    builds = {"this": (linkbridge_executable(), ROOT),
              "other": ([args.other], Path(args.other).resolve().parents[2])}
    with tempfile.TemporaryDirectory(prefix="lb-paired-") as tmp_name:
        tmp = Path(tmp_name)
        source_port = free_port()
        servers: dict[str, Server] = {}
        for name, (executable, tree) in builds.items():
            port = free_port()
            overlay = tmp / f"{name}.toml"
            overlay.write_text(overlay_toml(f"sqlite:{tmp}/{name}.db", source_port, n),
                               encoding="utf-8")
            servers[name] = Server(
                name,
                [*executable, "serve", "--port", str(port),
                 "--config", str(tree / "config" / "naringsbloggen.toml"),
                 "--config", str(overlay), "--at", "2017-12-01T12:00:00+01:00"],
                port, tmp / f"{name}.log",
            )
        ref_port = free_port()
        servers["reference"] = Server(
            "reference",
            [sys.executable, str(ROOT / "bench" / "pingback_reference.py"),
             "--port", str(ref_port)],
            ref_port, tmp / "reference.log",
        )
        cpu_ms: dict[str, list[float]] = {name: [] for name in servers}
        failed = False
        try:
            for server in servers.values():
                server.start("/readyz")
            for r in range(args.rounds):
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    server = servers[name]
                    before = server.cpu_seconds()
                    answered = asyncio.run(_flood(server.base, source_port, r * n, n))
                    failed = failed or answered != n
                    cpu_ms[name].append((settled_cpu(server) - before) / n * 1000)
                print(f"round={r} " + " ".join(f"{k}={v[-1]:.2f}" for k, v in cpu_ms.items()),
                      flush=True)
        finally:
            for server in servers.values():
                server.stop()
    for name, values in cpu_ms.items():
        print(f"{name}: cpu_ms_per_pingback median={statistics.median(values):.2f} "
              f"min={min(values):.2f}")

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(cpu_ms[a], cpu_ms[b], strict=True))

    print(f"this_to_other={ratio('this', 'other'):.3f} "
          f"reference_to_this={ratio('reference', 'this'):.3f} "
          f"reference_to_other={ratio('reference', 'other'):.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
