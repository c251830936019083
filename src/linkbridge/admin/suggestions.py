"""The suggestions page: each old post beside the successor page proposed for it, most important
first; a moderator accepts (one click: the mapping is made through the moderation service,
recorded like every redirect change), edits the target, or rejects."""

from __future__ import annotations

from aiohttp import web

from linkbridge import keys
from linkbridge.admin.page import field, render, see_other
from linkbridge.errors import BadRequest, NotFound


async def get_suggestions(request: web.Request) -> web.StreamResponse:
    app = request.app
    size = app[keys.SETTINGS].admin.page_items
    rows = await app[keys.STORE].list_suggestions(limit=size)
    registry = app[keys.LIVE].snapshot.registry if app[keys.LIVE].loaded else None
    permalinks = {}
    if registry is not None:
        for post in registry.posts():
            permalinks[post.path] = post.permalink
    return render(request, "suggestions.html", {"rows": rows, "permalinks": permalinks})


async def post_suggestion(request: web.Request) -> web.StreamResponse:
    """Accept (with the proposed or an edited target) or reject one suggestion."""
    form = await request.post()
    path = field(form, "path", required=True)
    action = field(form, "action", required=True)
    app = request.app
    by = request[keys.ADMIN_SESSION].username
    now = app[keys.CLOCK].now()
    if action == "reject":
        found = await app[keys.STORE].set_suggestion_state(path, "rejected", now)
    elif action == "accept":
        target = field(form, "target", required=True)
        await app[keys.MODERATION].map(path, target, by=by,
                                       reason=field(form, "reason", max_chars=500)
                                       or "accepted suggestion")
        found = await app[keys.STORE].set_suggestion_state(path, "accepted", now)
    else:
        raise BadRequest("admin: accept or reject")
    if found is None:
        raise NotFound("admin: no suggestion for that path")
    return see_other("/admin/suggestions")
