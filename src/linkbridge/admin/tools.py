"""Blocked and allowed hosts, successor checks, "what does this URL do", webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from linkbridge import keys
from linkbridge.admin.page import field, page_number, render, see_other
from linkbridge.errors import BadRequest
from linkbridge.retire.explain import explain_url

logger = structlog.get_logger(__name__)

async def get_hosts(request: web.Request) -> web.StreamResponse:
    """The store's block and allow lists (editable) and the config's (read-only)."""
    app = request.app
    store, moderation = app[keys.STORE], app[keys.SETTINGS].moderation
    return render(
        request,
        "hosts.html",
        {
            "blocked": await store.list_hosts("block"),
            "allowed": await store.list_hosts("allow"),
            "config_blocked": moderation.block_hosts,
            "config_allowed": moderation.allow_hosts,
            "patterns": moderation.block_url_patterns,
        },
    )


async def _edit_host(request: web.Request, *, present: bool) -> web.StreamResponse:
    form = await request.post()
    await request.app[keys.MODERATION].set_host(
        field(form, "host", required=True, max_chars=300),
        field(form, "list") or "block",
        present=present,
        by=request[keys.ADMIN_SESSION].username,
        reason=field(form, "reason", max_chars=500),
    )
    return see_other("/admin/hosts")


async def post_host(request: web.Request) -> web.StreamResponse:
    """Add a host (name, URL, IP address or network) to the block (or allow) list."""
    return await _edit_host(request, present=True)


async def post_host_remove(request: web.Request) -> web.StreamResponse:
    """Take a host off a list."""
    return await _edit_host(request, present=False)


async def get_successors(request: web.Request) -> web.StreamResponse:
    """The last check of every redirect target, failures first, and a running check's
    progress (the page refreshes itself while one runs)."""
    checks = await request.app[keys.STORE].list_successor_checks()
    run = request.app[keys.SUCCESSOR_RUN]
    return render(request, "successors.html", {"checks": checks, "run": run})


async def post_check_successors(request: web.Request) -> web.StreamResponse:
    """Start checking every redirect target in the background; the page shows progress."""
    started = request.app[keys.SUCCESSOR_RUN].start()
    logger.info("successors_check_started" if started else "successors_check_already_running",
                actor=request[keys.ADMIN_SESSION].username)
    return see_other("/admin/successors")


def _instant(text: str, default: datetime) -> datetime:
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"admin: not an ISO 8601 instant: {text[:60]!r}") from None
    if value.tzinfo is None:
        raise BadRequest("admin: give the instant a timezone offset, e.g. +01:00")
    return value


async def get_explain(request: web.Request) -> web.StreamResponse:
    """What a GET of a URL does at an instant (a read-only form: no token in the URL)."""
    app = request.app
    url = request.query.get("url", "").strip()[:2000]
    at_text = request.query.get("at", "").strip()[:60]
    result: dict[str, Any] | None = None
    if url:
        at = _instant(at_text, app[keys.CLOCK].now())
        result = explain_url(
            app[keys.SETTINGS],
            app[keys.LIVE].canonicaliser,
            await app[keys.STORE].list_mappings(),
            url,
            at,
            app[keys.LIVE].snapshot.registry,
        )
    return render(request, "explain.html", {"url": url, "at": at_text, "result": result})


async def get_webhooks(request: web.Request) -> web.StreamResponse:
    """The webhook delivery log, newest first."""
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    page = page_number(request)
    deliveries = await app[keys.STORE].list_webhook_deliveries(limit=size, offset=(page - 1) * size)
    return render(
        request,
        "webhooks.html",
        {
            "deliveries": deliveries,
            "page": page,
            "more": len(deliveries) == size,
            "url": app[keys.SETTINGS].webhook.url,
            "max_attempts": app[keys.SETTINGS].webhook.max_attempts,
        },
    )
