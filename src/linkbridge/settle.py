"""Settles a stored linkback: verify its source, then move it by the outcomes table.

The table is in docs/architecture.md, "Verification outcomes and answers".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import structlog

from linkbridge.answers import Answer, IntakeResult
from linkbridge.clock import Clock
from linkbridge.errors import AlreadyDecided, IllegalTransition, LinkbridgeError
from linkbridge.live import LiveState
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, SourceDetails
from linkbridge.moderation.rules import state_after_verification
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.verify import OutcomeKind, Verifier, VerifyOutcome

logger = structlog.get_logger(__name__)

VERIFY_JOB = "verify"

Notify = Callable[[Linkback], Awaitable[None]]


@dataclass(frozen=True)
class Profile:
    """Per-protocol limits and behaviour."""

    max_bytes: int
    max_redirects: int
    resend_is_duplicate: bool
    verify: bool = True


def profiles(settings: Settings) -> dict[LinkbackProtocol, Profile]:
    """The three protocols' profiles from settings."""
    return {
        LinkbackProtocol.PINGBACK: Profile(
            settings.pingback.max_bytes, settings.pingback.max_redirects, True
        ),
        LinkbackProtocol.TRACKBACK: Profile(
            settings.trackback.max_bytes,
            settings.trackback.max_redirects,
            True,
            verify=settings.trackback.verify,
        ),
        LinkbackProtocol.WEBMENTION: Profile(
            settings.webmention.max_bytes, settings.webmention.max_redirects, False
        ),
    }


