"""Rendering admin pages: the Jinja2 environment (autoescape on), security headers, forms."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape
from multidict import MultiDictProxy

from linkbridge import keys
from linkbridge.errors import BadRequest
from linkbridge.pages.notice import words
from linkbridge.pages.render import http_url
from linkbridge.text import for_page

NAV = (
    ("/admin/", "admin.nav.queue"),
    ("/admin/linkbacks", "admin.nav.linkbacks"),
    ("/admin/hosts", "admin.nav.hosts"),
    ("/admin/redirects", "admin.nav.redirects"),
    ("/admin/hits", "admin.nav.hits"),
    ("/admin/suggestions", "admin.nav.suggestions"),
    ("/admin/successors", "admin.nav.successors"),
    ("/admin/explain", "admin.nav.explain"),
    ("/admin/webhooks", "admin.nav.webhooks"),
    ("/admin/history", "admin.nav.history"),
)
"""(path, words key) of each page in the navigation."""

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@jinja2.pass_context
def when(context: jinja2.runtime.Context, value: object) -> str:
    """A stored instant for people: in the blog's time zone (site.timezone), to the second."""
    if isinstance(value, datetime):
        return str(context["t"].local(value, seconds=True))
    return str(value or "")


def shown(value: object) -> object:
    """Every value a template writes passes here (Jinja2's `finalize`), then autoescaping:
    text goes through the one text path (`text.for_page`), so a row stored before intake
    cleaned text shows a bidi override as `\\u202e` instead of obeying it. Markup is ours
    (charts build theirs from text that passed `for_page` too)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return for_page(value)
    return value


def form_text(value: object) -> Markup:
    """A value carried back in a hidden form field exactly as it came (a row's key: a hit's
    path, a mapping's source, a host; the CSV text an import preview sends on to "Apply"):
    HTML-escaped, not rewritten for display, so the form acts on that very row and applying
    stores what was previewed. Never for text that is shown."""
    return escape(str(value))


def setup_templates(app: web.Application) -> None:
    """aiohttp-jinja2 on the package's templates, autoescaping everything."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("linkbridge.admin", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=shown,
    )
    env.filters["http_url"] = http_url
    env.filters["form_text"] = form_text
    env.filters["when"] = when


def harden(response: web.StreamResponse) -> web.StreamResponse:
    """No caching, no framing, no scripts, no referrer for links out to sources."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def not_found() -> web.Response:
    """What every /admin path answers while no password is set."""
    return web.Response(status=404, text="not found\n", content_type="text/plain")


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """A page with the layout's context: the moderator, the CSRF token, the navigation."""
    session = request.get(keys.ADMIN_SESSION)
    settings = request.app[keys.SETTINGS]
    t = words(settings)
    base: dict[str, Any] = {
        "t": t,
        "lang": t.language,
        "typed": {},
        "user": session.username if session else "",
        "csrf": session.csrf_token if session else "",
        "nav": NAV,
        "path": request.path,
        "here": request.path_qs,
        "error": "",
        "message": "",
        "base_url": settings.site.public_base_url,
    }
    failed = request.get(keys.FORM_FAILED)
    if failed is not None:
        base["error"], base["typed"] = failed
    base.update(context)
    return aiohttp_jinja2.render_template(template, request, base, status=status)


KEPT_FIELDS_MAX = 50
"""Form fields kept for a refused form (a bulk form's ticked ids count as one)."""


class FormTimeout(Exception):
    """A form's body did not arrive within server.body_timeout_s."""


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The POSTed form, sent within server.body_timeout_s (as every public body is): a client
    that trickles its body must not hold a connection and a handler; FormTimeout past it.
    aiohttp keeps the parsed form, so later `request.post()` calls read no more."""
    timeout_s = request.app[keys.SETTINGS].server.body_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            return await request.post()
    except TimeoutError:
        raise FormTimeout(f"admin: the form was not sent within {timeout_s:g} s") from None


def form_timeout_response(exc: FormTimeout) -> web.Response:
    """408, said plainly (the body never came, so there is no form to show again)."""
    return web.Response(status=408, text=f"{exc}\n", content_type="text/plain",
                        headers={"Connection": "close"})


def typed_values(form: MultiDictProxy[Any]) -> dict[str, str | list[str]]:
    """What a refused form held, to fill it in again (never the CSRF token or a password)."""
    kept: dict[str, str | list[str]] = {}
    for name in list(dict.fromkeys(form.keys()))[:KEPT_FIELDS_MAX]:
        if name in ("csrf", "password"):
            continue
        values = [v[:2000] for v in form.getall(name) if isinstance(v, str)]
        if name == "id":
            kept[name] = values[:500]
        elif values:
            kept[name] = values[0]
    return kept


def see_other(location: str) -> web.Response:
    """303 after a POST (the browser then GETs the page)."""
    return web.Response(status=303, headers={"Location": location})


def field(
    form: MultiDictProxy[Any], name: str, *, required: bool = False, max_chars: int = 2000
) -> str:
    """One text field of a form, stripped; BadRequest when required and empty or too long."""
    value = form.get(name, "")
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise BadRequest(f"admin: the form needs {name!r}")
    if len(text) > max_chars:
        raise BadRequest(f"admin: {name!r} is longer than {max_chars} characters")
    return text


def back_to(form: MultiDictProxy[Any], default: str) -> str:
    """The form's `next` when it is an admin path (never another site), else `default`."""
    target = form.get("next", "")
    if (
        isinstance(target, str)
        and target.startswith("/admin/")
        and "\\" not in target
        and all(0x21 <= ord(ch) <= 0x7E for ch in target)
    ):
        return target
    return default


def page_number(request: web.Request) -> int:
    """`?page=N` (1-based), bad values read as 1."""
    try:
        return max(1, min(int(request.query.get("page", "1")), 100000))
    except ValueError:
        return 1
