"""Webmention endpoint (W3C): 201 + Location of a status resource; verification queued."""

from __future__ import annotations

from aiohttp import web

from linkbridge import keys
from linkbridge.intake import Answer, Incoming, IntakeResult, Refusal
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState
from linkbridge.negotiate import wants_json
from linkbridge.pages.notice import languages, words
from linkbridge.pages.render import render
from linkbridge.receive.webmention_wire import WebmentionError, parse_webmention
from linkbridge.settings import Settings
from linkbridge.urls import public_url
from linkbridge.web.body import BodyTooLarge, method_not_allowed, read_body
from linkbridge.web.public_headers import PUBLIC_PAGE_HEADERS

STATUS_WORDS: dict[LinkbackState, str] = {
    LinkbackState.UNVERIFIED: "queued",
    LinkbackState.HELD: "verified-held",
    LinkbackState.APPROVED: "approved",
    LinkbackState.REJECTED: "rejected",
    LinkbackState.SPAM: "rejected",
    LinkbackState.FAILED: "failed",
    LinkbackState.DELETED: "deleted",
}
"""What the status resource says for each state (spam shows as rejected)."""

_VERIFIED_SHOWN = frozenset({LinkbackState.HELD, LinkbackState.APPROVED})
"""States whose status document also shows what verification read from the source."""

_REFUSAL_STATUS: dict[Refusal, int] = {
    Refusal.AFTER_SHUTDOWN: 410,
    Refusal.RATE_LIMITED: 429,
    Refusal.DAILY_CAP: 429,
}


def _json_asked(request: web.Request) -> bool:
    return wants_json(request.headers.get("Accept"))


def _bad(request: web.Request, status: int, reason: str, message: str) -> web.Response:
    """A refusal: a short reason as text/plain, or JSON when asked; never a Location."""
    headers = dict(PUBLIC_PAGE_HEADERS)
    if _json_asked(request):
        return web.json_response(
            {"error": reason, "message": message}, status=status, headers=headers
        )
    return web.Response(
        status=status, text=f"{message}\n", content_type="text/plain", headers=headers
    )


async def handle_webmention(request: web.Request) -> web.StreamResponse:
    """POST /webmention: synchronous checks only; the handler never fetches."""
    if request.method != "POST":
        return method_not_allowed(["POST"])
    app = request.app
    settings = app[keys.SETTINGS]
    try:
        body = await read_body(request, settings.webmention.max_body_bytes)
        mention = parse_webmention(body, request.headers.get("Content-Type"),
                                   max_body_bytes=settings.webmention.max_body_bytes)
    except WebmentionError as exc:
        return _bad(request, 400, exc.reason, exc.message)
    except BodyTooLarge as exc:
        return _bad(request, 413, exc.reason, exc.message)
    incoming = Incoming(LinkbackProtocol.WEBMENTION, mention.source, mention.target,
                        client_ip=request[keys.CLIENT_IP],
                        repeat_window_s=settings.webmention.repeat_window_s)
    intake = app[keys.INTAKE]
    target = intake.resolve_target(incoming)  # refused targets never open a repeat window
    if isinstance(target, IntakeResult):
        result = intake.report(incoming, target)
    else:  # a re-send within the window is an update, verified once when the window ends
        window = app[keys.WEBMENTION_REPEATS].remaining_s(intake.pair_key(incoming, target))
        result = await intake.receive(incoming, verify_after_s=window or 0.0)
    if result.answer == Answer.REFUSED and result.refusal is not None:
        status = _REFUSAL_STATUS.get(result.refusal, 400)
        message = result.message
        if result.refusal == Refusal.AFTER_SHUTDOWN:
            message = f"{message}; see {result.successor}"
        response = _bad(request, status, result.refusal.value, f"webmention: {message}")
        if result.retry_after_s is not None:
            response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    lb = result.linkback
    assert lb is not None
    assert lb.public_id is not None
    app[keys.WORKER].wake()
    location = public_url(settings.site.public_base_url, f"webmention/{lb.public_id}")
    created = result.created
    # 201 for a new mention; 202 for an update of a known one (the same status resource)
    return _status_response(request, lb, status=201 if created else 202, location=location)


async def get_status(request: web.Request) -> web.StreamResponse:
    """GET /webmention/<id>: JSON or HTML by Accept."""
    lb = await request.app[keys.STORE].get_linkback_by_public_id(request.match_info["public_id"])
    if lb is None:  # any row a webmention named has one, whichever protocol created it
        reason = await request.app[keys.STORE].pruned_reason(request.match_info["public_id"])
        if reason is not None:  # failed, never shown, and pruned after its retention period
            return _bad(request, 410, "failed_and_pruned",
                        f"webmention: failed ({reason}); pruned after "
                        f"{request.app[keys.SETTINGS].moderation.failed_retention_days} days")
        return _bad(request, 404, "not_found", "webmention: no such webmention")
    return _status_response(request, lb, status=200)


def status_document(lb: Linkback) -> dict[str, object]:
    """The status resource's fields."""
    doc: dict[str, object] = {
        "status": STATUS_WORDS[lb.state],
        "source": lb.source_url,
        "target": lb.target_url,
        "received": lb.created_at.isoformat(),
        "updated": lb.updated_at.isoformat(),
    }
    if lb.state in (LinkbackState.FAILED, LinkbackState.DELETED):
        doc["reason"] = lb.reason
    if lb.reverify_since is not None:  # a marker beside the state: what is shown stays shown
        doc["reverification"] = "queued"
    if lb.verified_at is not None and lb.state in _VERIFIED_SHOWN:
        doc["type"] = lb.mention_type
        author = {"name": lb.author_name, "url": lb.author_url, "photo": lb.author_photo}
        if any(author.values()):
            doc["author"] = author
        if lb.published_at is not None:
            doc["published"] = lb.published_at.isoformat()
    return doc


def _status_response(
    request: web.Request, lb: Linkback, *, status: int, location: str | None = None
) -> web.Response:
    headers = {"Location": location} if location else {}
    headers["Cache-Control"] = "no-store"
    headers.update(PUBLIC_PAGE_HEADERS)
    doc = status_document(lb)
    if _json_asked(request):
        return web.json_response(doc, status=status, headers=headers)
    return web.Response(
        status=status,
        body=status_page(request.app[keys.SETTINGS], lb),
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )


def status_page(settings: Settings, lb: Linkback) -> bytes:
    """The status resource as a page in the blog's language: a readable state, the author."""
    t = words(settings)
    key = "queued" if lb.state is LinkbackState.UNVERIFIED else lb.state.value
    shown = lb.verified_at is not None and lb.state in _VERIFIED_SHOWN
    others = [(lang, words(settings, lang)) for lang in languages(settings)[1:]]
    return render(
        settings,
        "webmention.html",
        other_languages=[(lang, w("status.heading"), w(f"state.{key}")) for lang, w in others],
        state=t(f"state.{key}"),
        state_key=key,
        source=lb.source_url,
        target=lb.target_url,
        reason=lb.reason if lb.state in (LinkbackState.FAILED, LinkbackState.DELETED) else "",
        author_name=lb.author_name if shown else "",
        author_url=lb.author_url if shown else "",
        author_photo=lb.author_photo if shown else "",
        received=t.local(lb.created_at),
        verified=t.local(lb.verified_at) if shown else "",
    )
