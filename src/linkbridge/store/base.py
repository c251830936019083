"""The Store protocol every backend implements (SQLite embedded, PostgreSQL shared)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from linkbridge.errors import ConfigError, StoreMissing
from linkbridge.model import (
    AdminSession,
    ArchiveSnapshot,
    Change,
    ChangeNote,
    Decision,
    Erasure,
    Hit,
    HitBatch,
    HitDay,
    Job,
    Linkback,
    LinkbackDraft,
    LinkbackMark,
    LinkbackProtocol,
    LinkbackState,
    Mapping,
    MappingChanges,
    MappingSuggestion,
    Post,
    PostKey,
    ReceiveLimits,
    RecordResult,
    SourceDetails,
    SuccessorCheck,
    SuccessorPage,
    WebhookDelivery,
)
from linkbridge.settings import StoreSettings


class Store(Protocol):
    """Everything the service keeps. Every method is one transaction; writes commit first."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    async def ping(self) -> bool:
        """True when the store answers (readiness); never waits behind other reads."""

    # -- version: bumped on every change feeds, the redirect table or lists depend on
    async def version(self) -> int: ...

    async def bump_version(self) -> int: ...

    async def wait_for_change(self, timeout_s: float) -> None:
        """Return soon after another writer bumps the version, or after `timeout_s`.

        PostgreSQL wakes on a NOTIFY; SQLite has no such signal and simply sleeps, so its
        readers see a change at the next poll."""

    async def versions(self) -> dict[str, int]:
        """`version` and one version per snapshot input, each moved by its own writes:
        {"version": …, "posts": …, "mappings": …, "lists": …} (read together, one query)."""

    # -- feed versions, per scope: a linkback shown or hidden moves its post's ("/blog/#ID"),
    # its sub-blog's ("/blog/") and the network's ("") version, never `version` above.
    async def feed_changes(self, since: int) -> tuple[int, dict[str, int]]:
        """The current feed sequence number and every scope whose version is above `since`
        (each scope's version is the sequence number of its last change)."""

    # -- posts
    async def import_posts(
        self, blog: str, posts: Sequence[Post], linkbacks: Sequence[LinkbackDraft], now: datetime
    ) -> tuple[int, int]:
        """Replace one sub-blog's posts atomically (missing ones become tombstones) and add
        imported linkbacks that are not there yet. Returns (posts, new linkbacks)."""

    async def all_posts(self) -> list[Post]: ...

    # -- linkbacks
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
        """Insert or reuse the (canonical source, post) row, and enqueue its verification job,
        in one commit. Returned untouched (`duplicate`): an imported row (unless
        `reverify_imported`), a rejected or spam row, a verified row with
        `resend_is_duplicate`. A held, approved or deleted row keeps its state and gets the
        re-verification marker (`reverify_url`); an unverified or failed row is reopened.
        A draft's `public_id` is kept on a row that has none, even an untouched one.

        With `limits`, the repeat window, the client's rate and the host's daily cap are
        counted in the same transaction, serialised per client and per host, so concurrent
        receivers on any instance cannot pass them together; LimitReached says which one
        refused (nothing is written then). The row's receipt time is stamped."""

    async def get_linkback(self, linkback_id: int) -> Linkback | None: ...

    async def get_linkback_by_public_id(self, public_id: str) -> Linkback | None: ...

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
        """Move a row through the state machine, recording who, when and why; with
        `complete_job`, that job is done in the same commit (a verification's one write).

        With `from_state`, only a row still in that state moves (compare-and-set under the
        row's lock); otherwise AlreadyDecided is raised and nothing changes. Two processes
        verifying the same row thus decide it once. With `state_if_host_known`, the row takes
        that state instead when its source host already has an approved linkback, looked up
        in the same transaction (the moderation rule's "known host", without a read first)."""

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
        """Clear the re-verification marker. When the row is still in `expected` state:
        move it to `new_state` (None: stay) recording the decision, and with `details` (it
        verified again) store them and the re-sent URL as the source URL. When someone
        decided meanwhile, only the marker is cleared."""

    async def rekey_sources(self, version: str, key_of: Callable[[str], str]) -> int:
        """Recompute every row's `source_canonical` as `key_of(source_url)`, once per
        `version` of the source identity rule (kept in `meta`); return how many changed.
        Nothing is merged or lost: a row whose new key another row of the same post has
        already taken keeps its own, suffixed with "#<id>" (a fragment no real key has)."""

    async def count_attempt(self, linkback_id: int, reason: str, now: datetime) -> int:
        """Record one more failed (transient) verification attempt; return the count."""

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
        """Newest first; `changed_since`: rows whose state or details changed at or after it."""

    async def linkback_counts(
        self, *, state: LinkbackState, blog: str | None = None, post_id: int | None = None
    ) -> dict[tuple[LinkbackProtocol, str], int]:
        """Rows in `state` of the scope, counted by (protocol, mention type)."""

    async def decisions(self, linkback_id: int) -> list[Decision]: ...

    async def last_change(self, *, blog: str | None = None, post_id: int | None = None) -> (
        datetime | None
    ):
        """When any linkback of the scope last changed (a feed's Last-Modified floor)."""

    async def linkback_marks(self, post: PostKey | None = None) -> dict[PostKey, LinkbackMark]:
        """Per post with linkbacks (or of `post` only), in one query: (rows, highest id, latest
        `updated_at` as stored). A row added, removed or changed moves its post's mark,
        including the changes that move no feed version (an erasure, an import): `export
        nginx` compares them to know which linkback feeds a posts-version move can have
        changed."""

    # -- jobs
    async def enqueue_job(
        self,
        kind: str,
        payload: dict[str, Any],
        run_after: datetime,
        *,
        dedupe_key: str | None = None,
        source_host: str = "",
        sender: str = "",
    ) -> int:
        """Queue a job; `source_host` and `sender` (a `model.sender_group`) are its fair-share
        keys. A job with the same `dedupe_key` is reset to fresh instead of duplicated."""

    async def claim_job(
        self, now: datetime, lease_s: float, *, max_per_host: int = 0, max_per_sender: int = 0
    ) -> Job | None:
        """Lease the first due, unleased job and count an attempt, or None.

        Order: fresh jobs (never claimed) before retries, then by `run_after`, then by id.
        Fair share: a job is skipped while `max_per_host` jobs with its non-empty source host,
        or `max_per_sender` jobs with its non-empty sender, hold an unexpired lease (0: no cap).
        record_linkback's verification job carries the draft's host and sender group.
        """

    async def complete_job(self, job_id: int) -> None: ...

    async def retry_job(self, job_id: int, run_after: datetime, error: str) -> None: ...

    async def count_jobs(self) -> int: ...

    async def oldest_job_at(self) -> datetime | None:
        """When the oldest queued job was created (its age is the queue's lag); None: empty."""

    # -- host lists ("block" | "allow")
    async def list_hosts(self, list_name: str) -> list[str]: ...

    # -- redirect table and hits
    async def list_mappings(self) -> list[Mapping]: ...

    async def mapping_pairs(self) -> list[tuple[str, str]]:
        """Every stored mapping as (source, target), ordered by source: what the redirect table
        is built from, as plain tuples (100,000 Mapping objects cost a start-up dearly)."""
        ...

    async def mapping_changes(self, since: int, limit: int) -> MappingChanges | None:
        """The mappings written or removed since mappings version `since`, read together with
        the version they lead to; None when more than `limit` moved or when a change since
        was not recorded row by row (then the caller reads every mapping)."""
        ...

    async def put_mappings(self, mappings: Sequence[Mapping], now: datetime) -> None: ...

    # -- hits (the one rule: exact day totals forever, per-path rows capped and pruned)
    async def add_hits(
        self,
        batch: HitBatch,
        *,
        paths_per_day_max: int | None = None,
        keep_paths_from_day: str | None = None,
    ) -> int:
        """Add one flush in one commit, every count by an upsert that ADDS (never sets), so
        several instances flushing into one store never overwrite each other's counts.

        `batch.days` are added to `hit_days` (day, status, rule: hits, other_paths, ignored).
        Each path count is added to its (day, path, status, rule) row if the row exists; else,
        with fewer than `paths_per_day_max` rows that day (None: no cap), a row is inserted;
        else it replaces the day's least-hit row (lowest count, then greatest path) when its
        count is higher, and the displaced row's count is added to that row's day totals'
        `other_paths`; else its own count is. Path rows of days before `keep_paths_from_day`
        (YYYY-MM-DD) are deleted. Returns the hits moved to `other_paths` by the cap."""

    async def top_hits(self, *, limit: int, exclude_rules: Iterable[str] = ()) -> list[Hit]:
        """Most-hit (path, status, rule) over all days, counts summed, most first."""

    async def hit_days(self, *, since_day: str = "") -> list[HitDay]:
        """Per-day totals from `since_day` (YYYY-MM-DD, inclusive) on, by day, status, rule."""

    async def path_days(self, paths: Sequence[str], *, since_day: str = "") -> list[Hit]:
        """The per-path rows of `paths` from `since_day` on, one per (day, path, status,
        rule), by path then day (for one path's hits per day; rows of pruned days are gone)."""

    async def prefix_hits(self, prefixes: Sequence[str], *, since_day: str = "") -> dict[str, int]:
        """Hits in per-path rows from `since_day` on whose path starts with each prefix (exact
        string prefix, no pattern); a prefix without rows maps to 0."""

    # -- recorded edits and the moderation history (store/sqlite/history.py)
    async def edit_mappings(
        self, put: Sequence[Mapping], remove: Sequence[str], note: ChangeNote
    ) -> list[Change]:
        """Remove the `remove` sources, then upsert `put`, in one commit; record one Change
        per row that really changed (before/after), and bump the version when any did."""

    async def edit_host(
        self, host: str, list_name: str, *, present: bool, note: ChangeNote
    ) -> Change | None:
        """Add (`present`) or remove a host list entry with its recorded Change; None (and
        nothing recorded) when the entry already was as asked."""

    async def history(
        self,
        *,
        subject: str | None = None,
        key: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        """Recorded changes, newest first: mapping and host edits, and linkback decisions
        (subject "linkback", key the id, before/after the states)."""

    # -- admin key/values (password hash, secrets)
    async def get_setting(self, key: str) -> str | None: ...

    async def put_setting(self, key: str, value: str) -> None: ...

    # -- moderators, sessions, webhook deliveries, successor checks (store/sqlite/admin.py)
    async def set_admin_password(self, username: str, password_hash: str) -> None:
        """Store a moderator's password hash, end their sessions, and bump the version."""

    async def admin_password_hash(self, username: str) -> str | None: ...

    async def admin_users(self) -> list[str]: ...

    async def create_admin_session(self, session: AdminSession, now: datetime) -> None:
        """Store a new session (and drop expired ones)."""

    async def get_admin_session(self, token_hash: str, now: datetime) -> AdminSession | None:
        """The unexpired session with this token hash."""

    async def delete_admin_session(self, token_hash: str) -> bool: ...

    async def enqueue_webhook(
        self, event: str, payload: str, now: datetime, *, job_kind: str
    ) -> int:
        """Record a pending delivery and queue its job in one commit; return the delivery id."""

    async def get_webhook_delivery(self, delivery_id: int) -> WebhookDelivery | None: ...

    async def record_webhook_attempt(
        self, delivery_id: int, *, status: str, error: str, now: datetime
    ) -> WebhookDelivery:
        """Count one delivery attempt and set the delivery's status ("delivered" sets when)."""

    async def list_webhook_deliveries(self, *, limit: int, offset: int = 0) -> (
        list[WebhookDelivery]
    ):
        """Newest first."""

    async def put_successor_checks(self, checks: Sequence[SuccessorCheck]) -> None:
        """Replace the stored successor check results with these."""

    async def list_successor_checks(self) -> list[SuccessorCheck]: ...


    # -- personal data (store/*/privacy.py)
    async def erase_linkbacks(self, erasure: Erasure, note: ChangeNote) -> int:
        """Delete the linkbacks the erasure names, with their decisions, jobs and webhook
        deliveries; record one history row without the erased data; return how many."""

    async def prune_failed(self, before: datetime) -> int:
        """Delete failed linkbacks (never shown) last changed before `before`, with their
        decisions and jobs; keep each webmention status id with its reason (`pruned_reason`).
        Return how many were pruned."""

    async def pruned_reason(self, public_id: str) -> str | None:
        """Why the pruned linkback with this status id failed; None when none was pruned."""

    async def forget_client_data(self, before: datetime) -> int:
        """Blank sender addresses of linkbacks and jobs created before `before` and drop
        finished webhook deliveries made before it; return how many rows changed."""


    # -- mapping suggestions (store/*/suggestions.py)
    async def put_successor_pages(self, pages: Sequence[SuccessorPage], now: datetime) -> None:
        """Cache pages read from a successor site (a page read again replaces its row)."""

    async def successor_pages(self) -> list[SuccessorPage]: ...

    async def put_suggestions(
        self, suggestions: Sequence[MappingSuggestion], now: datetime
    ) -> None:
        """Store suggestions; one a moderator already accepted or rejected is left alone."""

    async def list_suggestions(
        self, *, state: str = "open", limit: int = 100, offset: int = 0
    ) -> list[MappingSuggestion]:
        """Most important first: priority (hits, linkbacks), then those with a page, by score."""

    async def set_suggestion_state(
        self, path: str, state: str, now: datetime
    ) -> MappingSuggestion | None: ...

    # -- web-archive snapshots (store/*/archive.py)
    async def put_archive_snapshots(self, snapshots: Sequence[ArchiveSnapshot]) -> None:
        """Keep each post's last lookup (one per path) and bump the version."""

    async def archive_snapshots(self) -> list[ArchiveSnapshot]: ...

    # -- whole tables, for export and import (store/dump.py)
    async def table_names(self) -> list[str]:
        """Every table of the store's schema."""

    async def export_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of `table` as JSON values (store/dump.py: json_value)."""

    async def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert exported rows (a row whose key exists already is left as it is)."""


def open_store(
    url: str,
    *,
    busy_timeout_ms: int = 5000,
    group_commit_max_writes: int = 256,
    pool_max_connections: int = 10,
) -> Store:
    """Make the Store for a `store.url` (not yet opened)."""
    if url.startswith("sqlite:"):
        from linkbridge.store.sqlite import SqliteStore

        return SqliteStore(
            sqlite_path(url),
            busy_timeout_ms=busy_timeout_ms,
            group_commit_max_writes=group_commit_max_writes,
        )
    if url.startswith(POSTGRES_SCHEMES):
        from linkbridge.store.postgres import PostgresStore

        return PostgresStore(url, pool_max_connections=pool_max_connections)
    raise ConfigError("store.url: unsupported store URL (expected sqlite:PATH or postgresql://…)")


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_configured_store(settings: StoreSettings, *, create: bool = True) -> Store:
    """The Store the `[store]` settings describe (not yet opened).

    `create=False` (every command but serve, init and the imports) refuses a missing SQLite
    file with StoreMissing instead of creating an empty store nobody serves.
    """
    if not create and settings.url.startswith("sqlite:"):
        path = sqlite_path(settings.url)
        if not path.exists():
            raise StoreMissing(str(path))
    return open_store(
        settings.url,
        busy_timeout_ms=settings.busy_timeout_ms,
        group_commit_max_writes=settings.group_commit_max_writes,
        pool_max_connections=settings.pool_max_connections,
    )


def sqlite_path(url: str) -> Path:
    """`sqlite:///abs/path`, or `sqlite:rel/path` (the loader resolves it against the state
    directory before anything opens it)."""
    rest = url.removeprefix("sqlite:")
    if rest.startswith("///"):
        return Path(rest[2:])
    if rest.startswith("//"):
        raise ConfigError(f"store: use sqlite:PATH or sqlite:///ABS/PATH, not {url!r}")
    return Path(rest)
