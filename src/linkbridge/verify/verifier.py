"""verify(source, target): fetch safely, look for the link, answer with a typed outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import structlog

from linkbridge.verify.fetcher import FetchError, FetchResult, SafeFetcher
from linkbridge.verify.links import inspect
from linkbridge.verify.outcome import OutcomeKind, VerifyOutcome

logger = structlog.get_logger(__name__)


def outcome_for_status(status: int) -> VerifyOutcome | None:
    """The outcome a final HTTP status decides alone; None for 2xx (the body decides)."""
    if 200 <= status < 300:
        return None
    if status == 410:
        return VerifyOutcome(OutcomeKind.GONE, "fetcher: source answered 410 (gone)", None, status)
    if status == 429:
        reason = "fetcher: source answered 429 (too many requests)"
        return VerifyOutcome(OutcomeKind.TRANSIENT, reason, None, status)
    if status >= 500:
        return VerifyOutcome(
            OutcomeKind.TRANSIENT, f"fetcher: source answered {status}", None, status
        )
    return VerifyOutcome(OutcomeKind.MISSING, f"fetcher: source answered {status}", None, status)


class Verifier:
    """The one engine every protocol calls: does `source_url` link to the target?"""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self.fetcher = fetcher
        self.parse_inline_max_bytes = fetcher.settings.parse_inline_max_bytes

    async def verify(
        self,
        source_url: str,
        target_url: str,
        is_target: Callable[[str], bool],
        *,
        protocol: str,
        max_bytes: int,
        max_redirects: int,
        client_ip: str = "",
        target_hosts: frozenset[str] | None = None,
    ) -> VerifyOutcome:
        """Fetch `source_url` and check it; `is_target(url)` must be pure (may run in a
        thread); `target_hosts`, when given, the only hosts it says yes to (see `inspect`).

        A body past `max_bytes` is not an outcome: the part read is checked.
        """
        log = logger.bind(source=source_url[:500], target=target_url[:500], protocol=protocol)
        try:
            result = await self.fetcher.fetch(
                source_url,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
                protocol=protocol,
                client_ip=client_ip,
            )
        except FetchError as exc:
            outcome = VerifyOutcome(exc.kind, exc.message, None, None)
        else:
            outcome = outcome_for_status(result.status) or await self._check(
                result, is_target, webmention=protocol == "webmention", target_hosts=target_hosts
            )
        log.info("source_verified", outcome=str(outcome.kind), reason=outcome.reason)
        return outcome

    async def _check(
        self, result: FetchResult, is_target: Callable[[str], bool], *, webmention: bool,
        target_hosts: frozenset[str] | None,
    ) -> VerifyOutcome:
        check = partial(
            inspect,
            result.body,
            content_type=result.content_type,
            charset=result.charset,
            page_url=result.final_url,
            is_target=is_target,
            webmention=webmention,
            target_hosts=target_hosts,
        )
        # A small page is checked on the event loop: handing it to a thread and back costs
        # more than the check itself; a big one would hold the loop, so it goes to a thread.
        if len(result.body) <= self.parse_inline_max_bytes:
            report = check()
        else:
            report = await asyncio.to_thread(check)
        status = result.status
        read = f" (first {len(result.body)} bytes read)" if result.truncated else ""
        if report.gone:
            reason = "links: the page says it is gone (meta Status 410)"
            return VerifyOutcome(OutcomeKind.GONE, reason, None, status)
        if not report.found:
            return VerifyOutcome(
                OutcomeKind.NO_LINK,
                f"links: no link to the target{read}",
                None,
                status,
                truncated=result.truncated,
            )
        reason = f"links: links to the target{read}"
        return VerifyOutcome(OutcomeKind.VERIFIED, reason, report.fields, status)
