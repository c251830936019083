"""Moderation notifications: signed JSON POSTs for new held linkbacks and for deletions."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog

from linkbridge import __version__
from linkbridge.clock import Clock
from linkbridge.model import Job, Linkback, LinkbackState
from linkbridge.settings import Settings, WebhookSettings
from linkbridge.store import Store

logger = structlog.get_logger(__name__)

WEBHOOK_JOB = "webhook"
SIGNATURE_HEADER = "X-Linkbridge-Signature"
EVENTS = {
    LinkbackState.HELD: "linkback.held",
    LinkbackState.DELETED: "linkback.deleted",
}
"""The state changes that notify, and their event names."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: "sha256=" and the HMAC-SHA256 of the body in hex."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def event_body(event: str, lb: Linkback, site_url: str, now: datetime) -> str:
    """The JSON a receiver gets: the event, when, and the linkback as a moderator sees it."""
    data: dict[str, Any] = {
        "event": event,
        "site": site_url,
        "at": now.isoformat(),
        "linkback": {
            "id": lb.id,
            "state": lb.state.value,
            "protocol": lb.protocol.value,
            "source_url": lb.source_url,
            "source_host": lb.source_host,
            "title": lb.title,
            "excerpt": lb.excerpt,
            "blog_name": lb.blog_name,
            "target_url": lb.target_url,
            "blog": lb.blog,
            "post_id": lb.post_id,
            "reason": lb.reason,
            "received_at": lb.created_at.isoformat(),
        },
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


class WebhookNotifier:
    """Intake's callback: queues a delivery when a linkback becomes held or deleted."""

    def __init__(self, settings: Settings, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    async def linkback_changed(self, lb: Linkback) -> None:
        """Called after every state change; most changes do not notify."""
        event = EVENTS.get(lb.state)
        if event is None or not self.settings.webhook.url:
            return
        now = self.clock.now()
        body = event_body(event, lb, self.settings.site.public_base_url, now)
        delivery_id = await self.store.enqueue_webhook(event, body, now, job_kind=WEBHOOK_JOB)
        logger.info(
            "webhook_queued", delivery_id=delivery_id, webhook_event=event, linkback_id=lb.id
        )


class WebhookSender:
    """Delivers queued webhooks through its own client session (not the safe fetcher)."""

    def __init__(self, settings: WebhookSettings, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the client session (the URL is the operator's own: no address policy)."""
        timeout = aiohttp.ClientTimeout(
            total=self.settings.timeout_s, connect=self.settings.connect_timeout_s
        )
        self._session = aiohttp.ClientSession(timeout=timeout, trust_env=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_job(self, job: Job) -> None:
        """The job handler: one attempt; then done, retried with backoff, or given up."""
        delivery = await self.store.get_webhook_delivery(int(str(job.payload["delivery_id"])))
        if delivery is None or delivery.status != "pending":
            await self.store.complete_job(job.id)
            return
        log = logger.bind(
            delivery_id=delivery.id, webhook_event=delivery.event, attempt=delivery.attempts + 1
        )
        error = await self._post(delivery.id, delivery.event, delivery.payload)
        now = self.clock.now()
        if not error:
            await self.store.record_webhook_attempt(
                delivery.id, status="delivered", error="", now=now
            )
            await self.store.complete_job(job.id)
            log.info("webhook_delivered")
            return
        attempts = delivery.attempts + 1
        if attempts >= self.settings.max_attempts:
            await self.store.record_webhook_attempt(
                delivery.id, status="failed", error=error, now=now
            )
            await self.store.complete_job(job.id)
            log.warning("webhook_given_up", error=error)
            return
        await self.store.record_webhook_attempt(delivery.id, status="pending", error=error, now=now)
        delay = self.settings.retry_base_s * 2 ** (attempts - 1)
        await self.store.retry_job(job.id, now + timedelta(seconds=delay), error)
        log.info("webhook_delivery_failed", error=error, retry_in_s=delay)

    async def _post(self, delivery_id: int, event: str, payload: str) -> str:
        """POST the body; "" on a 2xx answer, else what went wrong."""
        if self._session is None:
            return "webhook: sender is not started"
        body = payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"linkbridge/{__version__} (webhook)",
            "X-Linkbridge-Event": event,
            "X-Linkbridge-Delivery": str(delivery_id),
        }
        if self.settings.secret:
            headers[SIGNATURE_HEADER] = sign(self.settings.secret, body)
        try:
            async with self._session.post(
                self.settings.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return ""
                return f"webhook: answered {response.status}"
        except TimeoutError:
            return f"webhook: no answer within {self.settings.timeout_s} s"
        except aiohttp.ClientError as exc:
            return f"webhook: {type(exc).__name__}: {exc}"[:500]