class Settler:
    """Verification and the state it leads to; shared by the inline path and the job queue."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        live: LiveState,
        verifier: Verifier,
        clock: Clock,
        *,
        notify: Notify | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.live = live
        self.verifier = verifier
        self.clock = clock
        self.notify = notify
        """Called after every state change the pipeline makes (the webhook notifier)."""
        self.on_outcome: Callable[[str], None] | None = None
        """Told the kind of every verification outcome (the metrics)."""
        self.profiles = profiles(settings)

    async def verify_and_settle(
        self, linkback_id: int, job_id: int | None, *, inline: bool
    ) -> IntakeResult:
        """Verify one unverified row and settle it; completes or reschedules its job.

        When another receiver (process, instance) settles the same row while this one
        verifies, the row's compare-and-set says so and the answer is "already registered".
        """
        try:
            return await self._verify_and_settle(linkback_id, job_id, inline=inline)
        except AlreadyDecided:
            if job_id is not None:
                await self.store.complete_job(job_id)
            current = await self.store.get_linkback(linkback_id)
            return IntakeResult(Answer.DUPLICATE, linkback=current,
                                message="already registered")

    async def _verify_and_settle(
        self, linkback_id: int, job_id: int | None, *, inline: bool
    ) -> IntakeResult:
        lb = await self.store.get_linkback(linkback_id)
        if lb is None or lb.state != LinkbackState.UNVERIFIED:
            if job_id is not None:
                await self.store.complete_job(job_id)
            return IntakeResult(Answer.DUPLICATE, linkback=lb)
        post = self.live.snapshot.registry.get(lb.post_key)
        if post is None or post.tombstone:
            lb = await self._set(lb, LinkbackState.FAILED, "the target post is gone")
            if job_id is not None:
                await self.store.complete_job(job_id)
            return IntakeResult(Answer.MISSING, linkback=lb)
        profile = self.profiles[lb.protocol]
        registry = self.live.snapshot.registry

        def is_target(url: str) -> bool:
            try:
                found = registry.resolve(url)
            except LinkbridgeError:
                return False
            return found.post is not None and found.post.key == post.key

        outcome = await self.verifier.verify(
            lb.source_url,
            post.permalink,
            is_target,
            protocol=lb.protocol.value,
            max_bytes=profile.max_bytes,
            max_redirects=profile.max_redirects,
            client_ip=lb.client_ip,
        )
        return await self._apply(lb, outcome, inline=inline, job_id=job_id)

    async def _apply(
        self, lb: Linkback, outcome: VerifyOutcome, *, inline: bool, job_id: int | None
    ) -> IntakeResult:
        log = logger.bind(linkback_id=lb.id, outcome=outcome.kind.value, reason=outcome.reason)
        if self.on_outcome is not None:
            self.on_outcome(outcome.kind.value)
        kind = outcome.kind
        if kind == OutcomeKind.TRANSIENT:
            attempts = await self.store.count_attempt(lb.id, outcome.reason, self.clock.now())
            if attempts < self.settings.fetch.max_attempts:
                delay = self.settings.fetch.retry_base_s * 2 ** (attempts - 1)
                if job_id is not None:
                    await self.store.retry_job(
                        job_id, self.clock.now() + timedelta(seconds=delay), outcome.reason
                    )
                log.info("linkback_verify_retry", attempts=attempts, delay_s=delay)
                return IntakeResult(Answer.QUEUED, linkback=lb, message="queued")
            # retries ran out: never delete on a transient outcome
            back = lb.resend_from or LinkbackState.FAILED
            lb = await self._set(lb, back, f"gave up after {attempts} attempts: {outcome.reason}")
            answer = Answer.QUEUED
        elif kind == OutcomeKind.VERIFIED:
            lb = await self.decide_verified(lb, outcome, outcome.reason or "verified")
            answer = Answer.VERIFIED
        elif kind == OutcomeKind.REFUSED:
            lb = await self._set(lb, LinkbackState.FAILED, "refused")
            answer = Answer.POLICY
        elif kind == OutcomeKind.GONE:
            new = LinkbackState.FAILED if inline else LinkbackState.DELETED
            lb = await self._set(lb, new, outcome.reason)
            answer = Answer.GONE
        else:  # no link, missing
            shown = lb.resend_from == LinkbackState.APPROVED
            lb = await self._set(
                lb, LinkbackState.DELETED if shown else LinkbackState.FAILED, outcome.reason
            )
            answer = Answer.NO_LINK if kind == OutcomeKind.NO_LINK else Answer.MISSING
        if job_id is not None:
            await self.store.complete_job(job_id)
        log.info("linkback_verified", state=lb.state.value)
        return IntakeResult(answer, linkback=lb, message=outcome.reason)

    async def decide_verified(
        self, lb: Linkback, outcome: VerifyOutcome | None, reason: str
    ) -> Linkback:
        # a re-sent mention that was shown counts as its host's earlier approval
        known = lb.resend_from == LinkbackState.APPROVED or await self.store.host_has_approved(
            lb.source_host
        )
        state = state_after_verification(
            self.settings.moderation,
            self.live.snapshot.lists,
            lb.source_host,
            host_known_good=known,
        )
        details = None
        if outcome is not None and outcome.fields is not None:
            details = outcome.fields.to_details()
            if lb.protocol == LinkbackProtocol.TRACKBACK:  # the sender's own words stay
                details = replace(
                    details, title=lb.title or details.title, excerpt=lb.excerpt or details.excerpt
                )
        return await self._set(lb, state, reason, details=details, actor="rule")

    async def _set(
        self,
        lb: Linkback,
        state: LinkbackState,
        reason: str,
        *,
        details: SourceDetails | None = None,
        actor: str = "verifier",
    ) -> Linkback:
        try:
            changed = await self.store.set_state(
                lb.id, state, actor=actor, reason=reason, now=self.clock.now(), details=details,
                from_state=lb.state,
            )
        except AlreadyDecided:
            raise  # the row moved since it was read: the caller answers "already registered"
        except IllegalTransition:  # the state machine said no
            current = await self.store.get_linkback(lb.id)
            return current or lb
        if self.notify is not None and changed.state != lb.state:
            try:
                await self.notify(changed)
            except Exception:  # a notification never undoes or blocks a decision
                logger.exception("linkback_notify_failed", linkback_id=lb.id)
        return changed
