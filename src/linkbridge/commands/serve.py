"""`linkbridge serve`: run the HTTP service."""

from __future__ import annotations

import argparse
import asyncio
import signal

import structlog
from aiohttp import web

from linkbridge import __version__
from linkbridge.app import make_app
from linkbridge.commands.context import make_clock
from linkbridge.settings import Settings
from linkbridge.store import open_configured_store
from linkbridge.verify import SafeFetcher
from linkbridge.web.connections import GatedSite, connection_gate, server_options

logger = structlog.get_logger("linkbridge.serve")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("serve", parents=[common], help="run the service")
    p.add_argument("--host", default=None, help="listen address (default: server.host)")
    p.add_argument("--port", type=int, default=None, help="listen port (default: server.port)")
    p.set_defaults(handler=serve)


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and stop."""
    store = open_configured_store(settings.store)
    fetcher = SafeFetcher(
        settings.fetch, public_base_url=settings.site.public_base_url, version=__version__
    )
    clock = make_clock(args.at)
    app = make_app(settings, store=store, fetcher=fetcher, clock=clock)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    runner = web.AppRunner(app, handle_signals=False, **server_options(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    site = GatedSite(runner, host, port, connection_gate(settings))
    await site.start()
    metrics_runner = await start_metrics_listener(app, settings)
    logger.info("server_started", host=host, port=port, at=clock.now().isoformat(),
                version=__version__)
    try:
        await stop.wait()
    finally:
        logger.info("server_stopping")
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
        logger.info("server_stopped")
    return 0


async def start_metrics_listener(app: web.Application, settings: Settings) -> (
    web.AppRunner | None
):
    """/metrics on its own address (metrics.listen), off the public port; None when unset."""
    if not settings.metrics.listen:
        return None
    from linkbridge.settings_loader import metrics_address
    from linkbridge.web.metrics import make_metrics_app

    host, port = metrics_address(settings.metrics.listen)
    runner = web.AppRunner(make_metrics_app(app), handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("metrics_listening", host=host, port=port)
    return runner
