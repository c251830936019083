"""The held queue, all linkbacks with filters, one linkback's history, and decisions on them."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from linkbridge import keys
from linkbridge.admin.page import back_to, field, not_found, page_number, render, see_other
from linkbridge.errors import BadRequest, NotFound
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, Post
from linkbridge.moderation.rules import registrable_domain
from linkbridge.urls import fold_host

logger = structlog.get_logger(__name__)

ACTIONS: dict[str, tuple[LinkbackState, str]] = {
    "approve": (LinkbackState.APPROVED, ""),
    "reject": (LinkbackState.REJECTED, ""),
    "spam": (LinkbackState.SPAM, ""),
    "spam_host": (LinkbackState.SPAM, "host"),
    "spam_domain": (LinkbackState.SPAM, "domain"),
}
"""Form button value -> (new state, what to block as well)."""


@dataclass(frozen=True)
class Row:
    """A linkback with the post it points at, as a page shows it."""

    lb: Linkback
    post: Post | None


def _rows(request: web.Request, linkbacks: list[Linkback]) -> list[Row]:
    registry = request.app[keys.LIVE].snapshot.registry
    return [Row(lb, registry.get(lb.post_key)) for lb in linkbacks]


async def go_home(request: web.Request) -> web.StreamResponse:
    """/admin -> /admin/ (other methods: 404, like any unknown admin path)."""
    if request.method not in ("GET", "HEAD"):
        return not_found()
    return see_other("/admin/")


async def get_queue(request: web.Request) -> web.StreamResponse:
    """The held linkbacks, newest first, each with approve / reject / spam."""
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    page = page_number(request)
    held = await app[keys.STORE].list_linkbacks(
        states=[LinkbackState.HELD], limit=size, offset=(page - 1) * size
    )
    return render(
        request,
        "queue.html",
        {"rows": _rows(request, held), "page": page, "more": len(held) == size},
    )


async def get_linkbacks(request: web.Request) -> web.StreamResponse:
    """Every linkback, filtered by state, protocol and source host."""
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    page = page_number(request)
    q = request.query
    state = q.get("state", "")
    protocol = q.get("protocol", "")
    host = q.get("host", "").strip()[:253]
    if state and state not in {s.value for s in LinkbackState}:
        raise BadRequest(f"admin: no state {state[:40]!r}")
    if protocol and protocol not in {p.value for p in LinkbackProtocol}:
        raise BadRequest(f"admin: no protocol {protocol[:40]!r}")
    rows = await app[keys.STORE].list_linkbacks(
        states=[LinkbackState(state)] if state else None,
        protocol=LinkbackProtocol(protocol) if protocol else None,
        host=host.lower() or None,
        limit=size,
        offset=(page - 1) * size,
    )
    return render(
        request,
        "linkbacks.html",
        {
            "rows": _rows(request, rows),
            "page": page,
            "more": len(rows) == size,
            "states": [s.value for s in LinkbackState],
            "protocols": [p.value for p in LinkbackProtocol],
            "filters": {"state": state, "protocol": protocol, "host": host},
        },
    )


def _linkback_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def get_linkback(request: web.Request) -> web.StreamResponse:
    """One linkback and every decision on it: who, when, why."""
    store = request.app[keys.STORE]
    lb = await store.get_linkback(_linkback_id(request))
    if lb is None:
        raise NotFound("admin: no such linkback")
    return render(
        request,
        "linkback.html",
        {
            "row": _rows(request, [lb])[0],
            "decisions": await store.decisions(lb.id),
        },
    )


async def post_decision(request: web.Request) -> web.StreamResponse:
    """Approve, reject or mark spam (optionally blocking the host or its domain)."""
    app = request.app
    store, clock = app[keys.STORE], app[keys.CLOCK]
    user = request[keys.ADMIN_SESSION].username
    form = await request.post()
    action = field(form, "action", required=True, max_chars=20)
    if action not in ACTIONS:
        raise BadRequest(f"admin: no action {action!r}")
    reason = field(form, "reason", max_chars=500)
    state, block = ACTIONS[action]
    now = clock.now()
    lb = await store.set_state(_linkback_id(request), state, actor=user, reason=reason, now=now)
    logger.info(f"linkback_{state.value}", linkback_id=lb.id, actor=user, reason=reason)
    if block:
        entry = fold_host(lb.source_host)
        if block == "domain":
            entry = registrable_domain(lb.source_host)
        why = f"spam #{lb.id}" + (f": {reason}" if reason else "")
        await store.add_host(entry, "block", reason=why, actor=user, now=now)
        logger.info("host_blocked", host=entry, actor=user, linkback_id=lb.id)
    await app[keys.LIVE].refresh()  # feeds and block lists show the change at once
    return see_other(back_to(form, "/admin/"))
