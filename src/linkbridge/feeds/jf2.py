"""Linkbacks as JSON documents for the read-only API: our own shape and JF2 (the shape
webmention.io serves, so its widgets and clients read ours unchanged)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from linkbridge.model import Linkback, LinkbackProtocol
from linkbridge.text import html_text

JF2_PROPERTY = {
    "in-reply-to": "in-reply-to",
    "like-of": "like-of",
    "repost-of": "repost-of",
    "bookmark-of": "bookmark-of",
}
"""Mention types that are JF2 properties of their own; every other one is "mention-of"."""

COUNT_TYPE = {
    "in-reply-to": "reply",
    "like-of": "like",
    "repost-of": "repost",
    "bookmark-of": "bookmark",
}
"""webmention.io's count names for mention types ("mention" for the rest)."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _text(linkback: Linkback) -> str:
    return linkback.content or linkback.excerpt


def linkback_document(linkback: Linkback, target: str) -> dict[str, Any]:
    """One approved linkback in the API's own shape."""
    return {
        "id": linkback.id,
        "protocol": linkback.protocol.value,
        "type": linkback.mention_type,
        "source": linkback.source_url,
        "target": target,
        "title": linkback.title,
        "text": _text(linkback),
        "blog_name": linkback.blog_name,
        "author": {
            "name": linkback.author_name,
            "url": linkback.author_url,
            "photo": linkback.author_photo,
        },
        "published": _iso(linkback.published_at),
        "received": _iso(linkback.created_at),
        "verified": _iso(linkback.verified_at),
    }


def jf2_entry(linkback: Linkback, target: str) -> dict[str, Any]:
    """One linkback as a JF2 entry with webmention.io's `wm-*` properties."""
    prop = JF2_PROPERTY.get(linkback.mention_type, "mention-of")
    text = _text(linkback)
    entry: dict[str, Any] = {
        "type": "entry",
        "author": {
            "type": "card",
            "name": linkback.author_name or linkback.blog_name or linkback.source_host,
            "photo": linkback.author_photo,
            "url": linkback.author_url,
        },
        "url": linkback.source_url,
        "published": _iso(linkback.published_at),
        "wm-received": _iso(linkback.created_at),
        "wm-id": linkback.id,
        "wm-source": linkback.source_url,
        "wm-target": target,
        "wm-protocol": linkback.protocol.value,
        "wm-property": prop,
        "wm-private": False,
        prop: target,
    }
    if linkback.title:
        entry["name"] = linkback.title
    if text:
        # Stored text is never markup: the HTML form is the same text, escaped.
        entry["content"] = {"text": text, "html": html_text(text)}
    return entry


def jf2_feed(entries: Iterable[dict[str, Any]], *, name: str) -> dict[str, Any]:
    return {"type": "feed", "name": name, "children": list(entries)}


def counts_document(
    target: str, counts: Mapping[tuple[LinkbackProtocol, str], int]
) -> dict[str, Any]:
    """webmention.io's `{"count", "type": {...}}`, and the same counts by protocol."""
    by_type: dict[str, int] = {}
    by_protocol: dict[str, int] = {p.value: 0 for p in LinkbackProtocol}
    for (protocol, mention_type), n in counts.items():
        name = COUNT_TYPE.get(mention_type, "mention")
        by_type[name] = by_type.get(name, 0) + n
        by_protocol[protocol.value] += n
    return {
        "target": target,
        "count": sum(by_protocol.values()),
        "type": by_type,
        "protocol": by_protocol,
    }
