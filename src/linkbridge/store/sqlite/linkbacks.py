"""Linkback rows and their recorded decisions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from linkbridge.errors import AlreadyDecided, IllegalTransition, LimitReached, NotFound
from linkbridge.model import (
    VERIFIED_STATES,
    Decision,
    Linkback,
    LinkbackDraft,
    LinkbackMark,
    LinkbackProtocol,
    LinkbackState,
    PostKey,
    ReceiveLimits,
    RecordResult,
    SourceDetails,
    can_transition,
    erased_digest,
    sender_group,
)
from linkbridge.store.rows import (
    detail_fields,
    resend_changes_nothing,
    row_to_linkback,
)
from linkbridge.store.source_keys import new_source_keys
from linkbridge.store.sqlite.engine import SqliteEngine, bump_feeds, dt, dt_required, ts

SHOWN = LinkbackState.APPROVED


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


def insert_draft(
    conn: sqlite3.Connection, draft: LinkbackDraft, now: datetime,
    received_at: datetime | None = None,
) -> Linkback:
    """Insert a new row from `draft` (state as the draft says) and record the decision; the
    row as stored comes back from the INSERT itself (RETURNING), not from a second read."""
    created = draft.created_at or now
    imported = draft.state != LinkbackState.UNVERIFIED  # only an import stores a decided row
    row = conn.execute(
        "INSERT INTO linkbacks (blog, post_id, source_url, source_canonical, source_host,"
        " protocol, state, title, excerpt, blog_name, target_url, public_id, client_ip,"
        " created_at, updated_at, verified_at, imported, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
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
            int(imported),
            ts(received_at),
        ),
    ).fetchone()
    lb = row_to_linkback(row)
    if draft.state != LinkbackState.UNVERIFIED:
        conn.execute(
            "INSERT INTO decisions (linkback_id, old_state, new_state, actor, reason, at)"
            " VALUES (?, 'unverified', ?, 'import', 'imported from WordPress', ?)",
            (lb.id, draft.state.value, ts(now)),
        )
    if draft.state == SHOWN:
        bump_feeds(conn, lb.blog, lb.post_id)
    return lb


def _enqueue(conn: sqlite3.Connection, kind: str, payload: dict[str, Any], run_after: datetime,
             dedupe_key: str | None, now: datetime, *, source_host: str = "",
             sender: str = "") -> int:
    cur = conn.execute(
        "INSERT INTO jobs (kind, payload, dedupe_key, run_after, created_at, source_host, sender)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        # a queued job is never put off: repeats coalesce into the earlier run
        " ON CONFLICT (dedupe_key) DO UPDATE SET"
        " run_after = MIN(jobs.run_after, excluded.run_after),"
        " lease_until = NULL, attempts = 0, source_host = excluded.source_host,"
        " sender = excluded.sender RETURNING id",
        (kind, json.dumps(payload), dedupe_key, ts(run_after), ts(now), source_host, sender),
    )
    return int(cur.fetchone()[0])


def _window_end(
    conn: sqlite3.Connection, existing: Linkback | None, draft: LinkbackDraft,
    limits: ReceiveLimits | None, now: datetime,
) -> datetime | None:
    """When the row's open repeat window ends, if this re-send falls inside one."""
    if limits is None or limits.repeat_window_s <= 0 or existing is None:
        return None
    row = conn.execute(
        "SELECT received_at FROM linkbacks WHERE id = ? AND protocol = ?",
        (existing.id, draft.protocol.value),
    ).fetchone()
    opened = dt(row[0]) if row is not None else None
    if opened is None:
        return None
    end = opened + timedelta(seconds=limits.repeat_window_s)
    return end if end > now else None


def _check_limits(
    conn: sqlite3.Connection, draft: LinkbackDraft, limits: ReceiveLimits,
    existing: Linkback | None,
) -> None:
    if limits.rate_since is not None and limits.rate_max > 0 and draft.client_ip:
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM linkbacks WHERE client_ip = ? AND protocol = ?"
            " AND received_at >= ?",
            (draft.client_ip, draft.protocol.value, ts(limits.rate_since)),
        ).fetchone()
        if n >= limits.rate_max:
            raise LimitReached("store: too many linkbacks from this address",
                               reason="rate_limited")
    if limits.host_since is not None and limits.host_max > 0:
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM linkbacks WHERE source_host = ? AND created_at >= ?",
            (draft.source_host, ts(limits.host_since)),
        ).fetchone()
        if n >= limits.host_max:
            raise LimitReached("store: too many linkbacks from this host today",
                               reason="daily_cap")


