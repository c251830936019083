"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web

from linkbridge import __version__, keys
from linkbridge.phase import phase_at


async def get_healthz(request: web.Request) -> web.Response:
    """Alive: the event loop answers."""
    return web.json_response({"status": "ok"})


async def get_readyz(request: web.Request) -> web.Response:
    """Ready: the store answers, the registry and redirect table are loaded."""
    app = request.app
    settings = app[keys.SETTINGS]
    live = app[keys.LIVE]
    store_ok = await app[keys.STORE].ping()
    loaded = live.loaded
    body: dict[str, object] = {
        "status": "ok" if store_ok and loaded else "unavailable",
        "store": store_ok,
        "registry": loaded,
        "phase": phase_at(app[keys.CLOCK].now(), settings.site.shutdown_at).value,
        "now": app[keys.CLOCK].now().isoformat(),
        "shutdown_at": settings.site.shutdown_at.isoformat(),
        "version": __version__,
    }
    config = app.get(keys.CONFIG)
    if config is not None:  # set by `serve`; SIGHUP replaces it
        body["config"] = {"digest": config.digest, "loaded_at": config.loaded_at.isoformat()}
    hits = app[keys.HITS]
    body["hits"] = {  # requests without a path row of their own are counted, never lost
        "pending_paths": hits.pending(),
        "other_paths_since_start": hits.other_paths,
        "evicted_paths_since_start": hits.evicted,
        "ignored_since_start": hits.ignored,
    }
    if loaded:
        snap = live.snapshot
        body.update(store_version=snap.version, posts=len(snap.registry),
                    mappings=len(snap.table))
        if snap.table.skipped and body["status"] == "ok":
            # Still 200: one stored row the config refuses must not take every instance out
            # of a load balancer; the reasons say what to fix.
            body["status"] = "degraded"
            body["reasons"] = [row.describe() for row in snap.table.skipped]
    return web.json_response(body, status=200 if store_ok and loaded else 503)
