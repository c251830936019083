"""Linkback rows and their recorded decisions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from linkbridge.errors import AlreadyDecided, IllegalTransition, NotFound
from linkbridge.model import (
    VERIFIED_STATES,
    Decision,
    Linkback,
    LinkbackDraft,
    LinkbackProtocol,
    LinkbackState,
    RecordResult,
    SourceDetails,
    can_transition,
    erased_digest,
    sender_group,
)
from linkbridge.store.sqlite.engine import SqliteEngine, bump_version, dt, dt_required, ts

SHOWN = LinkbackState.APPROVED


def row_to_linkback(row: sqlite3.Row) -> Linkback:
    """A stored row as the domain record."""
    resend = row["resend_from"]
    return Linkback(
        id=row["id"],
        blog=row["blog"],
        post_id=row["post_id"],
        source_url=row["source_url"],
        source_canonical=row["source_canonical"],
        source_host=row["source_host"],
        protocol=LinkbackProtocol(row["protocol"]),
        state=LinkbackState(row["state"]),
        created_at=dt_required(row["created_at"]),
        updated_at=dt_required(row["updated_at"]),
        title=row["title"],
        excerpt=row["excerpt"],
        blog_name=row["blog_name"],
        author_name=row["author_name"],
        author_url=row["author_url"],
        author_photo=row["author_photo"],
        published_at=dt(row["published_at"]),
        mention_type=row["mention_type"],
        target_url=row["target_url"],
        reason=row["reason"],
        public_id=row["public_id"],
        client_ip=row["client_ip"],
        verified_at=dt(row["verified_at"]),
        content=row["content"],
        resend_from=LinkbackState(resend) if resend else None,
    )


def _get(conn: sqlite3.Connection, linkback_id: int) -> Linkback | None:
    row = conn.execute("SELECT * FROM linkbacks WHERE id = ?", (linkback_id,)).fetchone()
    return row_to_linkback(row) if row else None


def _find(conn: sqlite3.Connection, canonical: str, blog: str, post_id: int) -> Linkback | None:
    row = conn.execute(
        "SELECT * FROM linkbacks WHERE source_canonical = ? AND blog = ? AND post_id = ?",
        (canonical, blog, post_id),
    ).fetchone()
    return row_to_linkback(row) if row else None


def _decide(
    conn: sqlite3.Connection,
    lb: Linkback,
    new: LinkbackState,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO decisions (linkback_id, old_state, new_state, actor, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (lb.id, lb.state.value, new.value, actor, reason, ts(now)),
    )


def insert_draft(conn: sqlite3.Connection, draft: LinkbackDraft, now: datetime) -> Linkback:
    """Insert a new row from `draft` (state as the draft says) and record the decision."""
    created = draft.created_at or now
    cur = conn.execute(
        "INSERT INTO linkbacks (blog, post_id, source_url, source_canonical, source_host,"
        " protocol, state, title, excerpt, blog_name, target_url, public_id, client_ip,"
        " created_at, updated_at, verified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            draft.blog,
            draft.post_id,
            draft.source_url,
            draft.source_canonical,
            draft.source_host,
            draft.protocol.value,
            draft.state.value,
            draft.title,
            draft.excerpt,
            draft.blog_name,
            draft.target_url,
            draft.public_id,
            draft.client_ip,
            ts(created),
            ts(now),
            ts(created) if draft.state in VERIFIED_STATES else None,
        ),
    )
    lb = _get(conn, int(cur.lastrowid or 0))
    assert lb is not None
    if draft.state != LinkbackState.UNVERIFIED:
        conn.execute(
            "INSERT INTO decisions (linkback_id, old_state, new_state, actor, reason, at)"
            " VALUES (?, 'unverified', ?, 'import', 'imported from WordPress', ?)",
            (lb.id, draft.state.value, ts(now)),
        )
    if draft.state == SHOWN:
        bump_version(conn)
    return lb


def _enqueue(conn: sqlite3.Connection, kind: str, payload: dict[str, Any], run_after: datetime,
             dedupe_key: str | None, now: datetime, *, source_host: str = "",
             sender: str = "") -> int:
    cur = conn.execute(
        "INSERT INTO jobs (kind, payload, dedupe_key, run_after, created_at, source_host, sender)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO UPDATE SET run_after = excluded.run_after,"
        " lease_until = NULL, attempts = 0, source_host = excluded.source_host,"
        " sender = excluded.sender RETURNING id",
        (kind, json.dumps(payload), dedupe_key, ts(run_after), ts(now), source_host, sender),
    )
    return int(cur.fetchone()[0])


class LinkbackRows:
    """Store methods for linkbacks (mixed into SqliteStore)."""

    engine: SqliteEngine

    async def record_linkback(
        self,
        draft: LinkbackDraft,
        now: datetime,
        *,
        resend_is_duplicate: bool,
        job_kind: str | None = None,
        job_run_after: datetime | None = None,
    ) -> RecordResult:
        def tx(conn: sqlite3.Connection) -> RecordResult:
            existing = _find(conn, draft.source_canonical, draft.blog, draft.post_id)
            created = existing is None
            if existing is None:
                lb = insert_draft(conn, draft, now)
            elif existing.state in VERIFIED_STATES and resend_is_duplicate:
                return RecordResult(existing, created=False, duplicate=True)
            else:
                resend_from = existing.resend_from
                if existing.state in (LinkbackState.HELD, LinkbackState.APPROVED):
                    resend_from = existing.state
                elif existing.state not in (LinkbackState.UNVERIFIED,):
                    resend_from = None
                if existing.state in (LinkbackState.REJECTED, LinkbackState.SPAM):
                    # A moderator's no stands; a re-send does not reopen it.
                    return RecordResult(existing, created=False, duplicate=True)
                conn.execute(
                    "UPDATE linkbacks SET state = 'unverified', source_url = ?, protocol = ?,"
                    " target_url = ?, title = CASE WHEN ? != '' THEN ? ELSE title END,"
                    " excerpt = CASE WHEN ? != '' THEN ? ELSE excerpt END,"
                    " blog_name = CASE WHEN ? != '' THEN ? ELSE blog_name END,"
                    " client_ip = ?, resend_from = ?, attempts = 0, updated_at = ?,"
                    " public_id = COALESCE(public_id, ?) WHERE id = ?",
                    (
                        draft.source_url, draft.protocol.value, draft.target_url,
                        draft.title, draft.title, draft.excerpt, draft.excerpt,
                        draft.blog_name, draft.blog_name, draft.client_ip,
                        resend_from.value if resend_from else None, ts(now),
                        draft.public_id, existing.id,
                    ),
                )
                if existing.state != LinkbackState.UNVERIFIED:
                    _decide(conn, existing, LinkbackState.UNVERIFIED, "sender", "re-sent", now)
                if existing.state == SHOWN:
                    bump_version(conn)
                updated = _get(conn, existing.id)
                assert updated is not None
                lb = updated
            job_id = None
            if job_kind is not None:
                job_id = _enqueue(
                    conn, job_kind, {"linkback_id": lb.id}, job_run_after or now,
                    f"verify:{lb.id}", now, source_host=draft.source_host,
                    sender=sender_group(draft.client_ip),
                )
            return RecordResult(lb, created=created, duplicate=False, job_id=job_id)

        return await self.engine.write(tx)

    async def get_linkback(self, linkback_id: int) -> Linkback | None:
        return await self.engine.read(lambda conn: _get(conn, linkback_id))

    async def get_linkback_by_public_id(self, public_id: str) -> Linkback | None:
        def q(conn: sqlite3.Connection) -> Linkback | None:
            row = conn.execute(
                "SELECT * FROM linkbacks WHERE public_id = ?", (public_id,)
            ).fetchone()
            return row_to_linkback(row) if row else None

        return await self.engine.read(q)

    async def find_linkback(self, source_canonical: str, blog: str, post_id: int) -> (
        Linkback | None
    ):
        return await self.engine.read(lambda conn: _find(conn, source_canonical, blog, post_id))

    async def set_state(
        self,
        linkback_id: int,
        new_state: LinkbackState,
        *,
        actor: str,
        reason: str,
        now: datetime,
        details: SourceDetails | None = None,
        from_state: LinkbackState | None = None,
    ) -> Linkback:
        def tx(conn: sqlite3.Connection) -> Linkback:
            lb = _get(conn, linkback_id)
            if lb is None:
                raise NotFound(f"store: no linkback {linkback_id}")
            if from_state is not None and lb.state != from_state:
                raise AlreadyDecided(
                    f"store: linkback {linkback_id} is {lb.state} already, not {from_state}"
                )
            if not can_transition(lb.state, new_state):
                raise IllegalTransition(
                    f"store: linkback {linkback_id} cannot go from {lb.state} to {new_state}"
                )
            fields: dict[str, Any] = {"state": new_state.value, "reason": reason,
                                      "updated_at": ts(now)}
            if new_state in VERIFIED_STATES and lb.state == LinkbackState.UNVERIFIED:
                fields["verified_at"] = ts(now)
                fields["resend_from"] = None
            if new_state in (LinkbackState.FAILED, LinkbackState.DELETED):
                fields["resend_from"] = None
            if details is not None:
                d = replace(details)
                fields.update(
                    title=d.title or lb.title, excerpt=d.excerpt or lb.excerpt,
                    author_name=d.author_name, author_url=d.author_url,
                    author_photo=d.author_photo, published_at=ts(d.published_at),
                    content=d.content, mention_type=d.mention_type,
                )
            sets = ", ".join(f"{k} = ?" for k in fields)
            conn.execute(f"UPDATE linkbacks SET {sets} WHERE id = ?", (*fields.values(), lb.id))
            if new_state != lb.state:
                _decide(conn, lb, new_state, actor, reason, now)
            if SHOWN in (lb.state, new_state):
                bump_version(conn)
            out = _get(conn, lb.id)
            assert out is not None
            return out

        return await self.engine.write(tx)

    async def count_attempt(self, linkback_id: int, reason: str, now: datetime) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE linkbacks SET attempts = attempts + 1, reason = ?, updated_at = ?"
                " WHERE id = ? RETURNING attempts",
                (reason, ts(now), linkback_id),
            )
            row = cur.fetchone()
            return int(row[0]) if row else 0

        return await self.engine.write(tx)

    async def list_linkbacks(
        self,
        *,
        states: Iterable[LinkbackState] | None = None,
        blog: str | None = None,
        post_id: int | None = None,
        host: str | None = None,
        limit: int = 100,
        offset: int = 0,
        protocol: LinkbackProtocol | None = None,
        changed_since: datetime | None = None,
    ) -> list[Linkback]:
        where: list[str] = []
        params: list[object] = []
        if changed_since is not None:
            where.append("updated_at >= ?")
            params.append(ts(changed_since))
        if states is not None:
            wanted = [s.value for s in states]
            where.append(f"state IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        proto = protocol.value if protocol is not None else None
        for column, value in (("blog", blog), ("post_id", post_id), ("source_host", host),
                              ("protocol", proto)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM linkbacks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY COALESCE(verified_at, created_at) DESC, id DESC LIMIT ? OFFSET ?"
        params.extend([limit, offset])
        return await self.engine.read(
            lambda conn: [row_to_linkback(r) for r in conn.execute(sql, params)]
        )

    async def linkback_counts(
        self, *, state: LinkbackState, blog: str | None = None, post_id: int | None = None
    ) -> dict[tuple[LinkbackProtocol, str], int]:
        where: list[str] = ["state = ?"]
        params: list[object] = [state.value]
        for column, value in (("blog", blog), ("post_id", post_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = (
            "SELECT protocol, mention_type, COUNT(*) FROM linkbacks WHERE "
            + " AND ".join(where)
            + " GROUP BY protocol, mention_type"
        )
        return await self.engine.read(
            lambda conn: {
                (LinkbackProtocol(r[0]), str(r[1])): int(r[2]) for r in conn.execute(sql, params)
            }
        )

    async def decisions(self, linkback_id: int) -> list[Decision]:
        def q(conn: sqlite3.Connection) -> list[Decision]:
            rows = conn.execute(
                "SELECT * FROM decisions WHERE linkback_id = ? ORDER BY id", (linkback_id,)
            )
            return [
                Decision(r["linkback_id"], LinkbackState(r["old_state"]),
                         LinkbackState(r["new_state"]), r["actor"], r["reason"],
                         dt_required(r["at"]))
                for r in rows
            ]

        return await self.engine.read(q)

    async def last_change(self, *, blog: str | None = None, post_id: int | None = None) -> (
        datetime | None
    ):
        where: list[str] = []
        params: list[object] = []
        for column, value in (("blog", blog), ("post_id", post_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT MAX(updated_at) FROM linkbacks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return await self.engine.read(lambda conn: dt(conn.execute(sql, params).fetchone()[0]))

    async def host_has_approved(self, host: str) -> bool:
        def q(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM linkbacks WHERE source_host = ? AND state = 'approved' LIMIT 1",
                (host,),
            ).fetchone()
            return row is not None

        return await self.engine.read(q)

    async def count_host_since(self, host: str, since: datetime) -> int:
        def q(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM linkbacks WHERE source_host = ? AND created_at >= ?",
                (host, ts(since)),
            ).fetchone()
            return int(row[0])

        return await self.engine.read(q)


def _erased(conn: sqlite3.Connection, draft: LinkbackDraft) -> bool:
    digest = erased_digest(draft.source_url, draft.blog, draft.post_id)
    return conn.execute(
        "SELECT 1 FROM erased_linkbacks WHERE digest = ?", (digest,)
    ).fetchone() is not None


def import_linkbacks(
    conn: sqlite3.Connection, drafts: Sequence[LinkbackDraft], now: datetime
) -> int:
    """Add imported linkbacks that are not stored yet (idempotent), never one erased on a
    person's request; return how many."""
    added = 0
    for draft in drafts:
        if _erased(conn, draft):
            continue
        if _find(conn, draft.source_canonical, draft.blog, draft.post_id) is None:
            insert_draft(conn, draft, now)
            added += 1
    return added
