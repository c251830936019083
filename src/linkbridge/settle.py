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
        self, linkback: int | Linkback, job_id: int | None
    ) -> IntakeResult:
        """Verify one unverified row (or re-verify a marked one) and settle it; completes or
        reschedules its job.

        When another receiver (process, instance) settles the same row while this one
        verifies, the row's compare-and-set says so and the answer is "already registered".
        """
        linkback_id = linkback.id if isinstance(linkback, Linkback) else linkback
        try:
            return await self._verify_and_settle(linkback, job_id)
        except AlreadyDecided:
            if job_id is not None:
                await self.store.complete_job(job_id)
            current = await self.store.get_linkback(linkback_id)
            return IntakeResult(Answer.DUPLICATE, linkback=current,
                                message="already registered")

    async def _verify_and_settle(
        self, linkback: int | Linkback, job_id: int | None
    ) -> IntakeResult:
        # The intake hands over the row it has just written (no second read); jobs an id.
        lb = linkback if isinstance(linkback, Linkback) else await self.store.get_linkback(
            linkback
        )
        if lb is None or (lb.state != LinkbackState.UNVERIFIED and not lb.reverify_pending):
            if job_id is not None:
                await self.store.complete_job(job_id)
            return IntakeResult(Answer.DUPLICATE, linkback=lb)
        post = self.live.snapshot.registry.get(lb.post_key)
        if post is None or post.tombstone:
            if lb.reverify_pending:  # the post went, not the source: nothing to conclude
                lb = await self._finish_reverify(lb, None, "the target post is gone")
            else:
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
            lb.reverify_url or lb.source_url,
            post.permalink,
            is_target,
            protocol=lb.protocol.value,
            max_bytes=profile.max_bytes,
            max_redirects=profile.max_redirects,
            client_ip=lb.client_ip,
            target_hosts=self.live.canonicaliser.site_hosts,  # resolve() says FOREIGN to others
        )
        if self.on_outcome is not None:
            self.on_outcome(outcome.kind.value)
        if lb.reverify_pending:
            return await self._apply_reverify(lb, outcome, job_id=job_id)
        return await self._apply(lb, outcome, job_id=job_id)

    async def _retry(self, lb: Linkback, outcome: VerifyOutcome, job_id: int | None) -> int | None:
        """Count a transient attempt; reschedule and return None, or the count when spent."""
        attempts = await self.store.count_attempt(lb.id, outcome.reason, self.clock.now())
        if attempts >= self.settings.fetch.max_attempts:
            return attempts
        delay = self.settings.fetch.retry_base_s * 2 ** (attempts - 1)
        if job_id is not None:
            await self.store.retry_job(
                job_id, self.clock.now() + timedelta(seconds=delay), outcome.reason
            )
        logger.info("linkback_verify_retry", linkback_id=lb.id, attempts=attempts, delay_s=delay)
        return None

    async def _apply_reverify(
        self, lb: Linkback, outcome: VerifyOutcome, *, job_id: int | None
    ) -> IntakeResult:
        """A re-send of a verified row: only positive evidence removes it; verified again
        refreshes it; anything else leaves it exactly as it was."""
        kind = outcome.kind
        answer = _ANSWERS[kind]
        if kind == OutcomeKind.TRANSIENT:
            attempts = await self._retry(lb, outcome, job_id)
            if attempts is None:
                return IntakeResult(Answer.QUEUED, linkback=lb, message="queued")
            lb = await self._finish_reverify(lb, None, outcome.reason)
            answer = Answer.QUEUED
        elif kind == OutcomeKind.VERIFIED:
            lb = await self.decide_verified(lb, outcome, outcome.reason or "verified")
        elif outcome.is_evidence_of_removal and lb.state != LinkbackState.DELETED:
            # a shown row is deleted; a held one was never shown: it fails (and may be pruned)
            gone = LinkbackState.DELETED if lb.state == LinkbackState.APPROVED else (
                LinkbackState.FAILED
            )
            lb = await self._finish_reverify(lb, gone, outcome.reason)
        else:  # 404, DNS, refused, a truncated page: not evidence, nothing changes
            lb = await self._finish_reverify(lb, None, outcome.reason)
        if job_id is not None:
            await self.store.complete_job(job_id)
        logger.info("linkback_reverified", linkback_id=lb.id, outcome=kind.value,
                    state=lb.state.value, reason=outcome.reason)
        return IntakeResult(answer, linkback=lb, message=outcome.reason)

    async def _finish_reverify(
        self,
        lb: Linkback,
        state: LinkbackState | None,
        reason: str,
        *,
        details: SourceDetails | None = None,
        actor: str = "verifier",
    ) -> Linkback:
        changed = await self.store.finish_reverify(
            lb.id, lb.state, state, actor=actor, reason=reason, now=self.clock.now(),
            details=details,
        )
        await self._notify(lb, changed)
        return changed

    async def _apply(
        self, lb: Linkback, outcome: VerifyOutcome, *, job_id: int | None
    ) -> IntakeResult:
        """A first verification: the row was never shown, so nothing is ever deleted."""
        log = logger.bind(linkback_id=lb.id, outcome=outcome.kind.value, reason=outcome.reason)
        kind = outcome.kind
        answer = _ANSWERS[kind]
        if kind == OutcomeKind.TRANSIENT:
            attempts = await self._retry(lb, outcome, job_id)
            if attempts is None:
                return IntakeResult(Answer.QUEUED, linkback=lb, message="queued")
            reason = f"gave up after {attempts} attempts: {outcome.reason}"
            lb = await self._set(lb, LinkbackState.FAILED, reason, job_id=job_id)
            answer = Answer.QUEUED
        elif kind == OutcomeKind.VERIFIED:
            lb = await self.decide_verified(lb, outcome, outcome.reason or "verified",
                                            job_id=job_id)
        else:  # refused, gone, no link, missing: a first send that does not check out fails
            reason = "refused" if kind == OutcomeKind.REFUSED else outcome.reason
            lb = await self._set(lb, LinkbackState.FAILED, reason, job_id=job_id)
        # the job was completed in the same commit as the outcome (one write)
        log.info("linkback_verified", state=lb.state.value)
        return IntakeResult(answer, linkback=lb, message=outcome.reason)

    async def decide_verified(
        self, lb: Linkback, outcome: VerifyOutcome | None, reason: str, *,
        job_id: int | None = None,
    ) -> Linkback:
        """Settle a verified row by the moderation rule (a first verification completes
        `job_id` in the same commit; a re-verification leaves it to its caller)."""
        details = None
        if outcome is not None and outcome.fields is not None:
            details = outcome.fields.to_details()
            if lb.protocol == LinkbackProtocol.TRACKBACK:  # the sender's own words stay
                # the excerpt as sent, even empty: WordPress shows `<strong>title</strong>` alone
                details = replace(details, title=lb.title or details.title, excerpt=lb.excerpt)
        if lb.reverify_pending:  # verified again: held and approved stay; deleted comes back
            state = None
            if lb.state == LinkbackState.DELETED:  # it was shown: its host counts as known
                state = state_after_verification(
                    self.settings.moderation, self.live.snapshot.lists, lb.source_host,
                    host_known_good=True,
                )
            return await self._finish_reverify(lb, state, reason, details=details, actor="rule")
        moderation, lists = self.settings.moderation, self.live.snapshot.lists
        new_host = state_after_verification(moderation, lists, lb.source_host,
                                            host_known_good=False)
        known_host = state_after_verification(moderation, lists, lb.source_host,
                                              host_known_good=True)
        # whether the host is known is looked up in the deciding transaction, and only when
        # the rule cares (no read before the write)
        return await self._set(lb, new_host, reason, details=details, actor="rule",
                               job_id=job_id,
                               state_if_host_known=known_host if known_host != new_host else None)

    async def _set(
        self,
        lb: Linkback,
        state: LinkbackState,
        reason: str,
        *,
        details: SourceDetails | None = None,
        actor: str = "verifier",
        job_id: int | None = None,
        state_if_host_known: LinkbackState | None = None,
    ) -> Linkback:
        """Move `lb` to `state` (`state_if_host_known` when its host has an approved
        linkback), and complete `job_id` (if any) in the same commit."""
        try:
            changed = await self.store.set_state(
                lb.id, state, actor=actor, reason=reason, now=self.clock.now(), details=details,
                from_state=lb.state, complete_job=job_id, state_if_host_known=state_if_host_known,
            )
        except AlreadyDecided:
            raise  # the row moved since it was read: the caller answers "already registered"
        except IllegalTransition:  # the state machine said no
            if job_id is not None:
                await self.store.complete_job(job_id)
            current = await self.store.get_linkback(lb.id)
            return current or lb
        await self._notify(lb, changed)
        return changed

    async def _notify(self, before: Linkback, after: Linkback) -> None:
        if self.notify is not None and after.state != before.state:
            try:
                await self.notify(after)
            except Exception:  # a notification never undoes or blocks a decision
                logger.exception("linkback_notify_failed", linkback_id=before.id)


_ANSWERS: dict[OutcomeKind, Answer] = {
    OutcomeKind.VERIFIED: Answer.VERIFIED,
    OutcomeKind.NO_LINK: Answer.NO_LINK,
    OutcomeKind.MISSING: Answer.MISSING,
    OutcomeKind.GONE: Answer.GONE,
    OutcomeKind.REFUSED: Answer.POLICY,
    OutcomeKind.TRANSIENT: Answer.QUEUED,
}
"""What a receiver is told for each outcome, whatever it did to the row."""
