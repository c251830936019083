"""`check-successors`: fetch every redirect target through the safe fetcher, report non-200s."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from linkbridge.errors import LinkbridgeError
from linkbridge.model import Mapping, SuccessorCheck
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser
from linkbridge.verify import SafeFetcher

__all__ = ["SuccessorCheck", "check_successors"]


async def check_successors(
    settings: Settings, mappings: Iterable[Mapping], fetcher: SafeFetcher, now: datetime
) -> list[SuccessorCheck]:
    """Each distinct Location of the redirect table, fetched with `retire.check_max_redirects`."""
    table = RedirectTable.build(settings, Canonicaliser.for_settings(settings.site), mappings)
    results = []
    for url in table.targets():
        try:
            fetched = await fetcher.fetch(
                url,
                max_bytes=16384,
                max_redirects=settings.retire.check_max_redirects,
                protocol="successor",
            )
        except LinkbridgeError as exc:
            results.append(SuccessorCheck(url, False, None, exc.message, now.isoformat()))
            continue
        ok = fetched.status == 200
        detail = "" if ok else f"answered {fetched.status}"
        if fetched.final_url != url:
            detail = f"{detail} via {fetched.final_url}".strip()
        results.append(SuccessorCheck(url, ok, fetched.status, detail, now.isoformat()))
    return results
