"""Moderators' password hashes and sessions, webhook deliveries and successor check results."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from linkbridge.errors import NotFound
from linkbridge.model import AdminSession, SuccessorCheck, WebhookDelivery
from linkbridge.store.rows import row_to_delivery
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, dt_required, ts
from linkbridge.store.sqlite.linkbacks import _enqueue

USER_KEY_PREFIX = "admin.user:"
"""admin_kv key of a moderator's password hash: the prefix, then the user name."""


class AdminRows:
    """Store methods for the admin page and webhooks (mixed into SqliteStore)."""

    engine: SqliteEngine

    # ------------------------------------------------------------ moderators
    async def set_admin_password(self, username: str, password_hash: str) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO admin_kv (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (USER_KEY_PREFIX + username, password_hash),
            )
            conn.execute("DELETE FROM admin_sessions WHERE username = ?", (username,))
            bump_version(conn)  # every instance re-checks whether the admin page is on

        await self.engine.write(tx)

    async def admin_password_hash(self, username: str) -> str | None:
        def q(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT value FROM admin_kv WHERE key = ?", (USER_KEY_PREFIX + username,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self.engine.read(q)

    async def admin_users(self) -> list[str]:
        def q(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT key FROM admin_kv WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(USER_KEY_PREFIX), USER_KEY_PREFIX),
            )
            return [str(r[0])[len(USER_KEY_PREFIX) :] for r in rows]

        return await self.engine.read(q)

    # ------------------------------------------------------------ sessions
    async def create_admin_session(self, session: AdminSession, now: datetime) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", (ts(now),))
            conn.execute(
                "INSERT INTO admin_sessions (token_hash, username, csrf_token, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session.token_hash, session.username, session.csrf_token, ts(session.expires_at)),
            )

        await self.engine.write(tx)

    async def get_admin_session(self, token_hash: str, now: datetime) -> AdminSession | None:
        def q(conn: sqlite3.Connection) -> AdminSession | None:
            row = conn.execute(
                "SELECT * FROM admin_sessions WHERE token_hash = ? AND expires_at > ?",
                (token_hash, ts(now)),
            ).fetchone()
            if row is None:
                return None
            return AdminSession(
                row["token_hash"],
                row["username"],
                row["csrf_token"],
                dt_required(row["expires_at"]),
            )

        return await self.engine.read(q)

    async def delete_admin_session(self, token_hash: str) -> bool:
        def tx(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM admin_sessions WHERE token_hash = ?", (token_hash,))
            return cur.rowcount > 0

        return await self.engine.write(tx)

    # ------------------------------------------------------------ webhook deliveries
    async def enqueue_webhook(
        self, event: str, payload: str, now: datetime, *, job_kind: str
    ) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO webhook_deliveries (event, payload, status, created_at)"
                " VALUES (?, ?, 'pending', ?)",
                (event, payload, ts(now)),
            )
            delivery_id = int(cur.lastrowid or 0)
            _enqueue(
                conn, job_kind, {"delivery_id": delivery_id}, now, f"webhook:{delivery_id}", now
            )
            return delivery_id

        return await self.engine.write(tx)

    async def get_webhook_delivery(self, delivery_id: int) -> WebhookDelivery | None:
        def q(conn: sqlite3.Connection) -> WebhookDelivery | None:
            row = conn.execute(
                "SELECT * FROM webhook_deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
            return None if row is None else row_to_delivery(row)

        return await self.engine.read(q)

    async def record_webhook_attempt(
        self, delivery_id: int, *, status: str, error: str, now: datetime
    ) -> WebhookDelivery:
        def tx(conn: sqlite3.Connection) -> WebhookDelivery:
            row = conn.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?,"
                " last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ?"
                " ELSE delivered_at END WHERE id = ? RETURNING *",
                (status, error, status, ts(now), delivery_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"store: no webhook delivery {delivery_id}")
            return row_to_delivery(row)

        return await self.engine.write(tx)

    async def list_webhook_deliveries(
        self, *, limit: int, offset: int = 0
    ) -> list[WebhookDelivery]:
        return await self.engine.read(
            lambda conn: [
                row_to_delivery(r)
                for r in conn.execute(
                    "SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ? OFFSET ?",
                    (limit, offset),
                )
            ]
        )

    # ------------------------------------------------------------ successor checks
    async def put_successor_checks(self, checks: Sequence[SuccessorCheck]) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM successor_checks")
            conn.executemany(
                "INSERT INTO successor_checks (url, status, ok, detail, checked_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                " status = excluded.status, ok = excluded.ok, detail = excluded.detail,"
                " checked_at = excluded.checked_at",
                [(c.url, c.status, int(c.ok), c.detail, c.checked_at) for c in checks],
            )

        await self.engine.write(tx)

    async def list_successor_checks(self) -> list[SuccessorCheck]:
        return await self.engine.read(
            lambda conn: [
                SuccessorCheck(r["url"], bool(r["ok"]), r["status"], r["detail"], r["checked_at"])
                for r in conn.execute("SELECT * FROM successor_checks ORDER BY ok, url")
            ]
        )
