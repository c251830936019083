"""`linkbridge serve`: run the HTTP service."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiohttp import web

from linkbridge import __version__, keys
from linkbridge.app import make_app
from linkbridge.clock import Clock
from linkbridge.commands.context import load_args_settings, make_clock
from linkbridge.config_check import check_config
from linkbridge.errors import ConfigError, LinkbridgeError
from linkbridge.phase import phase_at
from linkbridge.redact import redact_url
from linkbridge.settings import ConfigInfo, Settings
from linkbridge.store import open_configured_store
from linkbridge.verify import SafeFetcher
from linkbridge.web.connections import (
    ConnectionGate,
    GatedSite,
    connection_gate,
    server_options,
)

logger = structlog.get_logger("linkbridge.serve")

PREVIEW_LINE = (
    "preview instance (--at is at or after the shutdown instant): it answers requests but "
    "takes no jobs, flushes no hits, imports nothing and writes no decisions; add --jobs to "
    "let it"
)


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("serve", parents=[common], help="run the service")
    p.add_argument("--host", default=None, help="listen address (default: server.host)")
    p.add_argument("--port", type=int, default=None, help="listen port (default: server.port)")
    p.add_argument("--jobs", action="store_true",
                   help="with --at at or after the shutdown instant: still run jobs, flush hits "
                        "and import (a preview instance does none of these by default)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="serving processes sharing the port (SO_REUSEPORT); default 1")
    p.add_argument("--reuse-port", action="store_true",
                   help="let other processes listen on the same port (what --workers uses)")
    p.set_defaults(handler=serve)


@dataclass
class Instance:
    """One configuration's application, started (store open, snapshot loaded)."""

    app: web.Application
    runner: web.AppRunner
    site: GatedSite | None = None


def is_preview(args: argparse.Namespace, settings: Settings) -> bool:
    """`--at` at or after the shutdown instant, without `--jobs`: a preview of the retirement
    beside the real instances, which must not act on its shifted clock."""
    at = getattr(args, "at", None)
    return at is not None and at >= settings.site.shutdown_at and not getattr(args, "jobs", False)


async def start_instance(settings: Settings, clock: Clock, *, preview: bool = False) -> Instance:
    """Make and start the application for `settings` (no listening site yet); a config the
    checks refuse raises ConfigError (the same checks and line as `check-config`)."""
    check_config(settings, parse_wxr=False)
    store = open_configured_store(settings.store)
    fetcher = SafeFetcher(
        settings.fetch, public_base_url=settings.site.public_base_url, version=__version__
    )
    app = make_app(settings, store=store, fetcher=fetcher, clock=clock, preview=preview)
    app[keys.CONFIG] = ConfigInfo.of(settings, datetime.now(UTC))
    runner = web.AppRunner(app, handle_signals=False, **server_options(settings))
    try:
        await runner.setup()
    except BaseException:
        await runner.cleanup()
        raise
    return Instance(app, runner)


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and stop; SIGHUP reloads
    the configuration without closing the listening socket."""
    clock = make_clock(args.at)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    if args.workers > 1:
        from linkbridge.supervisor import supervise

        if port == 0:  # each worker would bind a port of its own
            print("serve: --workers needs a fixed port (server.port or --port), not 0",
                  file=sys.stderr)
            return 2
        from linkbridge.web.metrics_workers import parent_metrics

        async with parent_metrics(settings.metrics.listen):
            return await supervise(args, port)
    # The modules loaded by now live as long as the process: the cyclic collector need not
    # walk their objects again at every collection, and loading the snapshot (100,000 table
    # entries) triggers many collections.
    gc.freeze()
    gate = connection_gate(settings)
    preview = is_preview(args, settings)
    try:
        current = await start_instance(settings, clock, preview=preview)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    current.site = GatedSite(current.runner, host, port, gate, reuse_port=args.reuse_port)
    await current.site.start()
    metrics_runner = await start_metrics_listener(lambda: current.app, settings)
    stop, reload = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload.set)
    logger.info("server_started", host=host, port=port, at=clock.now().isoformat(), pid=os.getpid(),
                version=__version__, config=current.app[keys.CONFIG].digest)
    print(started_line(current.runner, settings, clock), flush=True)
    if preview:
        logger.warning("preview_instance", at=clock.now().isoformat())
        print(PREVIEW_LINE, flush=True)
    try:
        while not stop.is_set():
            await _first(stop, reload)
            if reload.is_set() and not stop.is_set():
                reload.clear()
                current = await reloaded(args, current, clock, gate)
    finally:
        logger.info("server_stopping")
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await current.runner.cleanup()
        logger.info("server_stopped")
    return 0


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def reloaded(
    args: argparse.Namespace, old: Instance, clock: Clock, gate: ConnectionGate
) -> Instance:
    """The instance for the configuration files as they read now, serving on the old site's
    socket; or `old`, still serving, when the new configuration is refused (one log line)."""
    try:
        settings = load_args_settings(args)  # the same files and state directory as at start
        new = await start_instance(settings, clock, preview=is_preview(args, settings))
    except Exception as exc:
        reason = exc.message if isinstance(exc, LinkbridgeError) else f"{type(exc).__name__}: {exc}"
        logger.error("config_reload_refused", reason=reason,
                     config=old.app[keys.CONFIG].digest)
        return old
    assert old.site is not None
    new.site = GatedSite(new.runner, old.site.host, old.site.requested_port, gate,
                         sock=old.site.listening_copy())
    await new.site.start()
    # The old site stops accepting; a connection it accepted a moment ago may not have sent its
    # request yet, and a shutdown now would close it unanswered: give those a grace first.
    await old.site.stop()
    logger.info("config_reload_draining", grace_s=settings.server.reload_grace_s,
                config=old.app[keys.CONFIG].digest)
    await asyncio.sleep(settings.server.reload_grace_s)
    await old.runner.cleanup()  # in-flight requests finish, idle keep-alives close
    logger.info("config_reloaded", config=new.app[keys.CONFIG].digest,
                previous=old.app[keys.CONFIG].digest)
    return new


async def start_metrics_listener(
    current: Callable[[], web.Application], settings: Settings
) -> web.AppRunner | None:
    """/metrics of the current application on its own address (metrics.listen), off the
    public port; under `--workers`, on a private loopback port the parent sums (None when
    neither applies)."""
    from linkbridge.web.metrics_workers import ENV, announce

    worker = os.environ.get(ENV)
    if not settings.metrics.listen and not worker:
        return None
    from linkbridge.settings_loader import metrics_address
    from linkbridge.web.metrics import make_metrics_app

    host, port = ("127.0.0.1", 0) if worker else metrics_address(settings.metrics.listen)
    runner = web.AppRunner(make_metrics_app(current), handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1] if runner.addresses else port
    if worker:
        announce(int(bound))
    logger.info("metrics_listening", host=host, port=bound)
    return runner


def started_line(runner: web.AppRunner, settings: Settings, clock: Clock) -> str:
    """The one line a person reads on start, beside the JSON log lines."""
    urls = []
    for address in runner.addresses:
        host, port = address[0], address[1]
        urls.append(f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/")
    phase = phase_at(clock.now(), settings.site.shutdown_at).value
    return (
        f"linkbridge {__version__}: listening on {', '.join(urls)}, phase {phase} "
        f"(clock {clock.now().isoformat(timespec='seconds')}), "
        f"store {redact_url(settings.store.url)}"
    )
