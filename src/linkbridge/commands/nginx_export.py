"""`linkbridge export nginx DIR [--watch]`: the redirect table as an nginx map (retire/nginx.py).

Before the shutdown instant the map is empty (nginx passes everything on, to the old blog
through linkbridge); from the instant on it holds the redirects. With `--watch` the files are
rewritten within a second of any store change and at the instant itself, and `--reload` runs
after each rewrite, so the switch needs nobody.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import subprocess
import sys
from pathlib import Path

from linkbridge.commands.context import make_clock, with_store
from linkbridge.live import LiveState
from linkbridge.phase import Phase, phase_at
from linkbridge.retire.nginx import CONF_FILE, MAP_FILE, nginx_conf, nginx_location, nginx_map
from linkbridge.settings import Settings
from linkbridge.store import Store

WATCH_INTERVAL_S = 0.5
"""How often --watch looks at the store's version and the clock (changes show within 1 s)."""


def _write(path: Path, text: str) -> bool:
    """Replace `path` atomically when its text changed; True when it did."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def write_files(folder: Path, live: LiveState, after: bool, upstream: str) -> bool:
    """The map (empty before the instant), the http-level and server-level config."""
    folder.mkdir(parents=True, exist_ok=True)
    map_path = folder / MAP_FILE
    changed = _write(map_path, nginx_map(live.snapshot.table) if after else "")
    changed |= _write(folder / CONF_FILE, nginx_conf(str(map_path.resolve()), upstream))
    cache_max_age_s = live.settings.retire.cache_max_age_s
    changed |= _write(folder / (CONF_FILE + ".location"), nginx_location(cache_max_age_s))
    return changed


async def export_nginx(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    upstream = args.upstream or f"{settings.server.host}:{settings.server.port}"
    clock = make_clock(args.at)

    async def run(store: Store) -> int:
        live = LiveState(settings, store)
        await live.refresh(force=True)
        while True:
            after = phase_at(clock.now(), settings.site.shutdown_at) == Phase.AFTER
            if write_files(folder, live, after, upstream):
                print(f"nginx: wrote {folder} ({'redirects' if after else 'before the instant'})",
                      file=sys.stderr, flush=True)
                if args.reload:
                    await asyncio.to_thread(
                        subprocess.run, shlex.split(args.reload), check=False
                    )
            if not args.watch:
                return 0
            await asyncio.sleep(WATCH_INTERVAL_S)
            await live.refresh()

    return await with_store(settings, run)
