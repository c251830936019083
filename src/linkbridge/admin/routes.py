"""The /admin route table, registered before the catch-all so no /admin path leaks past it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from linkbridge import keys
from linkbridge.admin import auth, redirects, suggestions, tools, views
from linkbridge.admin.page import not_found, setup_templates
from linkbridge.passwords import AdminGate

ID = r"{id:\d{1,18}}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes(Protocol):
    """Where routes go: web/middleware.py's `ContextRoutes` (each handler in the request
    context; a protocol here, so admin/ imports nothing of web/)."""

    def add_route(self, method: str, path: str, handler: Handler) -> None: ...
    def add_get(self, path: str, handler: Handler) -> None: ...
    def add_post(self, path: str, handler: Handler) -> None: ...


async def _unknown(request: web.Request) -> web.StreamResponse:
    """Any other /admin path (or method): behind the guard, then 404."""
    return not_found()


def add_admin_routes(app: web.Application, r: Routes) -> None:
    """Templates, the on/off gate, and every /admin route; all but the login are guarded."""
    setup_templates(app)
    app[keys.ADMIN_GATE] = AdminGate(app[keys.STORE])
    p = auth.protect
    r.add_get("/admin/login", auth.get_login)
    r.add_post("/admin/login", auth.post_login)
    r.add_post("/admin/logout", p(auth.post_logout))
    r.add_route("*", "/admin", p(views.go_home))
    r.add_get("/admin/", p(views.get_queue))
    r.add_get("/admin/linkbacks", p(views.get_linkbacks))
    r.add_get(f"/admin/linkbacks/{ID}", p(views.get_linkback))
    r.add_post(f"/admin/linkbacks/{ID}", p(views.post_decision, page=views.get_linkback))
    r.add_post("/admin/linkbacks/bulk", p(views.post_bulk, page=views.get_queue))
    r.add_get("/admin/history", p(views.get_history))
    r.add_get("/admin/hosts", p(tools.get_hosts))
    r.add_post("/admin/hosts", p(tools.post_host, page=tools.get_hosts))
    r.add_post("/admin/hosts/remove", p(tools.post_host_remove, page=tools.get_hosts))
    r.add_get("/admin/redirects", p(redirects.get_redirects))
    r.add_post("/admin/redirects", p(redirects.post_mapping, page=redirects.get_redirects))
    r.add_post("/admin/redirects/delete", p(redirects.post_delete, page=redirects.get_redirects))
    r.add_post("/admin/redirects/import", p(redirects.post_import, page=redirects.get_redirects))
    r.add_get("/admin/redirects/export.csv", p(redirects.get_export))
    r.add_get("/admin/hits", p(redirects.get_hits))
    r.add_post("/admin/hits", p(redirects.post_map_hit, page=redirects.get_hits))
    r.add_get("/admin/suggestions", p(suggestions.get_suggestions))
    r.add_post("/admin/suggestions",
               p(suggestions.post_suggestion, page=suggestions.get_suggestions))
    r.add_get("/admin/successors", p(tools.get_successors))
    r.add_post("/admin/successors", p(tools.post_check_successors))
    r.add_get("/admin/explain", p(tools.get_explain))
    r.add_get("/admin/webhooks", p(tools.get_webhooks))
    r.add_route("*", "/admin/{tail:.*}", p(_unknown))
