"""Request context (id, client IP, one canonical log line) and error rendering."""

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

    Every route runs inside it through the middleware, except the catch-all's hot outcomes
    (feeds and retired URLs): they skip aiohttp's middleware work and call `log_sampled`
    themselves, and send their other outcomes (trackback, proxy, errors) through `run`.
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


def make_middlewares(
    context: RequestContext, *, bypass: Handler | None = None
) -> list[Callable[..., Awaitable[web.StreamResponse]]]:
    """The middleware chain, outermost first.

    One middleware on purpose (every request passes it): request context and the canonical log
    line outside, error rendering inside, so rendered errors are logged with their status.
    `bypass` (the catch-all) is handed the request untouched: it keeps its own context.
    """

    @web.middleware
    async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
        if handler is bypass:
            return await handler(request)
        return await context.run(request, handler)

    return [request_context]
