"""Every typed key of the application and request state, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from linkbridge.clock import Clock
from linkbridge.feeds.serve import FeedCache, PollAnswer, PollShape
from linkbridge.intake import Intake
from linkbridge.jobs import JobWorker
from linkbridge.live import LiveState
from linkbridge.login import LoginGuard
from linkbridge.memo import BoundedMemo
from linkbridge.metrics import Metrics
from linkbridge.model import AdminSession
from linkbridge.moderation.service import Moderation
from linkbridge.moderation.webhook import WebhookSender
from linkbridge.passwords import AdminGate
from linkbridge.ratelimit import RepeatWindow
from linkbridge.retire.archive import ArchiveIndex
from linkbridge.retire.hits import HitCounter
from linkbridge.retire.proxy import OriginProxy
from linkbridge.retire.successors import SuccessorCheckRun
from linkbridge.settings import ConfigInfo, Settings
from linkbridge.store import Store
from linkbridge.verify import SafeFetcher, Verifier

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
CLOCK = web.AppKey("clock", Clock)
FETCHER = web.AppKey("fetcher", SafeFetcher)
VERIFIER = web.AppKey("verifier", Verifier)
LIVE = web.AppKey("live", LiveState)
INTAKE = web.AppKey("intake", Intake)
WORKER = web.AppKey("worker", JobWorker)
HITS = web.AppKey("hits", HitCounter)
PROXY = web.AppKey("proxy", OriginProxy)
FEED_CACHE = web.AppKey("feed_cache", FeedCache)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CATCH_ALL: web.AppKey[Handler] = web.AppKey("catch_all")
"""web/site.py's catch-all handler (made for the app's settings)."""
CATCH_ALL_IN_CONTEXT: web.AppKey[Handler] = web.AppKey("catch_all_in_context")
"""The same, for a route already inside the request context (it hands its request over)."""
API_CACHE = web.AppKey("api_cache", FeedCache)
METRICS = web.AppKey("metrics", Metrics)
ARCHIVE = web.AppKey("archive", ArchiveIndex)
"""Web-archive snapshot links by old post path, for the 410 page."""
CONFIG = web.AppKey("config", ConfigInfo)
"""Which configuration this instance runs (`serve` sets it; /readyz shows it)."""
"""Answers of /api/ by (path and query, version): the feeds' cache class, its own entries."""
FEED_ANSWERS = web.AppKey("feed_answers", BoundedMemo[PollShape, PollAnswer])
"""Feed polls' answers by their shape, with the versions they were answered at."""
FEED_SCOPES = web.AppKey("feed_scopes", BoundedMemo[tuple[str, int], str])
"""(post feed key, content version) -> the post's feed scope."""
WEBMENTION_REPEATS = web.AppKey("webmention_repeats", RepeatWindow)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
SITEMAPS = web.AppKey("sitemaps", dict[int, dict[str, bytes]])
ADMIN_GATE = web.AppKey("admin_gate", AdminGate)
WEBHOOKS = web.AppKey("webhooks", WebhookSender)
MODERATION = web.AppKey("moderation", Moderation)
SUCCESSOR_RUN = web.AppKey("successor_run", SuccessorCheckRun)
"""The admin's background successor check ("Check now")."""

REQUEST_ID = web.RequestKey("request_id", str)
CLIENT_IP = web.RequestKey("client_ip", str)
ARRIVED_AT = web.RequestKey("arrived_at", float)
"""The event loop's time a pingback request arrived (its connection's accept, or when it reached
its handler: web.connections.arrival): the inline budget's start."""
LOG_SAMPLE_RATE = web.RequestKey("log_sample_rate", float)
"""Set when a hot outcome (feed, retired URL) runs inside the request context: its canonical
log line is sampled at this share (web/site.py)."""
ADMIN_SESSION = web.RequestKey("admin_session", AdminSession)
"""The logged-in moderator's session, set by the admin guard."""
FORM_FAILED = web.RequestKey("form_failed", tuple[str, dict[str, str | list[str]]])
"""(error message, what was typed) when an admin form was refused: its page is shown again
with the error in that form and the input kept."""
