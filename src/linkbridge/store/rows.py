"""Stored rows as domain records, the same for both backends: SQLite keeps instants as ISO text,
PostgreSQL as timestamptz; `instant` reads either."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState


def instant(value: datetime | str | None) -> datetime | None:
    """A stored instant: PostgreSQL's datetime as it is, SQLite's ISO text parsed."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def instant_required(value: datetime | str) -> datetime:
    """`instant` of a NOT NULL column."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


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
