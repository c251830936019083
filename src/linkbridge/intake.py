"""The one pipeline every linkback protocol calls: resolve, refuse, store, then settle.

Settling (verify, then the state it leads to) lives in settle.py; the answers in answers.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import structlog

from linkbridge.answers import Answer, IntakeResult, Refusal
from linkbridge.errors import AlreadyDecided, LimitReached, LinkbridgeError
from linkbridge.model import (
    LinkbackDraft,
    LinkbackProtocol,
    Post,
    ReceiveLimits,
)
from linkbridge.phase import Phase, phase_at
from linkbridge.posts.registry import ResolutionKind
from linkbridge.ratelimit import RATE_WINDOW_S, RateLimiter
from linkbridge.settle import VERIFY_JOB, Settler
from linkbridge.text import url_is_clean
from linkbridge.urls import fold_host, host_of

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Incoming:
    """A linkback as a receiver parsed it off the wire."""

    protocol: LinkbackProtocol
    source_url: str
    target_url: str
    client_ip: str = ""
    title: str = ""
    excerpt: str = ""
    blog_name: str = ""
    post: Post | None = None
    """Set when the wire format names the post itself (trackback ping URLs)."""
    repeat_window_s: float = 0.0
    """A re-send within this long of the row's first receipt is verified once, when the
    window ends, whichever instance received it (0: off)."""


class Intake:
    """Shared by pingback, trackback and webmention; the job worker calls `run_verify_job`."""

    def __init__(self, settler: Settler) -> None:
        self.settler = settler
        self.settings = settler.settings
        self.store = settler.store
        self.live = settler.live
        self.clock = settler.clock
        self.profiles = settler.profiles
        settings = settler.settings
        self.rate_limits = {
            LinkbackProtocol.PINGBACK: RateLimiter(settings.pingback.rate_per_min),
            LinkbackProtocol.TRACKBACK: RateLimiter(settings.trackback.rate_per_min),
            LinkbackProtocol.WEBMENTION: RateLimiter(settings.webmention.rate_per_min),
        }
        self._background: set[asyncio.Task[IntakeResult]] = set()
        self._in_flight: dict[tuple[str, str, str], asyncio.Task[IntakeResult]] = {}
        self.on_result: Callable[[Incoming, IntakeResult], None] | None = None
        """Told every answer `receive` gives (the metrics)."""

    # ------------------------------------------------------------ target checks
    def successor_for(self, target_url: str) -> str:
        """Where a target lives after the instant: its retirement outcome, else `web`."""
        try:
            outcome = self.live.snapshot.table.lookup(self.live.canonicaliser.path_key(target_url))
        except LinkbridgeError:
            return self.settings.successors.web
        return outcome.location or self.settings.successors.web

    def refuse_urls(self, incoming: Incoming) -> IntakeResult | None:
        """A refusal for URLs that are too long or carry whitespace, control or bidi
        characters (nothing is canonicalised, looked up or stored for them), else None."""
        limit = self.settings.moderation.max_url_chars
        if len(incoming.source_url) > limit or len(incoming.target_url) > limit:
            return self._refuse(
                Refusal.URL_TOO_LONG, f"URLs longer than {limit} characters are refused"
            )
        if not url_is_clean(incoming.source_url):
            return self._refuse(Refusal.BAD_SOURCE, "the source URL has control characters")
        if not url_is_clean(incoming.target_url):
            return self._refuse(Refusal.TARGET_UNKNOWN, "the target URL has control characters")
        return None

    def resolve_target(self, incoming: Incoming) -> Post | IntakeResult:
        """The post a linkback is for, or the refusal that ends it."""
        refused = self.refuse_urls(incoming)
        if refused is not None:
            return refused
        if phase_at(self.clock.now(), self.settings.site.shutdown_at) == Phase.AFTER:
            return self._refuse(
                Refusal.AFTER_SHUTDOWN,
                "the blog has closed",
                successor=self.successor_for(incoming.target_url),
            )
        post = incoming.post
        if post is None:
            try:
                res = self.live.snapshot.registry.resolve(incoming.target_url)
            except LinkbridgeError:  # not decodable as a URL
                return self._refuse(Refusal.TARGET_UNKNOWN, "the target is not a usable URL")
            if res.kind == ResolutionKind.FOREIGN:
                return self._refuse(Refusal.TARGET_FOREIGN, "the target is not on this site")
            if res.kind == ResolutionKind.NOT_A_POST:
                return self._refuse(Refusal.TARGET_NOT_POST, "the target is not a post")
            if res.kind == ResolutionKind.TOMBSTONE:
                return self._refuse(Refusal.TARGET_TOMBSTONE, "the target post is gone")
            if res.kind != ResolutionKind.POST or res.post is None:
                return self._refuse(Refusal.TARGET_UNKNOWN, "the target does not exist")
            post = res.post
        if post.tombstone:
            return self._refuse(Refusal.TARGET_TOMBSTONE, "the target post is gone")
        if not post.pings_open or self.settings.posts.pings_closed:
            return self._refuse(Refusal.PINGS_CLOSED, "pings are closed for this post")
        return post

    def pair_key(self, incoming: Incoming, post: Post) -> str:
        """The (canonical source, post) pair a repeat window keys on, not the raw strings."""
        try:
            source = self.live.canonicaliser.source_key(incoming.source_url)
        except LinkbridgeError:  # the intake refuses it; any key will do
            source = incoming.source_url
        return f"{source}\n{post.blog}?p={post.post_id}"

    def _refuse(
        self,
        refusal: Refusal,
        message: str,
        *,
        successor: str = "",
        retry_after_s: int | None = None,
    ) -> IntakeResult:
        return IntakeResult(
            Answer.REFUSED,
            refusal=refusal,
            message=message,
            successor=successor,
            retry_after_s=retry_after_s,
        )

    def _rate_limited(self, incoming: Incoming) -> IntakeResult | None:
        """The refusal when the sender's address is over its protocol's rate (every send,
        re-sends and coalesced repeats included, counts)."""
        limiter = self.rate_limits[incoming.protocol]
        if limiter.allow(incoming.client_ip):
            return None
        return self._refuse(
            Refusal.RATE_LIMITED,
            "too many linkbacks from this address",
            retry_after_s=limiter.retry_after_s(incoming.client_ip),
        )

    # ------------------------------------------------------------ receive
    async def receive(
        self,
        incoming: Incoming,
        *,
        inline_budget_s: float | None = None,
        verify_after_s: float = 0.0,
        arrived_at: float | None = None,
    ) -> IntakeResult:
        """Check, store (committed before any answer), then verify inline or queue.
        `verify_after_s` delays the verification (a webmention repeat window coalesces
        re-sends into one, when it ends). The inline budget counts from `arrived_at` (the
        event loop's time the request arrived; default: now): waiting for the commit is in it."""
        if arrived_at is None:
            arrived_at = asyncio.get_running_loop().time()
        return self.report(
            incoming,
            await self._receive_once(incoming, inline_budget_s, verify_after_s, arrived_at),
        )

    def report(self, incoming: Incoming, result: IntakeResult) -> IntakeResult:
        """Tell `on_result` the answer a linkback got (a handler calls it for answers it gives
        before `receive`), and return it."""
        if self.on_result is not None:
            self.on_result(incoming, result)
        return result

    async def _receive_once(
        self, incoming: Incoming, inline_budget_s: float | None, verify_after_s: float,
        arrived_at: float,
    ) -> IntakeResult:
        """`receive` itself.

        The same linkback arriving again while the first is in flight waits for it: "already
        registered" when the first verified (protocols where a re-send is a duplicate), else the
        first's own answer. One row, one fetch, one decision.
        """
        refused = self.refuse_urls(incoming)
        if refused is not None:
            return refused
        key = self._flight_key(incoming)
        first = self._in_flight.get(key) if key else None
        if first is not None:
            limited = self._rate_limited(incoming)
            if limited is not None:
                return limited
            result = await asyncio.shield(first)
            resend_is_duplicate = self.profiles[incoming.protocol].resend_is_duplicate
            if result.answer == Answer.VERIFIED and resend_is_duplicate:
                return IntakeResult(
                    Answer.DUPLICATE, linkback=result.linkback, message="already registered"
                )
            return replace(result, created=False)
        if key is None:
            return await self._receive(incoming, inline_budget_s, verify_after_s, arrived_at)
        task = asyncio.create_task(
            self._receive(incoming, inline_budget_s, verify_after_s, arrived_at)
        )
        self._in_flight[key] = task
        task.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(task)

    def _flight_key(self, incoming: Incoming) -> tuple[str, str, str] | None:
        canon = self.live.canonicaliser
        try:
            target = (
                f"{incoming.post.blog}?p={incoming.post.post_id}"
                if incoming.post
                else canon.canonical(incoming.target_url)
            )
            return incoming.protocol.value, canon.source_key(incoming.source_url), target
        except (LinkbridgeError, ValueError):
            return None

    def _landed(self, key: tuple[str, str, str], task: asyncio.Task[IntakeResult]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: the first caller may have gone

    async def _receive(
        self, incoming: Incoming, inline_budget_s: float | None, verify_after_s: float,
        arrived_at: float,
    ) -> IntakeResult:
        target = self.resolve_target(incoming)
        if isinstance(target, IntakeResult):
            return target
        post = target
        host = fold_host(host_of(incoming.source_url))
        # host first: host_of is "" for what urlsplit refuses ("http://[::1/")
        if not host or urlsplit(incoming.source_url).scheme not in ("http", "https"):
            return self._refuse(Refusal.BAD_SOURCE, "the source is not an http(s) URL")
        try:
            res = self.live.snapshot.registry.resolve(incoming.source_url)
            source_canonical = self.live.canonicaliser.source_key(incoming.source_url)
        except LinkbridgeError:  # not decodable as a URL
            return self._refuse(Refusal.BAD_SOURCE, "the source is not a usable URL")
        if res.post is not None and res.post.key == post.key:
            return self._refuse(Refusal.SAME_POST, "the source and target are the same post")
        if self.live.snapshot.lists.is_blocked(host, incoming.source_url):
            return self._refuse(Refusal.BLOCKED, "the source host is blocked")
        limited = self._rate_limited(incoming)
        if limited is not None:
            return limited
        now = self.clock.now()
        day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

        profile = self.profiles[incoming.protocol]
        run_after = now + timedelta(seconds=verify_after_s)
        if inline_budget_s is not None:  # the inline check gets its chance first
            run_after = now + timedelta(seconds=inline_budget_s + self.settings.fetch.timeout_s)
        draft = LinkbackDraft(
            blog=post.blog,
            post_id=post.post_id,
            source_url=incoming.source_url,
            source_canonical=source_canonical,
            source_host=host,
            protocol=incoming.protocol,
            target_url=incoming.target_url or post.permalink,
            title=incoming.title,
            excerpt=incoming.excerpt,
            blog_name=incoming.blog_name,
            client_ip=incoming.client_ip,
            public_id=secrets.token_urlsafe(16)
            if incoming.protocol == LinkbackProtocol.WEBMENTION
            else None,
        )
        needs_job = profile.verify
        try:
            recorded = await self.store.record_linkback(
                draft,
                now,
                resend_is_duplicate=profile.resend_is_duplicate,
                job_kind=VERIFY_JOB if needs_job else None,
                job_run_after=run_after,
                reverify_imported=self.settings.moderation.reverify_imported,
                limits=self._shared_limits(incoming, now, day_start),
            )
        except LimitReached as exc:  # the shared count, in the accepting transaction
            refusal = Refusal(exc.reason)
            retry_after_s = None
            if refusal == Refusal.DAILY_CAP:
                next_day = (day_start + timedelta(days=1) - now).total_seconds()
                retry_after_s = max(1, int(next_day))
            elif refusal == Refusal.RATE_LIMITED:
                retry_after_s = self.rate_limits[incoming.protocol].retry_after_s(
                    incoming.client_ip)
            return self._refuse(refusal, exc.message.removeprefix("store: "),
                                retry_after_s=retry_after_s)
        lb = recorded.linkback
        log = logger.bind(
            linkback_id=lb.id, protocol=incoming.protocol.value, source=draft.source_url
        )
        if recorded.duplicate:
            log.info("linkback_duplicate", state=lb.state.value)
            return IntakeResult(Answer.DUPLICATE, linkback=lb, message="already registered")
        log.info("linkback_received", created=recorded.created,
                 committed_after_ms=round((asyncio.get_running_loop().time() - arrived_at) * 1000))
        if not needs_job:  # trackback.verify = false: WordPress behaviour, no fetch
            try:
                lb = await self.settler.decide_verified(
                    lb, None, "not verified (trackback.verify = false)"
                )
            except AlreadyDecided:  # the same trackback, settled a moment ago elsewhere
                return IntakeResult(Answer.DUPLICATE, linkback=lb, message="already registered")
            return IntakeResult(Answer.VERIFIED, linkback=lb)
        if inline_budget_s is None:
            return IntakeResult(Answer.QUEUED, linkback=lb, created=recorded.created)
        task = asyncio.create_task(
            self.settler.verify_and_settle(lb, recorded.job_id)
        )
        left_s = inline_budget_s - (asyncio.get_running_loop().time() - arrived_at)
        done, _ = await asyncio.wait({task}, timeout=max(0.0, left_s))
        if not done:  # budget overrun: let it finish in the background; the job is the backstop
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            log.info("linkback_verify_overran_budget", budget_s=inline_budget_s)
            return IntakeResult(Answer.QUEUED, linkback=lb, message="queued")
        return task.result()

    def _shared_limits(
        self, incoming: Incoming, now: datetime, day_start: datetime
    ) -> ReceiveLimits:
        """The limits the store counts in the accepting transaction: the local rate check
        above refuses a flood from one address for free; these make the rate hold across
        processes and instances, and count the host's daily cap (no read before the write)."""
        settings = self.settings
        return ReceiveLimits(
            rate_since=now - timedelta(seconds=RATE_WINDOW_S),
            rate_max=self.rate_limits[incoming.protocol].limit,
            host_since=day_start,
            host_max=settings.moderation.per_host_daily_cap,
            repeat_window_s=incoming.repeat_window_s,
        )

    # ------------------------------------------------------------ verify
    async def run_verify_job(self, linkback_id: int, job_id: int) -> None:
        """Entry point for the job worker."""
        await self.settler.verify_and_settle(linkback_id, job_id)

    async def close(self) -> None:
        """Cancel background verifications; their jobs finish them after a restart."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


__all__ = ["VERIFY_JOB", "Answer", "Incoming", "Intake", "IntakeResult", "Refusal"]
