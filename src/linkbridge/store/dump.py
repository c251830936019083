"""The store as plain rows, table by table: what `linkbridge export --json` writes and
`linkbridge import json` reads back, the same for both backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

EXPORT_TABLES = (
    "meta",
    "posts",
    "linkbacks",
    "decisions",
    "jobs",
    "mappings",
    "mapping_versions",
    "hits",
    "hit_days",
    "host_lists",
    "admin_kv",
    "webhook_deliveries",
    "successor_checks",
    "changes",
    "erased_linkbacks",
    "pruned_linkbacks",
    "successor_pages",
    "suggestions",
    "archive_snapshots",
)
"""Every table an export holds, parents before the rows that refer to them."""

SKIPPED_TABLES = frozenset({"schema_migrations", "admin_sessions", "feed_versions"})
"""Tables an export leaves out: the schema's own bookkeeping, login sessions (a restored
store starts with everybody logged out), and the feed scopes' versions (cache keys only: a
restore moves `version`, which every feed's cache key carries)."""

FORMAT = "linkbridge-export"
FORMAT_VERSION = 1


def json_value(value: Any) -> Any:
    """A column value as JSON: instants in UTC with microseconds (SQLite's stored form),
    PostgreSQL's dates as ISO text (SQLite's form) and JSONB as its text, everything else as
    it is."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value
