"""Recomputing stored source keys when the source identity rule changes (both backends)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from linkbridge.errors import LinkbridgeError


def new_source_keys(
    rows: Sequence[tuple[Any, ...]], key_of: Callable[[str], str]
) -> dict[int, str]:
    """{id: new key} for the rows (id, blog, post_id, source_url, key; oldest first) whose key
    changes; a row whose new key an earlier row of the same post took keeps its own."""
    taken: set[tuple[str, str, int]] = set()
    changed: dict[int, str] = {}
    for linkback_id, blog, post_id, source_url, old in rows:
        try:
            key = key_of(source_url)
        except (LinkbridgeError, ValueError):  # stored before URLs were checked: as it was
            key = old
        if (key, blog, post_id) in taken:
            key = f"{key}#{linkback_id}"  # never merged: a fragment no real key has
        taken.add((key, blog, post_id))
        if key != old:
            changed[linkback_id] = key
    return changed
