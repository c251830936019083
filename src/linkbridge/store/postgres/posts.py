"""Post rows (PostgreSQL): each sub-blog's WXR import replaces its posts atomically."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from linkbridge.model import LinkbackDraft, Post
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_version
from linkbridge.store.postgres.linkbacks import import_linkbacks
from linkbridge.store.rows import row_to_post

_NAMES = (
    "blog", "post_id", "permalink", "path", "slug", "title", "excerpt", "author",
    "published_at", "modified_at", "status", "comment_status", "ping_status", "post_type",
    "categories", "human_comments", "tombstone", "author_name",
)
_COLUMNS = ", ".join(_NAMES)


def _values(post: Post) -> tuple[object, ...]:
    return (
        post.blog, post.post_id, post.permalink, post.path, post.slug, post.title,
        post.excerpt, post.author, post.published_at, post.modified_at, post.status,
        post.comment_status, post.ping_status, post.post_type,
        [{"slug": c.slug, "name": c.name} for c in post.categories],
        post.human_comments, post.tombstone, post.author_name,
    )


class PostRows:
    """Store methods for posts (mixed into PostgresStore)."""

    engine: PostgresEngine

    async def import_posts(
        self, blog: str, posts: Sequence[Post], linkbacks: Sequence[LinkbackDraft], now: datetime
    ) -> tuple[int, int]:
        async def tx(conn: Conn) -> tuple[int, int]:
            # missing from this import: keep as a tombstone
            await conn.execute(
                "UPDATE posts SET tombstone = TRUE WHERE blog = $1"
                " AND NOT (post_id = ANY($2::bigint[]))",
                blog, [p.post_id for p in posts],
            )
            marks = ", ".join(f"${i}" for i in range(1, len(_NAMES) + 1))
            updates = ", ".join(f"{c} = excluded.{c}" for c in _NAMES[2:])
            await conn.executemany(
                f"INSERT INTO posts ({_COLUMNS}) VALUES ({marks})"
                f" ON CONFLICT (blog, post_id) DO UPDATE SET {updates}",
                [_values(p) for p in posts],
            )
            added = await import_linkbacks(conn, linkbacks, now)
            await bump_version(conn, "posts")
            return len(posts), added

        return await self.engine.tx(tx)

    async def all_posts(self) -> list[Post]:
        async def q(conn: Conn) -> list[Post]:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM posts ORDER BY blog COLLATE \"C\", post_id"
            )
            return [row_to_post(r) for r in rows]

        return await self.engine.read(q)
