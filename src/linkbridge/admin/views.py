"""The held queue, all linkbacks with filters, one linkback's history, and decisions on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDictProxy

from linkbridge import keys
from linkbridge.admin.page import back_to, field, not_found, page_number, render, see_other
from linkbridge.errors import BadRequest, NotFound
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, Post
from linkbridge.moderation.service import Outcome, Verdict

logger = structlog.get_logger(__name__)

ACTIONS: dict[str, tuple[Verdict, str | None]] = {
    "approve": (Verdict.APPROVE, None),
    "reject": (Verdict.REJECT, None),
    "spam": (Verdict.SPAM, None),
    "spam_host": (Verdict.SPAM, "host"),
    "spam_domain": (Verdict.SPAM, "domain"),
    "restore": (Verdict.RESTORE, None),
}
"""Form button value -> (the verdict, what to block as well)."""


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


def _action(form: MultiDictProxy[Any]) -> tuple[Verdict, str | None]:
    action = field(form, "action", required=True, max_chars=20)
    if action not in ACTIONS:
        raise BadRequest(f"admin: no action {action!r}")
    return ACTIONS[action]


async def _decide(
    request: web.Request, ids: list[int], form: MultiDictProxy[Any]
) -> list[Outcome]:
    verdict, block = _action(form)
    return await request.app[keys.MODERATION].decide(
        ids,
        verdict,
        by=request[keys.ADMIN_SESSION].username,
        reason=field(form, "reason", max_chars=500),
        block=block,
    )


async def post_decision(request: web.Request) -> web.StreamResponse:
    """Approve, reject or mark spam (optionally blocking the host or its domain)."""
    form = await request.post()
    [outcome] = await _decide(request, [_linkback_id(request)], form)
    if not outcome.ok:
        raise BadRequest(outcome.error, status=outcome.status)
    return see_other(back_to(form, "/admin/"))


async def post_bulk(request: web.Request) -> web.StreamResponse:
    """One decision on every checked linkback of the queue (as WordPress's bulk actions)."""
    form = await request.post()
    raw = form.getall("id", [])
    most = request.app[keys.SETTINGS].admin.page_items  # one page's checkboxes
    if len(raw) > most:
        raise BadRequest(f"admin: at most {most} linkbacks at once (admin.page_items)")
    try:
        ids = [int(str(value)) for value in raw]
    except ValueError:
        raise BadRequest("admin: a linkback id is not a number") from None
    if not ids:
        raise BadRequest("admin: tick the linkbacks to act on")
    outcomes = await _decide(request, ids, form)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BadRequest("; ".join(f"#{o.linkback_id}: {o.error}" for o in failed[:10]),
                         status=failed[0].status)
    return see_other(back_to(form, "/admin/"))


async def get_history(request: web.Request) -> web.StreamResponse:
    """Every recorded change (decisions, host lists, redirects), or one redirect path's."""
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    page = page_number(request)
    path = request.query.get("path", "").strip()[:2000]
    subject = request.query.get("subject", "")
    if subject not in ("", "linkback", "mapping", "host"):
        raise BadRequest(f"admin: no subject {subject[:20]!r}")
    changes = await app[keys.MODERATION].history(
        path or None, subject=subject or None, limit=size, offset=(page - 1) * size
    )
    return render(
        request,
        "history.html",
        {"changes": changes, "page": page, "more": len(changes) == size,
         "filters": {"path": path, "subject": subject}},
    )
