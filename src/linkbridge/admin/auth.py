"""Login, logout and the guard every other /admin route goes through (session, CSRF)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from aiohttp import web

from linkbridge import keys
from linkbridge.admin.page import (
    FormTimeout,
    form_timeout_response,
    harden,
    not_found,
    read_form,
    render,
    typed_values,
)
from linkbridge.errors import LinkbridgeError
from linkbridge.login import LoginVerdict
from linkbridge.model import AdminSession
from linkbridge.negotiate import wants_json

logger = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "lb_admin"
LOGIN_COOKIE = "lb_admin_login"
"""Holds the login form's CSRF token (double submit): there is no session yet to hold it."""
COOKIE_PATH = "/admin"
LOGIN_PATH = "/admin/login"
HOME_PATH = "/admin/"
MAX_TOKEN_CHARS = 128


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256 (the token itself never)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(expected: str, given: object) -> bool:
    """Constant-time comparison of a CSRF token with what a form sent."""
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def is_https(request: web.Request) -> bool:
    """https itself, or X-Forwarded-Proto: https from a trusted proxy."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    if proto != "https":
        return False
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    trusted = request.app[keys.SETTINGS].server.trusted_proxies
    return any(peer in ipaddress.ip_network(c, strict=False) for c in trusted)


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )


async def admin_enabled(request: web.Request) -> bool:
    """The page is on once any moderator has a password (cached per store version)."""
    app = request.app
    return await app[keys.ADMIN_GATE].enabled(app[keys.LIVE].snapshot.version)


async def current_session(request: web.Request) -> AdminSession | None:
    """The unexpired session the cookie names, if any."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    app = request.app
    return await app[keys.STORE].get_admin_session(token_hash(token), app[keys.CLOCK].now())


def protect(handler: Handler, *, page: Handler | None = None) -> Handler:
    """404 while the page is off; 303 to the login (403 for JSON) without a session;
    403 for a state-changing request without the session's CSRF token. A refused POST shows
    `page` again (the form's own page) with the error in the form and the input kept."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not await admin_enabled(request):
            return not_found()
        session = await current_session(request)
        if session is None:
            if wants_json(request.headers.get("Accept")):
                return harden(
                    web.json_response(
                        {"error": "login_required", "message": "log in at /admin/login"}, status=403
                    )
                )
            return harden(web.Response(status=303, headers={"Location": LOGIN_PATH}))
        if request.method not in ("GET", "HEAD"):
            try:
                form = await read_form(request)
            except FormTimeout as exc:
                return harden(form_timeout_response(exc))
            if not same_token(session.csrf_token, form.get("csrf")):
                return harden(
                    web.Response(
                        status=403,
                        text="admin: missing or wrong CSRF token\n",
                        content_type="text/plain",
                    )
                )
        request[keys.ADMIN_SESSION] = session
        try:
            response = await handler(request)
        except LinkbridgeError as exc:
            response = await _refused(request, exc, page)
        return harden(response)

    return guarded


async def _refused(
    request: web.Request, exc: LinkbridgeError, page: Handler | None
) -> web.StreamResponse:
    """The form's page again, showing the error once in the form and keeping the input; a
    page of its own when there is no form to go back to."""
    if page is not None and request.method == "POST":
        request[keys.FORM_FAILED] = (exc.message, typed_values(await request.post()))
        try:
            response = await page(request)
        except LinkbridgeError:
            pass
        else:
            response.set_status(exc.status)
            return response
    return render(request, "error.html", {"error": exc.message}, status=exc.status)


# ---------------------------------------------------------------- login and logout


async def get_login(request: web.Request) -> web.StreamResponse:
    """The login form, with a fresh CSRF token in a cookie and a hidden field."""
    if not await admin_enabled(request):
        return not_found()
    if await current_session(request) is not None:
        return harden(web.Response(status=303, headers={"Location": HOME_PATH}))
    return _login_form(request, "", status=200)


def _login_form(
    request: web.Request, error: str, *, status: int, username: str = ""
) -> web.StreamResponse:
    csrf = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"csrf": csrf, "error": error, "username": username}, status=status
    )
    _set_cookie(request, response, LOGIN_COOKIE, csrf, 3600)
    return harden(response)


async def post_login(request: web.Request) -> web.StreamResponse:
    """Check the rate limit, the CSRF token and the password; then start a session."""
    if not await admin_enabled(request):
        return not_found()
    app = request.app
    client_ip = request[keys.CLIENT_IP]
    try:
        form = await read_form(request)
    except FormTimeout as exc:
        return harden(form_timeout_response(exc))
    if not same_token(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
        return harden(
            web.Response(
                status=403, text="admin: missing or wrong CSRF token\n", content_type="text/plain"
            )
        )
    username = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))
    verdict = await app[keys.LOGIN_GUARD].attempt(app[keys.STORE], client_ip, username, password)
    if verdict is LoginVerdict.LIMITED:
        logger.warning("admin_login_rate_limited", client_ip=client_ip)
        return _login_form(request, "Too many attempts; wait a minute.", status=429)
    if verdict is LoginVerdict.BUSY:
        logger.warning("admin_login_busy", client_ip=client_ip)
        return _login_form(request, "Too many logins at once; try again.", status=503)
    if verdict is not LoginVerdict.OK:
        logger.info("admin_login_failed", username=username, client_ip=client_ip)
        return _login_form(request, "Wrong user name or password.", status=401, username=username)
    token = secrets.token_urlsafe(32)
    max_age = app[keys.SETTINGS].admin.session_max_age_s
    now = app[keys.CLOCK].now()
    session = AdminSession(
        token_hash(token), username, secrets.token_urlsafe(32), now + timedelta(seconds=max_age)
    )
    await app[keys.STORE].create_admin_session(session, now)
    logger.info("admin_login_succeeded", username=username, client_ip=client_ip)
    response = web.Response(status=303, headers={"Location": HOME_PATH})
    _set_cookie(request, response, SESSION_COOKIE, token, max_age)
    response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return harden(response)


async def post_logout(request: web.Request) -> web.StreamResponse:
    """End the session (the guard has checked its CSRF token)."""
    session = request[keys.ADMIN_SESSION]
    await request.app[keys.STORE].delete_admin_session(session.token_hash)
    logger.info("admin_logged_out", username=session.username)
    response = web.Response(status=303, headers={"Location": LOGIN_PATH})
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