def _host_has_approved(conn: sqlite3.Connection, host: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM linkbacks WHERE source_host = ? AND state = 'approved' LIMIT 1", (host,)
    ).fetchone()
    return row is not None


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
        reverify_imported: bool = False,
        limits: ReceiveLimits | None = None,
    ) -> RecordResult:
        def tx(conn: sqlite3.Connection) -> RecordResult:
            existing = _find(conn, draft.source_canonical, draft.blog, draft.post_id)
            if limits is not None:  # the one writer serialises this count and the insert
                _check_limits(conn, draft, limits, existing)
            window_end = _window_end(conn, existing, draft, limits, now)
            if existing is None:  # a first receipt opens its window in the INSERT itself
                lb = insert_draft(conn, draft, now, received_at=now)
            else:
                if draft.public_id is not None and existing.public_id is None:
                    # a webmention gets a status resource even for a row it cannot change
                    conn.execute("UPDATE linkbacks SET public_id = ? WHERE id = ?",
                                 (draft.public_id, existing.id))
                    existing = replace(existing, public_id=draft.public_id)
                if resend_changes_nothing(existing, resend_is_duplicate, reverify_imported):
                    return RecordResult(existing, created=False, duplicate=True)
                lb = _resend(conn, existing, draft, now)
            run_after = job_run_after or now
            if window_end is not None:  # coalesced: verified once, when the open window ends
                run_after = max(run_after, window_end)
            elif existing is not None:  # a re-send outside any window opens the next one
                conn.execute(
                    "UPDATE linkbacks SET received_at = ? WHERE id = ?", (ts(now), lb.id)
                )
            job_id = None
            if job_kind is not None:
                job_id = _enqueue(
                    conn, job_kind, {"linkback_id": lb.id}, run_after,
                    f"verify:{lb.id}", now, source_host=draft.source_host,
                    sender=sender_group(draft.client_ip),
                )
            return RecordResult(lb, created=existing is None, duplicate=False, job_id=job_id)

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
        complete_job: int | None = None,
        state_if_host_known: LinkbackState | None = None,
    ) -> Linkback:
        def tx(conn: sqlite3.Connection) -> Linkback:
            nonlocal new_state
            lb = _get(conn, linkback_id)
            if lb is None:
                raise NotFound(f"store: no linkback {linkback_id}")
            if from_state is not None and lb.state != from_state:
                raise AlreadyDecided(
                    f"store: linkback {linkback_id} is {lb.state} already, not {from_state}"
                )
            if state_if_host_known is not None and _host_has_approved(conn, lb.source_host):
                new_state = state_if_host_known
            if not can_transition(lb.state, new_state):
                raise IllegalTransition(
                    f"store: linkback {linkback_id} cannot go from {lb.state} to {new_state}"
                )
            fields: dict[str, Any] = {"state": new_state.value, "reason": reason,
                                      "updated_at": ts(now)}
            if new_state in VERIFIED_STATES and lb.state == LinkbackState.UNVERIFIED:
                fields["verified_at"] = ts(now)
            if details is not None:
                fields.update(detail_fields(lb, details, stored=ts))
            sets = ", ".join(f"{k} = ?" for k in fields)
            row = conn.execute(  # the row as updated, from the UPDATE itself (no re-read)
                f"UPDATE linkbacks SET {sets} WHERE id = ? RETURNING *",
                (*fields.values(), lb.id),
            ).fetchone()
            if new_state != lb.state:
                _decide(conn, lb, new_state, actor, reason, now)
            if SHOWN in (lb.state, new_state):
                bump_feeds(conn, lb.blog, lb.post_id)
            if complete_job is not None:
                conn.execute("DELETE FROM jobs WHERE id = ?", (complete_job,))
            return row_to_linkback(row)

        return await self.engine.write(tx)

    async def finish_reverify(
        self,
        linkback_id: int,
        expected: LinkbackState,
        new_state: LinkbackState | None,
        *,
        actor: str,
        reason: str,
        now: datetime,
        details: SourceDetails | None = None,
    ) -> Linkback:
        def tx(conn: sqlite3.Connection) -> Linkback:
            lb = _get(conn, linkback_id)
            if lb is None:
                raise NotFound(f"store: no linkback {linkback_id}")
            fields: dict[str, Any] = {"reverify_url": None, "reverify_since": None,
                                      "attempts": 0}
            if lb.state == expected and lb.reverify_url is not None:  # nobody decided meanwhile
                state = new_state or lb.state
                if not can_transition(lb.state, state):
                    raise IllegalTransition(
                        f"store: linkback {linkback_id} cannot go from {lb.state} to {state}"
                    )
                if details is not None:  # verified again: what the source says now
                    fields.update(detail_fields(lb, details, stored=ts), source_url=lb.reverify_url,
                                  verified_at=ts(now))
                if state != lb.state or details is not None:
                    fields.update(state=state.value, reason=reason, updated_at=ts(now))
                if state != lb.state:
                    _decide(conn, lb, state, actor, reason, now)
                if SHOWN in (lb.state, state):
                    bump_feeds(conn, lb.blog, lb.post_id)
            sets = ", ".join(f"{k} = ?" for k in fields)
            conn.execute(f"UPDATE linkbacks SET {sets} WHERE id = ?", (*fields.values(), lb.id))
            out = _get(conn, lb.id)
            assert out is not None
            return out

        return await self.engine.write(tx)

    async def rekey_sources(self, version: str, key_of: Callable[[str], str]) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT value FROM meta WHERE key = 'source_keys'").fetchone()
            if row is not None and row[0] == version:
                return 0
            rows = conn.execute(
                "SELECT id, blog, post_id, source_url, source_canonical FROM linkbacks"
                " ORDER BY id"
            ).fetchall()
            changed = new_source_keys([tuple(r) for r in rows], key_of)
            # two steps, so the UNIQUE (source_canonical, blog, post_id) never sees a clash
            conn.executemany("UPDATE linkbacks SET source_canonical = ? WHERE id = ?",
                             [(f"#rekey{i}", i) for i in changed])
            conn.executemany("UPDATE linkbacks SET source_canonical = ? WHERE id = ?",
                             [(key, i) for i, key in changed.items()])
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('source_keys', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (version,),
            )
            return len(changed)

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

    async def linkback_marks(self, post: PostKey | None = None) -> dict[PostKey, LinkbackMark]:
        where, params = ("", ()) if post is None else (
            " WHERE blog = ? AND post_id = ?", (post.blog, post.post_id))

        def q(conn: sqlite3.Connection) -> dict[PostKey, LinkbackMark]:
            rows = conn.execute(
                "SELECT blog, post_id, COUNT(*), MAX(id), MAX(updated_at) FROM linkbacks"
                f"{where} GROUP BY blog, post_id", params
            )
            return {PostKey(r[0], r[1]): (r[2], r[3], r[4] or "") for r in rows}

        return await self.engine.read(q)


