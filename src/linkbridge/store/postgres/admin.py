"""Moderators, sessions, webhook deliveries and successor check results (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from linkbridge.errors import NotFound
from linkbridge.model import AdminSession, SuccessorCheck, WebhookDelivery
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_version
from linkbridge.store.postgres.linkbacks import enqueue
from linkbridge.store.rows import row_to_delivery
from linkbridge.store.sqlite.admin import USER_KEY_PREFIX


class AdminRows:
    """Store methods for the admin page and webhooks (mixed into PostgresStore)."""

    engine: PostgresEngine

    # ------------------------------------------------------------ moderators
    async def set_admin_password(self, username: str, password_hash: str) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO admin_kv (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                USER_KEY_PREFIX + username, password_hash,
            )
            await conn.execute("DELETE FROM admin_sessions WHERE username = $1", username)
            await bump_version(conn)  # every instance re-checks whether the admin page is on

        await self.engine.tx(tx)

    async def admin_password_hash(self, username: str) -> str | None:
        value = await self.engine.fetchval(
            "SELECT value FROM admin_kv WHERE key = $1", USER_KEY_PREFIX + username
        )
        return None if value is None else str(value)

    async def admin_users(self) -> list[str]:
        async def q(conn: Conn) -> list[str]:
            rows = await conn.fetch(
                "SELECT key FROM admin_kv WHERE left(key, $1) = $2 ORDER BY key COLLATE \"C\"",
                len(USER_KEY_PREFIX), USER_KEY_PREFIX,
            )
            return [str(r[0])[len(USER_KEY_PREFIX) :] for r in rows]

        return await self.engine.read(q)

    # ------------------------------------------------------------ sessions
    async def create_admin_session(self, session: AdminSession, now: datetime) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute("DELETE FROM admin_sessions WHERE expires_at <= $1", now)
            await conn.execute(
                "INSERT INTO admin_sessions (token_hash, username, csrf_token, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                session.token_hash, session.username, session.csrf_token, session.expires_at,
            )

        await self.engine.tx(tx)

    async def get_admin_session(self, token_hash: str, now: datetime) -> AdminSession | None:
        async def q(conn: Conn) -> AdminSession | None:
            row = await conn.fetchrow(
                "SELECT * FROM admin_sessions WHERE token_hash = $1 AND expires_at > $2",
                token_hash, now,
            )
            if row is None:
                return None
            return AdminSession(
                row["token_hash"], row["username"], row["csrf_token"], row["expires_at"]
            )

        return await self.engine.read(q)

    async def delete_admin_session(self, token_hash: str) -> bool:
        gone = await self.engine.write_value(
            "DELETE FROM admin_sessions WHERE token_hash = $1 RETURNING 1", token_hash
        )
        return gone is not None

    # ------------------------------------------------------------ webhook deliveries
    async def enqueue_webhook(
        self, event: str, payload: str, now: datetime, *, job_kind: str
    ) -> int:
        async def tx(conn: Conn) -> int:
            delivery_id = int(
                await conn.fetchval(
                    "INSERT INTO webhook_deliveries (event, payload, status, created_at)"
                    " VALUES ($1, $2, 'pending', $3) RETURNING id",
                    event, payload, now,
                )
            )
            await enqueue(
                conn, job_kind, {"delivery_id": delivery_id}, now, f"webhook:{delivery_id}", now
            )
            return delivery_id

        return await self.engine.tx(tx)

    async def get_webhook_delivery(self, delivery_id: int) -> WebhookDelivery | None:
        async def q(conn: Conn) -> WebhookDelivery | None:
            row = await conn.fetchrow(
                "SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id
            )
            return None if row is None else row_to_delivery(row)

        return await self.engine.read(q)

    async def record_webhook_attempt(
        self, delivery_id: int, *, status: str, error: str, now: datetime
    ) -> WebhookDelivery:
        async def tx(conn: Conn) -> WebhookDelivery:
            row = await conn.fetchrow(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1,"
                " last_error = $2, delivered_at = CASE WHEN $1 = 'delivered' THEN $3"
                " ELSE delivered_at END WHERE id = $4 RETURNING *",
                status, error, now, delivery_id,
            )
            if row is None:
                raise NotFound(f"store: no webhook delivery {delivery_id}")
            return row_to_delivery(row)

        return await self.engine.tx(tx)

    async def list_webhook_deliveries(
        self, *, limit: int, offset: int = 0
    ) -> list[WebhookDelivery]:
        async def q(conn: Conn) -> list[WebhookDelivery]:
            rows = await conn.fetch(
                "SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT $1 OFFSET $2",
                limit, offset,
            )
            return [row_to_delivery(r) for r in rows]

        return await self.engine.read(q)

    # ------------------------------------------------------------ successor checks
    async def put_successor_checks(self, checks: Sequence[SuccessorCheck]) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute("DELETE FROM successor_checks")
            await conn.executemany(
                "INSERT INTO successor_checks (url, status, ok, detail, checked_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (url) DO UPDATE SET"
                " status = excluded.status, ok = excluded.ok, detail = excluded.detail,"
                " checked_at = excluded.checked_at",
                [(c.url, c.status, c.ok, c.detail, c.checked_at) for c in checks],
            )

        await self.engine.tx(tx)

    async def list_successor_checks(self) -> list[SuccessorCheck]:
        async def q(conn: Conn) -> list[SuccessorCheck]:
            rows = await conn.fetch(
                "SELECT * FROM successor_checks ORDER BY ok, url COLLATE \"C\""
            )
            return [SuccessorCheck(r["url"], r["ok"], r["status"], r["detail"], r["checked_at"])
                    for r in rows]

        return await self.engine.read(q)
