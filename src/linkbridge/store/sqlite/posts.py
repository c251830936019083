"""Post rows: each sub-blog's WXR import replaces its posts atomically."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import LinkbackDraft, Post
from linkbridge.store.rows import row_to_post
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, ts
from linkbridge.store.sqlite.linkbacks import import_linkbacks

_COLUMNS = (
    "blog, post_id, permalink, path, slug, title, excerpt, author, published_at, modified_at,"
    " status, comment_status, ping_status, post_type, categories, human_comments, tombstone,"
    " author_name"
)


def _values(post: Post) -> tuple[object, ...]:
    return (
        post.blog, post.post_id, post.permalink, post.path, post.slug, post.title,
        post.excerpt, post.author, ts(post.published_at), ts(post.modified_at), post.status,
        post.comment_status, post.ping_status, post.post_type,
        json.dumps([{"slug": c.slug, "name": c.name} for c in post.categories],
                   ensure_ascii=False),
        post.human_comments, int(post.tombstone), post.author_name,
    )


class PostRows:
    """Store methods for posts (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def import_posts(
        self, blog: str, posts: Sequence[Post], linkbacks: Sequence[LinkbackDraft], now: datetime
    ) -> tuple[int, int]:
        def tx(conn: sqlite3.Connection) -> tuple[int, int]:
            seen = {p.post_id for p in posts}
            for row in conn.execute("SELECT post_id FROM posts WHERE blog = ?", (blog,)):
                if row[0] not in seen:  # missing from this import: keep as a tombstone
                    conn.execute(
                        "UPDATE posts SET tombstone = 1 WHERE blog = ? AND post_id = ?",
                        (blog, row[0]),
                    )
            marks = ", ".join("?" for _ in _COLUMNS.split(","))
            updates = ", ".join(
                f"{c.strip()} = excluded.{c.strip()}" for c in _COLUMNS.split(",")[2:]
            )
            conn.executemany(
                f"INSERT INTO posts ({_COLUMNS}) VALUES ({marks})"
                f" ON CONFLICT (blog, post_id) DO UPDATE SET {updates}",
                [_values(p) for p in posts],
            )
            added = import_linkbacks(conn, linkbacks, now)
            bump_version(conn, "posts")
            return len(posts), added

        return await self.engine.write(tx)

    async def all_posts(self) -> list[Post]:
        return await self.engine.read(
            lambda conn: [
                row_to_post(r)
                for r in conn.execute(f"SELECT {_COLUMNS} FROM posts ORDER BY blog, post_id")
            ]
        )
