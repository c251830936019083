"""Request context (id, client IP, one canonical log line) and error rendering.

Applied per route (`ContextRoutes` wraps each handler as it is registered), not as an aiohttp
middleware: with any middleware at all, aiohttp wraps *every* route in a chain of coroutines
(its own `_fix_request_current_app` included), and the catch-all's hot outcomes (feeds and
retired URLs), which keep no full context, paid for that chain on every request.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiohttp import web

from linkbridge import keys
from linkbridge.errors import LinkbridgeError
from linkbridge.metrics import is_store_error
from linkbridge.negotiate import wants_json

logger = structlog.get_logger("linkbridge.request")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(peer: str, forwarded_for: str | None, trusted: Iterable[Network]) -> str:
    """The client's address: X-Forwarded-For is believed only from trusted proxies.

    Walks the X-Forwarded-For chain from the right, skipping trusted proxies, so a client
    cannot forge its address by sending its own header through a trusted proxy.
    """
    chain = [peer] if not forwarded_for else [*(p.strip() for p in forwarded_for.split(",")), peer]
    trusted = tuple(trusted)
    last = peer
    for candidate in reversed(chain):
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            return last
        if not any(address in net for net in trusted):
            return candidate
        last = candidate
    return last


def error_response(request: web.Request, status: int, reason: str, message: str) -> web.Response:
    """Plain text, or JSON when asked."""
    if wants_json(request.headers.get("Accept")):
        return web.json_response({"error": reason, "message": message}, status=status)
    return web.Response(status=status, text=f"{message}\n", content_type="text/plain")


class RequestContext:
    """The request id, the client's address, one canonical log line, and error rendering.

    Every route runs inside it (`ContextRoutes`), except the catch-all's hot outcomes (feeds
    and retired URLs): they call `log_sampled` themselves, and send their other outcomes
    (trackback, proxy, errors) through `run`.
    """

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in trusted_proxies)

    def client_ip(self, request: web.Request) -> str:
        forwarded = request.headers.get("X-Forwarded-For")
        peer = request.remote or ""
        return client_ip(peer, forwarded, self.networks) if forwarded else peer

    async def run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """`handler` inside the full request context (every route but the hot ones)."""
        started = time.perf_counter()
        # Correlation only, not a secret: the OS random source costs a syscall per request.
        request_id = (
            request.headers.get("X-Request-Id", "")[:64] or f"{random.getrandbits(64):016x}"
        )
        request[keys.REQUEST_ID] = request_id
        request[keys.CLIENT_IP] = self.client_ip(request)
        status = 500
        try:
            try:
                response = await handler(request)
            except LinkbridgeError as exc:
                response = error_response(request, exc.status, exc.reason, exc.message)
            except web.HTTPRequestEntityTooLarge:
                response = error_response(request, 413, "body_too_large", "request body too large")
            status = response.status
            response.headers.setdefault("X-Request-Id", request_id)
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:
            if is_store_error(exc):
                request.app[keys.METRICS].store_errors += 1
            raise
        finally:
            try:  # the sampled hot paths set a rate; a miss (every other route) logs all
                rate = request[keys.LOG_SAMPLE_RATE]
            except KeyError:
                rate = 1.0
            # Sampling, not security; a server error is always logged.
            if rate >= 1.0 or status >= 500 or random.random() < rate:  # noqa: S311
                self._log(request, request_id, request[keys.CLIENT_IP], status, started)

    def log_sampled(
        self, request: web.Request, status: int, started: float, rate: float
    ) -> None:
        """A hot path's canonical log line, for a share `rate` of requests (5xx: always)."""
        if rate >= 1.0 or status >= 500 or random.random() < rate:  # noqa: S311
            request_id = (
                request.headers.get("X-Request-Id", "")[:64] or f"{random.getrandbits(64):016x}"
            )
            self._log(request, request_id, self.client_ip(request), status, started)

    def _log(
        self, request: web.Request, request_id: str, ip: str, status: int, started: float
    ) -> None:
        logger.info(
            "request_finished",
            request_id=request_id,
            client_ip=ip,
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


class ContextRoutes:
    """aiohttp's `add_route`/`add_get`/`add_post`, each handler run inside the request context.

    Every route is registered through this, except the catch-all (web/site.py), which keeps its
    own context: its hot outcomes log a sampled line, the others go through `context.run`.
    """

    def __init__(self, router: web.UrlDispatcher, context: RequestContext) -> None:
        self._router = router
        self._context = context

    def wrap(self, handler: Handler) -> Handler:
        """`handler` inside the request context (error rendering inside, the log line outside)."""
        context = self._context

        async def in_context(request: web.Request) -> web.StreamResponse:
            return await context.run(request, handler)

        return in_context

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self._router.add_route(method, path, self.wrap(handler))

    def add_get(self, path: str, handler: Handler) -> None:
        """GET and HEAD, as aiohttp's `add_get`."""
        self._router.add_get(path, self.wrap(handler))

    def add_post(self, path: str, handler: Handler) -> None:
        self._router.add_post(path, self.wrap(handler))
