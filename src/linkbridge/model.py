"""Domain records: posts, linkbacks and their states, redirect mappings, hits."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache


class LinkbackState(StrEnum):
    """Where a linkback stands (docs/architecture.md, "Linkback states")."""

    UNVERIFIED = "unverified"
    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    FAILED = "failed"
    DELETED = "deleted"


VERIFIED_STATES = frozenset(
    {LinkbackState.HELD, LinkbackState.APPROVED, LinkbackState.REJECTED, LinkbackState.SPAM}
)
"""States that count as "already registered": only these answer a re-send as a duplicate."""

ALLOWED_TRANSITIONS: dict[LinkbackState, frozenset[LinkbackState]] = {
    LinkbackState.UNVERIFIED: frozenset(
        {LinkbackState.HELD, LinkbackState.APPROVED, LinkbackState.FAILED}
    ),
    LinkbackState.HELD: frozenset(
        {
            LinkbackState.APPROVED,
            LinkbackState.REJECTED,
            LinkbackState.SPAM,
            LinkbackState.FAILED,
        }
    ),
    LinkbackState.APPROVED: frozenset(
        {LinkbackState.REJECTED, LinkbackState.SPAM, LinkbackState.DELETED}
    ),
    LinkbackState.REJECTED: frozenset({LinkbackState.APPROVED, LinkbackState.SPAM}),
    LinkbackState.SPAM: frozenset({LinkbackState.APPROVED, LinkbackState.REJECTED}),
    LinkbackState.FAILED: frozenset({LinkbackState.UNVERIFIED}),
    LinkbackState.DELETED: frozenset(
        {LinkbackState.APPROVED, LinkbackState.HELD, LinkbackState.REJECTED, LinkbackState.SPAM}
    ),
}
"""The state machine. A re-send never moves a verified row: re-verification is a marker beside
the state (`Linkback.reverify_url`). Only positive evidence moves a shown row to deleted (a held
one, never shown, to failed); a moderator may restore deleted, rejected and spam rows."""

RESTORABLE_STATES = frozenset({LinkbackState.DELETED, LinkbackState.REJECTED, LinkbackState.SPAM})
"""States `moderate restore` (and the admin page's Restore) bring back to approved."""


def can_transition(old: LinkbackState, new: LinkbackState) -> bool:
    """True when the state machine allows `old` -> `new` (staying put is always allowed)."""
    return old == new or new in ALLOWED_TRANSITIONS[old]


class LinkbackProtocol(StrEnum):
    """How the linkback reached us."""

    PINGBACK = "pingback"
    TRACKBACK = "trackback"
    WEBMENTION = "webmention"


@dataclass(frozen=True)
class Category:
    """A WordPress category or tag as the WXR names it."""

    slug: str
    name: str


@dataclass(frozen=True)
class PostKey:
    """A post's identity: (sub-blog path, WordPress post id)."""

    blog: str
    post_id: int


@dataclass(frozen=True)
class Post:
    """One post or page of the old blog, as imported from its WXR export."""

    blog: str
    """Sub-blog path, e.g. "/innovation/"; "/" for the network root blog."""
    post_id: int
    permalink: str
    """Absolute URL as the old blog published it."""
    path: str
    """Canonical path of the permalink (see urls.canonical_path)."""
    slug: str
    title: str
    excerpt: str = ""
    author: str = ""
    """Author login (dc:creator)."""
    author_name: str = ""
    """Author display name (wp:author_display_name); empty when the export has none."""
    published_at: datetime | None = None
    modified_at: datetime | None = None
    status: str = "publish"
    comment_status: str = "open"
    ping_status: str = "open"
    post_type: str = "post"
    categories: tuple[Category, ...] = ()
    human_comments: int = 0
    """Approved human comments, counted (not stored)."""
    tombstone: bool = False
    """Trashed, drafted, or missing from a later import: known, but not a live post."""

    @property
    def key(self) -> PostKey:
        return PostKey(self.blog, self.post_id)

    @property
    def pings_open(self) -> bool:
        return self.ping_status == "open"


@dataclass(frozen=True)
class Linkback:
    """One row per (canonical source, post), across protocols."""

    id: int
    blog: str
    post_id: int
    source_url: str
    source_canonical: str
    source_host: str
    protocol: LinkbackProtocol
    state: LinkbackState
    created_at: datetime
    updated_at: datetime
    title: str = ""
    excerpt: str = ""
    blog_name: str = ""
    author_name: str = ""
    author_url: str = ""
    author_photo: str = ""
    published_at: datetime | None = None
    mention_type: str = "mention"
    target_url: str = ""
    reason: str = ""
    """Why the last verification or decision came out as it did."""
    public_id: str | None = None
    """Random id of the webmention status resource, when there is one."""
    client_ip: str = ""
    verified_at: datetime | None = None
    content: str = ""
    """Sanitised h-entry content (webmention), may be empty."""
    imported: bool = False
    """Imported from a WordPress export: not re-verified by an anonymous re-send (unless
    `moderation.reverify_imported`)."""
    reverify_url: str | None = None
    """Set while a re-send's re-verification is pending: the source URL as re-sent. The row
    keeps its state (and stays shown) meanwhile."""
    reverify_since: datetime | None = None

    @property
    def post_key(self) -> PostKey:
        return PostKey(self.blog, self.post_id)

    @property
    def reverify_pending(self) -> bool:
        """A re-send is waiting to be re-verified (the marker beside the state)."""
        return self.reverify_url is not None

    @property
    def display_name(self) -> str:
        """What a feed or page calls the source: its title, else blog name, else host."""
        return self.title or self.blog_name or self.source_host


@dataclass(frozen=True)
class Decision:
    """A recorded state change: who, when, why."""

    linkback_id: int
    old_state: LinkbackState
    new_state: LinkbackState
    actor: str
    """"rule", "import", "verifier" or a moderator's name."""
    reason: str
    at: datetime


@dataclass(frozen=True)
class ChangeNote:
    """Who makes a change, when, and why: what every moderation change is recorded with."""

    action: str
    """What was done: "map", "unmap", "import", "block", "unblock", "allow", "unallow"."""
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Change:
    """One recorded change of the moderation history (newest first when listed).

    `subject` is "linkback" (a state change; `key` is the linkback id), "mapping" (`key` is
    the canonical path or "/prefix/*") or "host" (`key` is "block:HOST" or "allow:HOST").
    `before`/`after` are None where there was (or is) no row: a new mapping, an unmap.
    """

    subject: str
    key: str
    action: str
    before: str | None
    after: str | None
    actor: str
    reason: str
    at: datetime


class RuleKind(StrEnum):
    """Which rule answered a retired URL."""

    EXACT = "exact"
    REGEX = "regex"
    PREFIX = "prefix"
    DEFAULT = "default"
    UNRESOLVED = "unresolved"


MAPPED_RULES: frozenset[str] = frozenset({RuleKind.EXACT.value, RuleKind.REGEX.value})
"""Rules a moderator wrote for the paths they answer: a path they answer is "mapped"; one the
prefix, default or unresolved rule answers is "unmapped". The hits page's list and charts, the
`hits` command and suggestions all ask `is_mapped`: no path is mapped in one, unmapped in
another."""


def is_mapped(rule: RuleKind) -> bool:
    """Did a moderator's own rule (exact or regex) answer the path?"""
    return rule.value in MAPPED_RULES


@dataclass(frozen=True)
class Mapping:
    """A redirect-table row: `source` is a canonical path or "/prefix/*".

    `target` is an absolute URL, "web", "social", "gone", or "" for unresolved.
    """

    source: str
    target: str
    origin: str = "config"
    """"config", "store" (CSV import, admin page) - the store wins."""
    note: str = ""


@dataclass(frozen=True)
class MappingChanges:
    """The store's mappings written or removed since a mappings version, as of `version`."""

    version: int
    changed: tuple[Mapping, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A counted request after the instant, keyed by day, canonical path, status and rule."""

    day: str
    path: str
    status: int
    rule: RuleKind
    count: int = 1


LinkbackMark = tuple[int, int, str]
"""One post's linkbacks at a glance: (rows, highest id, latest updated_at as text)."""


def feed_scopes(blog: str, post_id: int) -> tuple[str, str, str]:
    """The feed scopes one post's linkbacks show in: the network (""), its sub-blog
    ("/innovation/") and the post itself ("/innovation/#12"); each has its own version."""
    return ("", blog, f"{blog}#{post_id}")


@dataclass(frozen=True)
class HitDay:
    """One UTC day's exact totals for one outcome (status) and rule, kept forever.

    `hits` counts every request; `other_paths` those whose path has no row of its own (past a
    cap, or too long); `ignored` those for assets and probes, which never get a path row.
    """

    day: str
    status: int
    rule: RuleKind
    hits: int = 0
    other_paths: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class HitBatch:
    """What one flush adds: per-path counts and the per-day totals they belong to."""

    paths: tuple[Hit, ...] = ()
    days: tuple[HitDay, ...] = ()

    @classmethod
    def of(cls, paths: Iterable[Hit]) -> HitBatch:
        """A batch of path counts only, with the day totals they add up to."""
        paths = tuple(paths)
        totals: dict[tuple[str, int, RuleKind], int] = {}
        for h in paths:
            key = (h.day, h.status, h.rule)
            totals[key] = totals.get(key, 0) + h.count
        return cls(paths, tuple(HitDay(d, s, r, n) for (d, s, r), n in totals.items()))

    def __bool__(self) -> bool:
        return bool(self.paths or self.days)


@dataclass(frozen=True)
class Job:
    """A durable unit of background work, claimed with a lease."""

    id: int
    kind: str
    payload: dict[str, object] = field(hash=False)
    attempts: int
    run_after: datetime
    lease_until: datetime | None = None
    last_error: str = ""
    source_host: str = ""
    """The source host a verification fetches ("" for other kinds): fair-share key."""
    sender: str = ""
    """The sender's address group (see `sender_group`; "" when unknown): fair-share key."""


@lru_cache(maxsize=4096)
def sender_group(ip: str) -> str:
    """The address a sender is counted under: an IPv4 address, or an IPv6 address's /64.

    One IPv6 host usually holds a whole /64, so fairness per exact address would be no limit.
    Anything that is not an address yields "" (no fair-share key). Remembered (bounded): every
    accepted linkback asks, in the writer's transaction, and senders repeat.
    """
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


@dataclass(frozen=True)
class LinkbackDraft:
    """What a receiver (or an import) knows about a linkback before it is stored."""

    blog: str
    post_id: int
    source_url: str
    source_canonical: str
    source_host: str
    protocol: LinkbackProtocol
    target_url: str = ""
    title: str = ""
    excerpt: str = ""
    blog_name: str = ""
    client_ip: str = ""
    public_id: str | None = None
    state: LinkbackState = LinkbackState.UNVERIFIED
    created_at: datetime | None = None


@dataclass(frozen=True)
class SourceDetails:
    """What verification learnt about the source page, stored on the row."""

    title: str = ""
    excerpt: str = ""
    author_name: str = ""
    author_url: str = ""
    author_photo: str = ""
    published_at: datetime | None = None
    content: str = ""
    mention_type: str = "mention"


@dataclass(frozen=True)
class ReceiveLimits:
    """Limits record_linkback checks in the transaction that accepts a linkback, so they hold
    across processes and instances (each also keeps a local first check that costs nothing).

    A zero maximum or a None start turns that limit off."""

    rate_since: datetime | None = None
    """Window start: linkbacks received from the draft's client IP by its protocol."""
    rate_max: int = 0
    host_since: datetime | None = None
    """Day start: linkbacks created from the draft's source host."""
    host_max: int = 0
    repeat_window_s: float = 0.0
    """A re-send by the same protocol within this long of the receipt that opened the row's
    window is coalesced: its verification job waits for the window's end, on every instance
    (0: no window)."""


@dataclass(frozen=True)
class RecordResult:
    """The answer of Store.record_linkback."""

    linkback: Linkback
    created: bool
    """A new row was inserted."""
    duplicate: bool
    """A verified row already existed and the protocol treats a re-send as a duplicate."""
    job_id: int | None = None


@dataclass(frozen=True)
class AdminSession:
    """A moderator's login: only the hash of the cookie's token is stored."""

    token_hash: str
    username: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook notification and how its delivery attempts went."""

    id: int
    event: str
    payload: str
    """The exact JSON body that is signed and sent."""
    status: str
    """"pending", "delivered" or "failed" (attempts ran out)."""
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class SuccessorCheck:
    """One redirect target's answer to `check-successors`."""

    url: str
    ok: bool
    status: int | None
    detail: str
    checked_at: str


@dataclass(frozen=True)
class Erasure:
    """Whose linkbacks a data-subject request erases: rows matching any given field.

    `source_url` matches the stored URL exactly or through `source_canonical`; `host` the
    source's host; `author_name` the author the source page named."""

    source_url: str = ""
    source_canonical: str = ""
    host: str = ""
    author_name: str = ""

    @property
    def empty(self) -> bool:
        return not (self.source_url or self.source_canonical or self.host or self.author_name)


def erased_digest(source_url: str, blog: str, post_id: int) -> str:
    """What is kept of an erased linkback: a digest that only a re-import of the same source
    for the same post matches."""
    return hashlib.sha256(f"{source_url}\n{blog}\n{post_id}".encode()).hexdigest()


@dataclass(frozen=True)
class SuccessorPage:
    """A page of a successor site as mapping suggestions read it: from its sitemap, with its
    own title, text and date."""

    url: str
    title: str = ""
    text: str = ""
    lastmod: date | None = None


@dataclass(frozen=True)
class MappingSuggestion:
    """The best successor page for one old post (or none), with its score and why.

    `state` is "open" until a moderator accepts (the mapping is made) or rejects it;
    `priority` orders the list: the post's hits and approved linkbacks."""

    path: str
    url: str | None
    score: float
    reason: str
    ranked: tuple[tuple[str, float], ...] = ()
    """The best few pages and their scores, best first (whether or not one was suggested)."""
    state: str = "open"
    priority: int = 0
    title: str = ""
    """The old post's title, for the moderator's side-by-side view."""


@dataclass(frozen=True)
class ArchiveSnapshot:
    """An old post's snapshot in a web archive (Memento), as last looked up.

    `url` is empty when the archive had none before the shutdown instant; `note` says why."""

    path: str
    url: str
    memento_at: datetime | None
    checked_at: datetime
    note: str = ""
