"""XML-RPC endpoint: pingback.ping, pingback.extensions.getPingbacks, system.listMethods."""

from __future__ import annotations

import asyncio

from aiohttp import web

from linkbridge import keys
from linkbridge.errors import LinkbridgeError
from linkbridge.intake import Answer, Incoming, IntakeResult, Refusal
from linkbridge.model import LinkbackProtocol, LinkbackState
from linkbridge.posts.registry import ResolutionKind
from linkbridge.receive.xmlrpc import (
    FaultInterop,
    MethodCall,
    PingbackFault,
    XmlRpcFault,
    XmlRpcValue,
    expect_strings,
    parse_method_call,
    render_fault,
    render_response,
)
from linkbridge.web.body import BodyTooLarge, method_not_allowed, read_body
from linkbridge.web.connections import arrival

METHODS = ("pingback.ping", "pingback.extensions.getPingbacks", "system.listMethods")
XML = "text/xml"

NOT_USABLE = (PingbackFault.TARGET_NOT_USABLE,
              "The specified target URL cannot be used as a target.")
NO_SOURCE = (PingbackFault.SOURCE_NOT_FOUND, "The source URL does not exist.")
_REFUSAL_FAULTS: dict[Refusal, tuple[PingbackFault, str]] = {
    Refusal.TARGET_FOREIGN: NOT_USABLE,
    Refusal.TARGET_NOT_POST: NOT_USABLE,
    Refusal.TARGET_UNKNOWN: NOT_USABLE,
    Refusal.TARGET_TOMBSTONE: (PingbackFault.TARGET_NOT_FOUND,
                               "The specified target URL does not exist."),
    Refusal.PINGS_CLOSED: NOT_USABLE,
    Refusal.SAME_POST: (PingbackFault.GENERIC, "The source URL and the target URL cannot both "
                                               "point to the same resource."),
    Refusal.BAD_SOURCE: NO_SOURCE,
    Refusal.URL_TOO_LONG: (PingbackFault.GENERIC, "The source or target URL is too long."),
    Refusal.BLOCKED: (PingbackFault.ACCESS_DENIED, "Access denied."),
    Refusal.RATE_LIMITED: (PingbackFault.ACCESS_DENIED, "Too many pingbacks; try again later."),
    Refusal.DAILY_CAP: (PingbackFault.ACCESS_DENIED, "Too many pingbacks from this site today."),
}


def _answer_fault(
    result: IntakeResult, source: str, target: str
) -> tuple[PingbackFault, str] | str:
    """A fault (code, message), or the success string."""
    if result.answer == Answer.REFUSED and result.refusal is not None:
        if result.refusal == Refusal.AFTER_SHUTDOWN:
            return (PingbackFault.TARGET_NOT_USABLE,
                    f"This blog has closed; the target now lives at {result.successor}")
        return _REFUSAL_FAULTS[result.refusal]
    if result.answer == Answer.DUPLICATE:
        return PingbackFault.ALREADY_REGISTERED, "The pingback has already been registered."
    if result.answer == Answer.NO_LINK:
        return (PingbackFault.SOURCE_HAS_NO_LINK,
                "The source URL does not contain a link to the target URL, and so cannot "
                "be used as a source.")
    if result.answer in (Answer.MISSING, Answer.GONE):
        return NO_SOURCE
    if result.answer == Answer.POLICY:
        return PingbackFault.GENERIC, ""
    if result.answer == Answer.QUEUED:
        return f"Pingback from {source} to {target} queued for verification."
    return f"Pingback from {source} to {target} registered. Keep the web talking! :-)"


async def handle_xmlrpc(request: web.Request) -> web.StreamResponse:
    """POST only; every answer is a well-formed methodResponse with HTTP 200."""
    if request.method != "POST":
        return method_not_allowed(["POST"])
    settings = request.app[keys.SETTINGS]
    request[keys.ARRIVED_AT] = arrival(
        request, asyncio.get_running_loop().time(), settings.server.header_timeout_s
    )
    try:
        try:
            body = await read_body(request, settings.pingback.max_body_bytes)
        except BodyTooLarge:
            raise XmlRpcFault(FaultInterop.NOT_WELL_FORMED, "request body too large") from None
        call = parse_method_call(body, max_elements=settings.pingback.max_elements)
        value = await _dispatch(request, call)
    except XmlRpcFault as fault:
        code = fault.code
        if settings.pingback.opaque_faults and code > 0 and code != 48:
            code = PingbackFault.GENERIC
        return web.Response(body=render_fault(code, fault.fault_string), content_type=XML,
                            charset="utf-8")
    return web.Response(body=render_response(value), content_type=XML, charset="utf-8")


async def _dispatch(request: web.Request, call: MethodCall) -> XmlRpcValue:
    name = call.name
    if name == "system.listMethods":
        return list(METHODS)
    if name == "pingback.ping":
        source, target = expect_strings(call, 2)
        return await _ping(request, source, target)
    if name == "pingback.extensions.getPingbacks":
        (url,) = expect_strings(call, 1)
        return await _get_pingbacks(request, url)
    raise XmlRpcFault(FaultInterop.METHOD_NOT_FOUND, f"server error. requested method {name} "
                      "does not exist.")


async def _ping(request: web.Request, source: str, target: str) -> str:
    app = request.app
    result = await app[keys.INTAKE].receive(
        Incoming(LinkbackProtocol.PINGBACK, source.strip(), target.strip(),
                 client_ip=request[keys.CLIENT_IP]),
        inline_budget_s=app[keys.SETTINGS].pingback.inline_budget_s,
        arrived_at=request[keys.ARRIVED_AT],
    )
    if result.answer == Answer.QUEUED:
        app[keys.WORKER].wake()
    answer = _answer_fault(result, source, target)
    if isinstance(answer, str):
        return answer
    raise XmlRpcFault(*answer)


async def _get_pingbacks(request: web.Request, url: str) -> list[XmlRpcValue]:
    app = request.app
    try:
        resolution = app[keys.LIVE].snapshot.registry.resolve(url)
    except LinkbridgeError:  # not decodable as a URL
        resolution = None
    if resolution is None or resolution.kind != ResolutionKind.POST or resolution.post is None:
        raise XmlRpcFault(PingbackFault.TARGET_NOT_USABLE,
                          "The specified target URL cannot be used as a target.")
    post = resolution.post
    rows = await app[keys.STORE].list_linkbacks(
        states=[LinkbackState.APPROVED], blog=post.blog, post_id=post.post_id, limit=1000
    )
    return [lb.source_url for lb in rows if lb.protocol == LinkbackProtocol.PINGBACK]
