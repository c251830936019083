"""Stored rows as domain records, the same for both backends: SQLite keeps instants as ISO text
and JSON as text, PostgreSQL as timestamptz and jsonb; the readers here take either. What a
write decides without SQL (does a re-send change a row, which columns a verification sets) is
here too, so the two backends only differ in their SQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from linkbridge.model import (
    VERIFIED_STATES,
    ArchiveSnapshot,
    Category,
    Change,
    Job,
    Linkback,
    LinkbackProtocol,
    LinkbackState,
    Post,
    SourceDetails,
    WebhookDelivery,
)

MAPPING_CHANGES_KEPT = 10_000
"""Recorded mapping changes kept: the newest `mapping_versions` rows (fewer when rows sharing
a version straddle the edge). A server applies at most live.INCREMENTAL_ROWS_MAX changed rows
and reads the whole table when more moved; one so far behind that it would need a pruned row
needs more than this many, so it reads the whole table either way (a test checks the limit is
not above this)."""


def instant(value: datetime | str | None) -> datetime | None:
    """A stored instant: PostgreSQL's datetime as it is, SQLite's ISO text parsed."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def instant_required(value: datetime | str) -> datetime:
    """`instant` of a NOT NULL column."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def decoded(value: Any) -> Any:
    """A stored JSON value: PostgreSQL's jsonb arrives decoded, SQLite's text is parsed."""
    return json.loads(value) if isinstance(value, str) else value


def row_to_linkback(row: Any) -> Linkback:
    """A stored row (a sqlite3.Row or an asyncpg Record) as the domain record."""
    return Linkback(
        id=row["id"],
        blog=row["blog"],
        post_id=row["post_id"],
        source_url=row["source_url"],
        source_canonical=row["source_canonical"],
        source_host=row["source_host"],
        protocol=LinkbackProtocol(row["protocol"]),
        state=LinkbackState(row["state"]),
        created_at=instant_required(row["created_at"]),
        updated_at=instant_required(row["updated_at"]),
        title=row["title"],
        excerpt=row["excerpt"],
        blog_name=row["blog_name"],
        author_name=row["author_name"],
        author_url=row["author_url"],
        author_photo=row["author_photo"],
        published_at=instant(row["published_at"]),
        mention_type=row["mention_type"],
        target_url=row["target_url"],
        reason=row["reason"],
        public_id=row["public_id"],
        client_ip=row["client_ip"],
        verified_at=instant(row["verified_at"]),
        content=row["content"],
        imported=bool(row["imported"]),
        reverify_url=row["reverify_url"],
        reverify_since=instant(row["reverify_since"]),
    )


def row_to_post(row: Any) -> Post:
    """A stored post row as the domain record."""
    return Post(
        blog=row["blog"],
        post_id=row["post_id"],
        permalink=row["permalink"],
        path=row["path"],
        slug=row["slug"],
        title=row["title"],
        excerpt=row["excerpt"],
        author=row["author"],
        published_at=instant(row["published_at"]),
        modified_at=instant(row["modified_at"]),
        status=row["status"],
        comment_status=row["comment_status"],
        ping_status=row["ping_status"],
        post_type=row["post_type"],
        categories=tuple(Category(c["slug"], c["name"]) for c in decoded(row["categories"])),
        human_comments=row["human_comments"],
        tombstone=bool(row["tombstone"]),
        author_name=row["author_name"],
    )


def row_to_delivery(row: Any) -> WebhookDelivery:
    """A stored webhook delivery row as the domain record."""
    return WebhookDelivery(
        id=row["id"],
        event=row["event"],
        payload=row["payload"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=instant_required(row["created_at"]),
        delivered_at=instant(row["delivered_at"]),
    )


def row_to_job(row: Any) -> Job:
    """A stored job row as the domain record (as the row says: a claim counts its attempt and
    sets its lease in the row first)."""
    return Job(
        id=row["id"],
        kind=row["kind"],
        payload=decoded(row["payload"]),
        attempts=row["attempts"],
        run_after=instant_required(row["run_after"]),
        lease_until=instant(row["lease_until"]),
        last_error=row["last_error"],
        source_host=row["source_host"],
        sender=row["sender"],
    )


def row_to_change(row: Any) -> Change:
    """A stored history row as the domain record."""
    return Change(row["subject"], row["key"], row["action"], row["before"], row["after"],
                  row["actor"], row["reason"], instant_required(row["at"]))


def row_to_snapshot(row: Any) -> ArchiveSnapshot:
    """A stored web-archive snapshot row as the domain record."""
    return ArchiveSnapshot(row["path"], row["url"], instant(row["memento_at"]),
                           instant_required(row["checked_at"]), row["note"])


def resend_changes_nothing(
    existing: Linkback, resend_is_duplicate: bool, reverify_imported: bool
) -> bool:
    """A re-send leaves the row as it is: imported history (unless allowed), a moderator's
    no, or a verified row when the protocol calls a re-send a duplicate."""
    if existing.imported and not reverify_imported:
        return True
    if existing.state in (LinkbackState.REJECTED, LinkbackState.SPAM):
        return True
    return existing.state in VERIFIED_STATES and resend_is_duplicate


def _as_is(value: datetime | None) -> object:
    return value


def detail_fields(
    lb: Linkback, details: SourceDetails, *, stored: Callable[[datetime | None], object] = _as_is
) -> dict[str, Any]:
    """Columns a verification's source details set (title and excerpt only when found);
    `stored` writes an instant as the backend keeps it."""
    return {
        "title": details.title or lb.title, "excerpt": details.excerpt or lb.excerpt,
        "author_name": details.author_name, "author_url": details.author_url,
        "author_photo": details.author_photo, "published_at": stored(details.published_at),
        "content": details.content, "mention_type": details.mention_type,
    }
