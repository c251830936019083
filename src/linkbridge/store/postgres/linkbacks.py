"""Linkback rows and their recorded decisions (PostgreSQL).

Duplicates are kept out by the UNIQUE (source_canonical, blog, post_id) constraint: a new
row is `INSERT … ON CONFLICT DO NOTHING`, and the loser of a race locks and reuses the row
the winner inserted, so two instances receiving the same ping store it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
from linkbridge.store.postgres.engine import Conn, PostgresEngine, bump_feeds
from linkbridge.store.rows import detail_fields, resend_changes_nothing, row_to_linkback
from linkbridge.store.source_keys import new_source_keys

SHOWN = LinkbackState.APPROVED


async def get(conn: Conn, linkback_id: int, *, lock: bool = False) -> Linkback | None:
    sql = "SELECT * FROM linkbacks WHERE id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, linkback_id)
    return row_to_linkback(row) if row else None


async def find(
    conn: Conn, canonical: str, blog: str, post_id: int, *, lock: bool = False
) -> Linkback | None:
    sql = "SELECT * FROM linkbacks WHERE source_canonical = $1 AND blog = $2 AND post_id = $3"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), canonical, blog, post_id)
    return row_to_linkback(row) if row else None


async def decide(
    conn: Conn, lb: Linkback, new: LinkbackState, actor: str, reason: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO decisions (linkback_id, old_state, new_state, actor, reason, at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        lb.id, lb.state.value, new.value, actor, reason, now,
    )


async def insert_draft(conn: Conn, draft: LinkbackDraft, now: datetime) -> Linkback | None:
    """Insert a new row from `draft`; None when the (source, post) row exists already."""
    created = draft.created_at or now
    imported = draft.state != LinkbackState.UNVERIFIED  # only an import stores a decided row
    row = await conn.fetchrow(
        "INSERT INTO linkbacks (blog, post_id, source_url, source_canonical, source_host,"
        " protocol, state, title, excerpt, blog_name, target_url, public_id, client_ip,"
        " created_at, updated_at, verified_at, imported)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        " ON CONFLICT (source_canonical, blog, post_id) DO NOTHING RETURNING *",
        draft.blog, draft.post_id, draft.source_url, draft.source_canonical, draft.source_host,
        draft.protocol.value, draft.state.value, draft.title, draft.excerpt, draft.blog_name,
        draft.target_url, draft.public_id, draft.client_ip, created, now,
        created if draft.state in VERIFIED_STATES else None, imported,
    )
    if row is None:
        return None
    lb = row_to_linkback(row)
    if draft.state != LinkbackState.UNVERIFIED:
        await conn.execute(
            "INSERT INTO decisions (linkback_id, old_state, new_state, actor, reason, at)"
            " VALUES ($1, 'unverified', $2, 'import', 'imported from WordPress', $3)",
            lb.id, draft.state.value, now,
        )
    if draft.state == SHOWN:
        await bump_feeds(conn, draft.blog, draft.post_id)
    return lb


async def enqueue(
    conn: Conn, kind: str, payload: dict[str, Any], run_after: datetime,
    dedupe_key: str | None, now: datetime, *, source_host: str = "", sender: str = "",
) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO jobs (kind, payload, dedupe_key, run_after, created_at, source_host,"
            " sender) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            # a queued job is never put off: repeats coalesce into the earlier run
            " ON CONFLICT (dedupe_key) DO UPDATE SET"
            " run_after = LEAST(jobs.run_after, excluded.run_after),"
            " lease_until = NULL, attempts = 0, source_host = excluded.source_host,"
            " sender = excluded.sender RETURNING id",
            kind, payload, dedupe_key, run_after, now, source_host, sender,
        )
    )


async def _resend(conn: Conn, existing: Linkback, draft: LinkbackDraft, now: datetime) -> Linkback:
    """A re-send of a known source. A row that was verified (held, approved, deleted) keeps its
    state and is marked for re-verification; only a never-verified row is reopened."""
    if existing.state in (LinkbackState.HELD, SHOWN, LinkbackState.DELETED):
        row = await conn.fetchrow(
            "UPDATE linkbacks SET reverify_url = $1,"
            " reverify_since = COALESCE(reverify_since, $2), client_ip = $3, attempts = 0"
            " WHERE id = $4 RETURNING *",
            draft.source_url, now, draft.client_ip, existing.id,
        )
    else:  # unverified or failed: never shown, so nothing a reader sees changes
        row = await conn.fetchrow(
            "UPDATE linkbacks SET state = 'unverified', source_url = $1, protocol = $2,"
            " target_url = $3, title = CASE WHEN $4 <> '' THEN $4 ELSE title END,"
            " excerpt = CASE WHEN $5 <> '' THEN $5 ELSE excerpt END,"
            " blog_name = CASE WHEN $6 <> '' THEN $6 ELSE blog_name END,"
            " client_ip = $7, attempts = 0, updated_at = $8 WHERE id = $9 RETURNING *",
            draft.source_url, draft.protocol.value, draft.target_url, draft.title,
            draft.excerpt, draft.blog_name, draft.client_ip, now, existing.id,
        )
        if existing.state != LinkbackState.UNVERIFIED:
            await decide(conn, existing, LinkbackState.UNVERIFIED, "sender", "re-sent", now)
    assert row is not None  # locked by the caller
    return row_to_linkback(row)


async def _update(conn: Conn, linkback_id: int, fields: dict[str, Any]) -> Linkback:
    sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(fields, start=1))
    row = await conn.fetchrow(
        f"UPDATE linkbacks SET {sets} WHERE id = ${len(fields) + 1} RETURNING *",
        *fields.values(), linkback_id,
    )
    assert row is not None  # locked by the caller
    return row_to_linkback(row)


async def _window_end(
    conn: Conn, existing: Linkback, draft: LinkbackDraft, limits: ReceiveLimits | None,
    now: datetime,
) -> datetime | None:
    """When the row's open repeat window ends, if this re-send falls inside one (the row is
    locked: instances receiving the same re-send agree on the window)."""
    if limits is None or limits.repeat_window_s <= 0:
        return None
    opened: datetime | None = await conn.fetchval(
        "SELECT received_at FROM linkbacks WHERE id = $1 AND protocol = $2",
        existing.id, draft.protocol.value,
    )
    if opened is None:
        return None
    end = opened + timedelta(seconds=limits.repeat_window_s)
    return end if end > now else None


async def _check_limits(conn: Conn, draft: LinkbackDraft, limits: ReceiveLimits) -> None:
    """Count under transaction advisory locks (client, then host: one order, no deadlock),
    so two instances accepting at once cannot both take the last place."""
    if limits.rate_since is not None and limits.rate_max > 0 and draft.client_ip:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('lb-client:' || $1 || ' ' || $2))",
            draft.protocol.value, draft.client_ip,
        )
        n = await conn.fetchval(
            "SELECT COUNT(*) FROM linkbacks WHERE client_ip = $1 AND protocol = $2"
            " AND received_at >= $3",
            draft.client_ip, draft.protocol.value, limits.rate_since,
        )
        if n >= limits.rate_max:
            raise LimitReached("store: too many linkbacks from this address",
                               reason="rate_limited")
    if limits.host_since is not None and limits.host_max > 0:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('lb-host:' || $1))", draft.source_host
        )
        n = await conn.fetchval(
            "SELECT COUNT(*) FROM linkbacks WHERE source_host = $1 AND created_at >= $2",
            draft.source_host, limits.host_since,
        )
        if n >= limits.host_max:
            raise LimitReached("store: too many linkbacks from this host today",
                               reason="daily_cap")


class LinkbackRows:
    """Store methods for linkbacks (mixed into PostgresStore)."""

    engine: PostgresEngine

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
        async def tx(conn: Conn) -> RecordResult:
            if limits is not None:
                await _check_limits(conn, draft, limits)
            lb = await insert_draft(conn, draft, now)
            created = lb is not None
            window_end = None
            if lb is None:  # stored already (perhaps a moment ago, by another instance)
                existing = await find(
                    conn, draft.source_canonical, draft.blog, draft.post_id, lock=True
                )
                assert existing is not None  # only failed rows are pruned, never raced here
                window_end = await _window_end(conn, existing, draft, limits, now)
                if draft.public_id is not None and existing.public_id is None:
                    # a webmention gets a status resource even for a row it cannot change
                    existing = await _update(conn, existing.id, {"public_id": draft.public_id})
                if resend_changes_nothing(existing, resend_is_duplicate, reverify_imported):
                    return RecordResult(existing, created=False, duplicate=True)
                lb = await _resend(conn, existing, draft, now)
            run_after = job_run_after or now
            if window_end is None:  # a receipt outside any window opens the next one
                await conn.execute(
                    "UPDATE linkbacks SET received_at = $1 WHERE id = $2", now, lb.id
                )
            else:  # coalesced: verified once, when the window that is open ends
                run_after = max(run_after, window_end)
            job_id = None
            if job_kind is not None:
                job_id = await enqueue(
                    conn, job_kind, {"linkback_id": lb.id}, run_after,
                    f"verify:{lb.id}", now, source_host=draft.source_host,
                    sender=sender_group(draft.client_ip),
                )
            return RecordResult(lb, created=created, duplicate=False, job_id=job_id)

        return await self.engine.tx(tx)

    async def get_linkback(self, linkback_id: int) -> Linkback | None:
        return await self.engine.read(lambda conn: get(conn, linkback_id))

    async def get_linkback_by_public_id(self, public_id: str) -> Linkback | None:
        async def q(conn: Conn) -> Linkback | None:
            row = await conn.fetchrow("SELECT * FROM linkbacks WHERE public_id = $1", public_id)
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
        async def tx(conn: Conn) -> Linkback:
            nonlocal new_state
            lb = await get(conn, linkback_id, lock=True)
            if lb is None:
                raise NotFound(f"store: no linkback {linkback_id}")
            if from_state is not None and lb.state != from_state:
                raise AlreadyDecided(
                    f"store: linkback {linkback_id} is {lb.state} already, not {from_state}"
                )
            if state_if_host_known is not None and await conn.fetchval(
                "SELECT 1 FROM linkbacks WHERE source_host = $1 AND state = 'approved' LIMIT 1",
                lb.source_host,
            ) is not None:
                new_state = state_if_host_known
            if not can_transition(lb.state, new_state):
                raise IllegalTransition(
                    f"store: linkback {linkback_id} cannot go from {lb.state} to {new_state}"
                )
            fields: dict[str, Any] = {"state": new_state.value, "reason": reason,
                                      "updated_at": now}
            if new_state in VERIFIED_STATES and lb.state == LinkbackState.UNVERIFIED:
                fields["verified_at"] = now
            if details is not None:
                fields.update(detail_fields(lb, details))
            out = await _update(conn, lb.id, fields)
            if new_state != lb.state:
                await decide(conn, lb, new_state, actor, reason, now)
            if SHOWN in (lb.state, new_state):
                await bump_feeds(conn, lb.blog, lb.post_id)
            if complete_job is not None:
                await conn.execute("DELETE FROM jobs WHERE id = $1", complete_job)
            return out

        return await self.engine.tx(tx)

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
        async def tx(conn: Conn) -> Linkback:
            lb = await get(conn, linkback_id, lock=True)
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
                    fields.update(detail_fields(lb, details), source_url=lb.reverify_url,
                                  verified_at=now)
                if state != lb.state or details is not None:
                    fields.update(state=state.value, reason=reason, updated_at=now)
                if state != lb.state:
                    await decide(conn, lb, state, actor, reason, now)
                if SHOWN in (lb.state, state):
                    await bump_feeds(conn, lb.blog, lb.post_id)
            return await _update(conn, lb.id, fields)

        return await self.engine.tx(tx)

    async def rekey_sources(self, version: str, key_of: Callable[[str], str]) -> int:
        async def tx(conn: Conn) -> int:
            await conn.execute("LOCK TABLE linkbacks IN EXCLUSIVE MODE")
            done = await conn.fetchval("SELECT value FROM meta WHERE key = 'source_keys'")
            if done == version:
                return 0
            rows = await conn.fetch(
                "SELECT id, blog, post_id, source_url, source_canonical FROM linkbacks"
                " ORDER BY id"
            )
            changed = new_source_keys([tuple(r) for r in rows], key_of)
            # two steps, so the UNIQUE (source_canonical, blog, post_id) never sees a clash
            await conn.executemany("UPDATE linkbacks SET source_canonical = $1 WHERE id = $2",
                                   [(f"#rekey{i}", i) for i in changed])
            await conn.executemany("UPDATE linkbacks SET source_canonical = $1 WHERE id = $2",
                                   [(key, i) for i, key in changed.items()])
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('source_keys', $1)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value", version,
            )
            return len(changed)

        return await self.engine.tx(tx)

    async def count_attempt(self, linkback_id: int, reason: str, now: datetime) -> int:
        value = await self.engine.write_value(
            "UPDATE linkbacks SET attempts = attempts + 1, reason = $1, updated_at = $2"
            " WHERE id = $3 RETURNING attempts",
            reason, now, linkback_id,
        )
        return int(value or 0)

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
            params.append(changed_since)
            where.append(f"updated_at >= ${len(params)}")
        if states is not None:
            params.append([s.value for s in states])
            where.append(f"state = ANY(${len(params)}::text[])")
        proto = protocol.value if protocol is not None else None
        for column, value in (("blog", blog), ("post_id", post_id), ("source_host", host),
                              ("protocol", proto)):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        sql = "SELECT * FROM linkbacks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        params.extend([limit, offset])
        sql += (" ORDER BY COALESCE(verified_at, created_at) DESC, id DESC"
                f" LIMIT ${len(params) - 1} OFFSET ${len(params)}")

        async def q(conn: Conn) -> list[Linkback]:
            return [row_to_linkback(r) for r in await conn.fetch(sql, *params)]

        return await self.engine.read(q)

    async def linkback_counts(
        self, *, state: LinkbackState, blog: str | None = None, post_id: int | None = None
    ) -> dict[tuple[LinkbackProtocol, str], int]:
        where: list[str] = ["state = $1"]
        params: list[object] = [state.value]
        for column, value in (("blog", blog), ("post_id", post_id)):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        sql = (
            "SELECT protocol, mention_type, COUNT(*) AS n FROM linkbacks WHERE "
            + " AND ".join(where)
            + " GROUP BY protocol, mention_type"
        )

        async def q(conn: Conn) -> dict[tuple[LinkbackProtocol, str], int]:
            rows = await conn.fetch(sql, *params)
            return {(LinkbackProtocol(r[0]), str(r[1])): int(r[2]) for r in rows}

        return await self.engine.read(q)

    async def decisions(self, linkback_id: int) -> list[Decision]:
        async def q(conn: Conn) -> list[Decision]:
            rows = await conn.fetch(
                "SELECT * FROM decisions WHERE linkback_id = $1 ORDER BY id", linkback_id
            )
            return [
                Decision(r["linkback_id"], LinkbackState(r["old_state"]),
                         LinkbackState(r["new_state"]), r["actor"], r["reason"], r["at"])
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
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        sql = "SELECT MAX(updated_at) FROM linkbacks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        changed: datetime | None = await self.engine.fetchval(sql, *params)
        return changed

    async def linkback_marks(self, post: PostKey | None = None) -> dict[PostKey, LinkbackMark]:
        where, params = ("", ()) if post is None else (
            " WHERE blog = $1 AND post_id = $2", (post.blog, post.post_id))

        async def q(conn: Conn) -> dict[PostKey, LinkbackMark]:
            rows = await conn.fetch(
                "SELECT blog, post_id, COUNT(*), MAX(id), COALESCE(MAX(updated_at)::text, '')"
                f" FROM linkbacks{where} GROUP BY blog, post_id", *params
            )
            return {PostKey(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}

        return await self.engine.read(q)


async def import_linkbacks(conn: Conn, drafts: Sequence[LinkbackDraft], now: datetime) -> int:
    """Add imported linkbacks that are not stored yet (idempotent), never one erased on a
    person's request; return how many."""
    added = 0
    for draft in drafts:
        digest = erased_digest(draft.source_url, draft.blog, draft.post_id)
        if await conn.fetchval("SELECT 1 FROM erased_linkbacks WHERE digest = $1", digest):
            continue
        if await insert_draft(conn, draft, now) is not None:
            added += 1
    return added
