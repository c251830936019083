"""`check-successors`: fetch every redirect target through the safe fetcher, report non-200s.

A ministry's successors are all on one host, so the linkback fetch limits (a few fetches per
source host per minute, against floods) would fail most targets. Successor checks have their
own `[successors]` limits: `check_concurrency` fetches at once, paced to `check_rate_per_min`
(aiolimiter's leaky bucket: a first burst, then an even pace), waiting for a turn instead of
failing. Defaults check 1,000 targets on one host in about a minute and a half.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

import structlog

from linkbridge import __version__
from linkbridge.errors import LinkbridgeError
from linkbridge.model import Mapping, SuccessorCheck
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser
from linkbridge.verify import SafeFetcher

__all__ = [
    "SuccessorCheck", "SuccessorCheckRun", "check_successors", "successor_fetcher", "summary"
]

logger = structlog.get_logger(__name__)

Progress = Callable[[int, int, int], None]
"""Told (checked, total, bad) after each target."""


def successor_fetcher(settings: Settings) -> SafeFetcher:
    """The safe fetcher (same address rules) with the `[successors]` limits instead of the
    linkback ones; its own per-host cap sits above the pace, which does the limiting."""
    limits = settings.successors
    hops = settings.retire.check_max_redirects + 1
    fetch = dataclasses.replace(
        settings.fetch,
        timeout_s=limits.check_timeout_s,
        per_host_concurrency=max(1, limits.check_concurrency),
        per_host_rate_per_min=max(1, limits.check_rate_per_min) * hops + limits.check_concurrency,
        global_concurrency=max(1, limits.check_concurrency),
    )
    return SafeFetcher(fetch, public_base_url=settings.site.public_base_url, version=__version__)


async def check_successors(
    settings: Settings,
    mappings: Iterable[Mapping],
    fetcher: SafeFetcher,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> list[SuccessorCheck]:
    """Each distinct Location of the redirect table, fetched with `retire.check_max_redirects`,
    in the table's order."""
    table = RedirectTable.build(settings, Canonicaliser.for_settings(settings.site), mappings)
    targets = table.targets()
    limits = settings.successors
    slots = asyncio.Semaphore(max(1, limits.check_concurrency))
    from aiolimiter import AsyncLimiter  # here: it reads package metadata, a start-up cost

    pace = AsyncLimiter(max(1, limits.check_rate_per_min), 60)
    done = bad = 0

    async def one(url: str) -> SuccessorCheck:
        nonlocal done, bad
        async with slots, pace:
            result = await _check(settings, fetcher, url, now)
        done += 1
        bad += not result.ok
        if progress is not None:
            progress(done, len(targets), bad)
        return result

    return list(await asyncio.gather(*(one(url) for url in targets)))


async def _check(
    settings: Settings, fetcher: SafeFetcher, url: str, now: datetime
) -> SuccessorCheck:
    try:
        fetched = await fetcher.fetch(
            url,
            max_bytes=16384,
            max_redirects=settings.retire.check_max_redirects,
            protocol="successor",
        )
    except LinkbridgeError as exc:
        return SuccessorCheck(url, False, None, exc.message, now.isoformat())
    ok = fetched.status == 200
    detail = "" if ok else f"answered {fetched.status}"
    if fetched.final_url != url:
        detail = f"{detail} via {fetched.final_url}".strip()
    return SuccessorCheck(url, ok, fetched.status, detail, now.isoformat())


def summary(results: list[SuccessorCheck]) -> str:
    """ "520 targets: 517 answer 200, 3 do not (2 answered 404, 1 failed to fetch)"."""
    bad = [r for r in results if not r.ok]
    by_status: dict[str, int] = {}
    for r in bad:
        key = f"answered {r.status}" if r.status is not None else "failed to fetch"
        by_status[key] = by_status.get(key, 0) + 1
    detail = ", ".join(f"{n} {what}" for what, n in sorted(by_status.items()))
    text = f"{len(results)} targets: {len(results) - len(bad)} answer 200"
    return f"{text}, {len(bad)} do not ({detail})" if bad else f"{text}, none fails"


class SuccessorCheckRun:
    """The admin page's "Check now": one check at a time, in the background (never inside an
    HTTP request), its progress readable while it runs and its results stored at the end."""

    def __init__(
        self,
        settings: Settings,
        mappings: Callable[[], Awaitable[list[Mapping]]],
        save: Callable[[list[SuccessorCheck]], Awaitable[None]],
        now: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._mappings = mappings
        self._save = save
        self._now = now
        self._task: asyncio.Task[None] | None = None
        self.done = self.total = self.bad = 0
        self.error = ""

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> bool:
        """Start a check unless one runs; False when one was already running."""
        if self.running:
            return False
        self.done = self.total = self.bad = 0
        self.error = ""
        self._task = asyncio.create_task(self._run())
        return True

    def _progress(self, done: int, total: int, bad: int) -> None:
        self.done, self.total, self.bad = done, total, bad

    async def _run(self) -> None:
        fetcher = successor_fetcher(self.settings)
        try:
            results = await check_successors(self.settings, await self._mappings(), fetcher,
                                             self._now(), progress=self._progress)
            await self._save(results)
            logger.info("successors_checked", targets=len(results),
                        failed=sum(1 for r in results if not r.ok))
        except Exception as exc:  # shown on the page; the service goes on
            self.error = str(exc)[:300]
            logger.exception("successors_check_failed")
        finally:
            await fetcher.close()

    async def close(self) -> None:
        """Stop a running check (on shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