def _erased(conn: sqlite3.Connection, draft: LinkbackDraft) -> bool:
    digest = erased_digest(draft.source_url, draft.blog, draft.post_id)
    return conn.execute(
        "SELECT 1 FROM erased_linkbacks WHERE digest = ?", (digest,)
    ).fetchone() is not None


def _resend(
    conn: sqlite3.Connection, existing: Linkback, draft: LinkbackDraft, now: datetime
) -> Linkback:
    """A re-send of a known source. A row that was verified (held, approved, deleted) keeps its
    state and is marked for re-verification; only a never-verified row is reopened."""
    if existing.state in (LinkbackState.HELD, SHOWN, LinkbackState.DELETED):
        conn.execute(
            "UPDATE linkbacks SET reverify_url = ?, reverify_since = COALESCE(reverify_since, ?),"
            " client_ip = ?, attempts = 0 WHERE id = ?",
            (draft.source_url, ts(now), draft.client_ip, existing.id),
        )
    else:  # unverified or failed: never shown, so nothing a reader sees changes
        conn.execute(
            "UPDATE linkbacks SET state = 'unverified', source_url = ?, protocol = ?,"
            " target_url = ?, title = CASE WHEN ? != '' THEN ? ELSE title END,"
            " excerpt = CASE WHEN ? != '' THEN ? ELSE excerpt END,"
            " blog_name = CASE WHEN ? != '' THEN ? ELSE blog_name END,"
            " client_ip = ?, attempts = 0, updated_at = ? WHERE id = ?",
            (
                draft.source_url, draft.protocol.value, draft.target_url,
                draft.title, draft.title, draft.excerpt, draft.excerpt,
                draft.blog_name, draft.blog_name, draft.client_ip, ts(now), existing.id,
            ),
        )
        if existing.state != LinkbackState.UNVERIFIED:
            _decide(conn, existing, LinkbackState.UNVERIFIED, "sender", "re-sent", now)
    updated = _get(conn, existing.id)
    assert updated is not None
    return updated


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
