"""The durable job queue's worker: claims due jobs with a lease and runs their handler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import structlog

from linkbridge import background
from linkbridge.clock import Clock
from linkbridge.model import Job
from linkbridge.store import Store

logger = structlog.get_logger(__name__)

JobHandler = Callable[[Job], Awaitable[None]]
"""Runs one job; it completes or reschedules the job itself. An exception retries it."""


def fair_share(workers: int, share: float) -> int:
    """Running jobs one source host or sender may hold: `share` of `workers`, at least one."""
    return max(1, int(workers * share))


class JobWorker:
    """Runs up to `concurrency` jobs at once; idles `idle_s` when nothing is due.

    Verification is I/O: the bound on fetches is the fetcher's (global and per host), so
    `concurrency` can be large. A source host holds at most `max_per_host` of the running jobs
    and a sender (address or IPv6 /64) at most `max_per_sender`; the rest of a flood waits in
    the store while others' jobs run (0: no cap).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        handlers: dict[str, JobHandler],
        *,
        concurrency: int = 4,
        lease_s: float = 60.0,
        idle_s: float = 0.5,
        error_backoff_s: float = 30.0,
        max_per_host: int = 0,
        max_per_sender: int = 0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.handlers = handlers
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.idle_s = idle_s
        self.error_backoff_s = error_backoff_s
        self.max_per_host = max_per_host
        self.max_per_sender = max_per_sender
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due jobs now (a receiver just queued one)."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Claim and run one due job; False when none was due (the loop runs many at once; this
        steps the queue one job at a time)."""
        job = await self._claim()
        if job is None:
            return False
        await self._run(job)
        return True

    async def _claim(self) -> Job | None:
        return await self.store.claim_job(
            self.clock.now(),
            self.lease_s,
            max_per_host=self.max_per_host,
            max_per_sender=self.max_per_sender,
        )

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        log = logger.bind(job_id=job.id, kind=job.kind, attempts=job.attempts)
        if handler is None:
            log.error("job_kind_unknown")
            await self.store.retry_job(job.id, self.clock.now() + timedelta(days=1), "unknown kind")
            return
        try:
            await handler(job)
        except Exception as exc:
            log.exception("job_failed")
            delay = self.error_backoff_s * 2 ** min(job.attempts - 1, 10)
            await self.store.retry_job(
                job.id, self.clock.now() + timedelta(seconds=delay), f"{type(exc).__name__}: {exc}"
            )

    async def _loop(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()

        try:
            while True:
                await slots.acquire()
                try:
                    job = await self._claim()
                except Exception:
                    logger.exception("job_claim_failed")
                    job = None
                if job is None:
                    slots.release()
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_s)
                    continue
                task = asyncio.create_task(self._run(job))
                running.add(task)
                task.add_done_callback(finished)
        finally:
            for task in list(running):
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the worker while the context is open; leases of cut-off jobs simply expire.

        With `concurrency` 0 this instance runs no jobs (another instance, or a test, does).
        """
        if self.concurrency <= 0:
            yield
            return
        async with background.running(self._loop()):
            yield
