"""The configuration as nested frozen dataclasses, one per concern.

Every limit is a named setting with a unit in its name and a one-line help text; the help text
is what `docs/settings.md` lists (a test checks they agree). Loading, overlays and checks live
in settings_loader.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal


def setting(default: Any, help: str, *, url: bool = False) -> Any:
    """A dataclass field with its documentation; `url=True` validates an http(s) URL."""
    if isinstance(default, list | dict):
        raise TypeError("settings: use tuples for list defaults")
    return field(default=default, metadata={"help": help, "url": url})


def required(help: str, *, url: bool = False) -> Any:
    """A setting without a default."""
    return field(metadata={"help": help, "url": url, "required": True})


@dataclass(frozen=True, kw_only=True)
class BlogSettings:
    """One sub-blog of the network."""

    path: str = required('Sub-blog path with slashes, e.g. "/innovation/".')
    title: str = setting("", "The sub-blog's title, used in feeds and pages.")
    successor: str = setting(
        "web", 'Where the sub-blog\'s URLs go after the instant: a URL, "web" or "social".'
    )


@dataclass(frozen=True, kw_only=True)
class SiteSettings:
    public_base_url: str = required(
        "Absolute base URL every emitted link is built from (never the request Host).", url=True
    )
    title: str = setting("", "The network's title, used in feeds and pages.")
    hosts: tuple[str, ...] = setting(
        (), "Other host names or URLs (aliases) that mean this site; only their host is used."
    )
    shutdown_at: datetime = required(  # noqa: RUF009 - required() returns a field()
        "The shutdown instant, with a timezone (naive times are refused)."
    )
    origin_url: str = setting(
        "", "The still-running blog to proxy to before the instant; empty: answer 404.", url=True
    )
    significant_query_params: tuple[str, ...] = setting(
        ("p", "page_id", "cat", "m", "feed", "s"),
        "Query parameters kept by the canonicaliser (sorted); all others are dropped.",
    )
    blogs: tuple[BlogSettings, ...] = setting((), "The sub-blogs ([[site.blogs]] tables).")
    language: Literal["en", "sv"] = setting(
        "en", "The blog's language: every page, feed and admin string (en or sv)."
    )
    timezone: str = setting(
        "UTC", "Time zone of the times people read (pages, admin), e.g. Europe/Stockholm."
    )
    templates_dir: str = setting(
        "", "Folder whose templates (and pages.css) replace the shipped ones; relative paths "
        "start at the config file's folder. Empty: the shipped templates only."
    )

    @cached_property
    def blog_paths(self) -> tuple[str, ...]:
        """The sub-blogs' paths, derived once (the feed grammar asks on every request)."""
        return tuple(blog.path for blog in self.blogs)


@dataclass(frozen=True, kw_only=True)
class NoticeSettings:
    sv: str = setting("", "The closure notice in Swedish before the instant (plain text).")
    en: str = setting("", "The closure notice in English before the instant (plain text).")
    sv_after: str = setting(
        "", "The notice in Swedish from the instant on (plain text; empty: derived from site)."
    )
    en_after: str = setting(
        "", "The notice in English from the instant on (plain text; empty: derived from site)."
    )
    contact: str = setting("", "Who to contact about the closure (plain text).")


@dataclass(frozen=True, kw_only=True)
class SuccessorSettings:
    web: str = required("The successor web page (URL) readers are sent to.", url=True)
    social: str = required('The successor social account: "@handle" (expanded to x.com) or a URL.')
    check_concurrency: int = setting(
        4, "Successor targets check-successors fetches at once (they may all be on one host)."
    )
    check_rate_per_min: int = setting(
        600, "Successor fetches check-successors starts per minute, at most (after a burst)."
    )
    check_timeout_s: float = setting(15.0, "Time for one successor target, redirects included, s.")


@dataclass(frozen=True, kw_only=True)
class MappingSettings:
    """One redirect-table row from config."""

    source: str = required(
        'Old path, exact ("/a/b/"), prefix ("/a/*") or a regular expression ("^/a/(\\d+)$").'
    )
    to: str = setting(
        "", 'A URL ($1..$9: a pattern\'s captures), "web", "social", "gone", or empty.'
    )
    after_prefixes: bool = setting(
        False, "A pattern tried after the prefix rules instead of before them."
    )


@dataclass(frozen=True, kw_only=True)
class RetireSettings:
    redirect_status: int = setting(301, "Status of retirement redirects: 301 or 308.")
    cache_max_age_s: int = setting(3600, "Cache-Control max-age on redirects and 410 pages, s.")
    allowed_target_hosts: tuple[str, ...] = setting(
        ("x.com", "twitter.com"),
        "Hosts a redirect may point to (the successors' hosts); an entry matches itself and "
        "its subdomains.",
    )
    archive_url_template: str = setting(
        "", 'Web archive link for the 410 page, "{url}" replaced by the old URL; empty: none.'
    )
    feeds_after_shutdown: Literal["farewell", "redirect", "gone"] = setting(
        "farewell", "Feeds after the instant: farewell item, redirect, or 410."
    )
    successor_feed_url: str = setting(
        "", 'Where feeds redirect when feeds_after_shutdown = "redirect".', url=True
    )
    gone_page_cache_entries: int = setting(
        1024, "Rendered 410 pages kept in memory (the same old URLs are asked for again)."
    )
    hit_keys_max: int = setting(
        10000, 'Distinct hit keys kept in memory between flushes; more go to "other paths".'
    )
    hit_path_max_chars: int = setting(
        512, 'Longest path that gets a hit row of its own; longer ones count in "other paths".'
    )
    hit_paths_per_day_max: int = setting(
        500, "Per-path hit rows kept per UTC day: the most-hit; the rest count in the day total."
    )
    hit_path_days: int = setting(
        60, "Days per-path hit rows are kept (day totals are kept forever)."
    )
    hit_flush_interval_s: float = setting(10.0, "How often counted hits are flushed, s.")
    log_sample_rate: float = setting(0.01, "Share of redirect requests that get a log line.")
    check_max_redirects: int = setting(2, "Hops check-successors follows per target.")
    mappings: tuple[MappingSettings, ...] = setting(
        (), "Redirect table rows ([[retire.mappings]])."
    )


@dataclass(frozen=True, kw_only=True)
class PostsSettings:
    wxr: tuple[str, ...] = setting(
        (), "WordPress WXR exports imported at start-up, relative to the config file."
    )
    pings_closed: bool = setting(False, "Refuse every linkback as if pings were closed.")


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    url: str = setting(
        "sqlite:linkbridge.db",
        "Store URL: sqlite:PATH (relative to the state directory), sqlite:///ABS/PATH,"
        " or postgresql://USER@HOST:PORT/DB for several instances.",
    )
    poll_interval_s: float = setting(2.0, "How often each server polls the store's version, s.")
    busy_timeout_ms: int = setting(5000, "SQLite busy timeout for a locked database, ms.")
    group_commit_max_writes: int = setting(
        256, "Most concurrent writes committed together in one transaction (one fsync)."
    )
    pool_max_connections: int = setting(
        10, "PostgreSQL: most connections one process keeps open to the database."
    )


@dataclass(frozen=True, kw_only=True)
class FetchSettings:
    timeout_s: float = setting(10.0, "Total time for one source fetch, redirects included, s.")
    connect_timeout_s: float = setting(5.0, "Time to connect to a source, s.")
    allowed_ports: tuple[int, ...] = setting((80, 443), "Ports a source URL may use.")
    allow_networks: tuple[str, ...] = setting(
        (), "CIDRs exempt from the public-address rule. Tests only: warns loudly at start."
    )
    max_attempts: int = setting(5, "Verification attempts before a transient failure is final.")
    retry_base_s: float = setting(30.0, "First retry delay; doubles each attempt, s.")
    per_host_concurrency: int = setting(2, "Concurrent fetches to one source host.")
    per_host_rate_per_min: int = setting(30, "Fetches started per source host per minute.")
    global_concurrency: int = setting(48, "Concurrent source fetches in all.")
    min_bytes_per_s: int = setting(
        1024, "A source slower than this after rate_grace_s is abandoned (retried), bytes/s."
    )
    parse_inline_max_bytes: int = setting(
        16384, "Source pages up to this size are checked on the event loop; bigger ones in a"
        " thread (a thread hand-off costs more than checking a small page), bytes."
    )
    rate_grace_s: float = setting(
        3.0, "Time a source has for its response headers before min_bytes_per_s applies, s."
    )
    user_agent_contact: str = setting("", "Extra text for the User-Agent (a contact URL).")


@dataclass(frozen=True, kw_only=True)
class JobsSettings:
    workers: int = setting(
        32, "Jobs this instance runs at once (each mostly waits on a fetch); 0: it runs none."
    )
    max_share: float = setting(
        0.25, "Share of the running jobs one source host or sender (IPv6: its /64) may hold."
    )
    lease_s: float = setting(60.0, "How long a claimed job stays reserved for its worker, s.")
    idle_poll_s: float = setting(0.5, "How often an idle worker looks for due jobs, s.")


@dataclass(frozen=True, kw_only=True)
class PingbackSettings:
    inline_budget_s: float = setting(2.5, 'Time to verify inline before answering "queued", s.')
    max_bytes: int = setting(153600, "Bytes of a source page read to verify a pingback.")
    max_redirects: int = setting(0, "Redirects followed fetching a pingback source.")
    opaque_faults: bool = setting(False, "Answer every fault but 48 as 0, as WordPress >= 3.5.1.")
    max_body_bytes: int = setting(262144, "Largest XML-RPC request body accepted, bytes.")
    max_elements: int = setting(2000, "Largest number of XML elements in a request.")
    rate_per_min: int = setting(30, "Pingbacks accepted per client IP per minute.")


@dataclass(frozen=True, kw_only=True)
class TrackbackSettings:
    verify: bool = setting(True, "Verify that the trackback's url links to the post.")
    max_bytes: int = setting(153600, "Bytes of a source page read to verify a trackback.")
    max_redirects: int = setting(5, "Redirects followed fetching a trackback source.")
    max_body_bytes: int = setting(65536, "Largest trackback request body accepted, bytes.")
    rate_per_min: int = setting(30, "Trackbacks accepted per client IP per minute.")


@dataclass(frozen=True, kw_only=True)
class WebmentionSettings:
    max_bytes: int = setting(1048576, "Bytes of a source page read to verify a webmention.")
    max_redirects: int = setting(10, "Redirects followed fetching a webmention source.")
    repeat_window_s: float = setting(
        30.0, "Re-sends of one source and target within this are verified once, at its end, s."
    )
    max_body_bytes: int = setting(65536, "Largest webmention request body accepted, bytes.")
    rate_per_min: int = setting(60, "Webmentions accepted per client IP per minute.")


@dataclass(frozen=True, kw_only=True)
class ModerationSettings:
    hold_first_time: bool = setting(True, "Hold linkbacks from hosts never approved before.")
    always_hold: bool = setting(False, "Hold every linkback, even from approved hosts.")
    block_hosts: tuple[str, ...] = setting((), "Source hosts refused before any fetch.")
    allow_hosts: tuple[str, ...] = setting((), "Source hosts approved without holding.")
    block_url_patterns: tuple[str, ...] = setting(
        (), "Regular expressions; a source URL matching one is refused."
    )
    per_host_daily_cap: int = setting(50, "Linkbacks accepted per source host per day.")
    max_url_chars: int = setting(
        2048, "Longest source or target URL a linkback may carry (each protocol's error past it)."
    )
    reverify_imported: bool = setting(
        False, "Let an anonymous re-send re-verify linkbacks imported from WordPress."
    )
    failed_retention_days: int = setting(
        30, "Days a failed linkback (never shown) is kept with its decisions, then pruned."
    )


@dataclass(frozen=True, kw_only=True)
class FeedsSettings:
    items: int = setting(20, "Items in each feed, newest first.")
    max_age_s: int = setting(900, "Cache-Control max-age on feeds, s.")
    farewell_title: str = setting(
        "", "Title of the farewell item (empty: \"<site.title> has closed\" in site.language)."
    )
    cache_entries: int = setting(
        512, "Feed representations kept in memory (one per feed, version, phase, format)."
    )
    log_sample_rate: float = setting(
        0.1, "Share of feed requests that get a log line (server errors always do)."
    )
    serve_stale_while_rebuilding: bool = setting(
        True, "While a feed is rebuilt, other readers get its previous version (else wait)."
    )


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    page_size: int = setting(50, "Linkbacks on one page of /api/linkbacks and /api/deleted.")
    max_page: int = setting(10000, "Highest page number /api/ answers; past it: 400.")
    max_age_s: int = setting(60, "Cache-Control max-age on /api/ answers, s.")
    cache_entries: int = setting(256, "/api/ answers kept in memory (per query and version).")


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings:
    timegate: str = setting(
        "", "Memento TimeGate the old URL is appended to (e.g. https://web.archive.org/web/); "
        "empty: no lookups.", url=True,
    )
    max_redirects: int = setting(5, "Redirects followed from the TimeGate to the memento.")
    concurrency: int = setting(2, "Archive lookups at once (`archive check`).")
    rate_per_min: int = setting(60, "Archive lookups per minute.")


@dataclass(frozen=True, kw_only=True)
class SuggestSettings:
    sitemaps: tuple[str, ...] = setting(
        (), "Successor sitemaps `redirects suggest` reads; empty: /sitemap.xml of successors.web."
    )
    max_sitemaps: int = setting(200, "Sitemap files (indexes included) read in one run.")
    sitemap_max_bytes: int = setting(10485760, "Largest sitemap file read (unpacked), bytes.")
    max_pages: int = setting(20000, "Successor pages fetched in one run (the rest: next run).")
    page_max_bytes: int = setting(262144, "Bytes of each successor page read, bytes.")
    concurrency: int = setting(4, "Successor pages fetched at once.")
    rate_per_min: int = setting(300, "Successor pages fetched per host per minute.")
    min_score: float = setting(
        0.7, "Score (0 to 1, as shown: 3 decimals) a page needs to be suggested; less: none."
    )
    min_margin: float = setting(
        0.03, "Lead (as shown) the best page needs over the next; less: none (ambiguous)."
    )


@dataclass(frozen=True, kw_only=True)
class PrivacySettings:
    client_data_retention_days: int = setting(
        90, "Days sender IP addresses (and finished webhook deliveries) are kept, then dropped."
    )
    sweep_interval_s: float = setting(3600.0, "How often data past its retention is dropped, s.")


@dataclass(frozen=True, kw_only=True)
class MetricsSettings:
    listen: str = setting(
        "", 'Address ("HOST:PORT") of a separate listener serving /metrics; empty: none.'
    )
    bearer_token: str = setting(
        "", "Token that opens /metrics on the public port (Authorization: Bearer); empty: closed."
    )


@dataclass(frozen=True, kw_only=True)
class AdminSettings:
    session_max_age_s: int = setting(43200, "Lifetime of a moderator's session, s.")
    login_attempts_per_min: int = setting(
        5, "Login attempts per client (IPv4 address, IPv6 /64) per minute."
    )
    login_attempts_global_per_min: int = setting(
        60, "Login attempts per minute from all clients together."
    )
    password_hash_concurrency: int = setting(
        2, "Password hashes (argon2id, ~64 MiB each) computed at once; more attempts get 503."
    )
    password_min_chars: int = setting(12, "Shortest admin password `admin set-password` takes.")
    page_items: int = setting(100, "Rows on one admin page (queue, linkbacks, hits, deliveries).")
    hits_chart_days: int = setting(
        90, "Days the hits page draws and tables (the latest ones since the instant), days."
    )
    hits_chart_paths: int = setting(
        10, "Top unmapped paths the hits page draws a per-day sparkline for."
    )


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    url: str = setting("", "Where moderation events are POSTed as JSON; empty: none.", url=True)
    secret: str = setting("", "HMAC-SHA256 key for the X-Linkbridge-Signature header.")
    timeout_s: float = setting(10.0, "Time for one webhook delivery, s.")
    max_attempts: int = setting(8, "Delivery attempts before a webhook is given up.")
    connect_timeout_s: float = setting(5.0, "Time to connect to the webhook URL, s.")
    retry_base_s: float = setting(30.0, "First webhook retry delay; doubles each attempt, s.")


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "Address `serve` listens on.")
    port: int = setting(8080, "Port `serve` listens on.")
    trusted_proxies: tuple[str, ...] = setting(
        ("127.0.0.1/32", "::1/128"),
        "Peers (CIDRs) whose X-Forwarded-For is believed for the client IP.",
    )
    max_body_bytes: int = setting(1048576, "Largest request body of any kind, bytes.")
    header_timeout_s: float = setting(
        15.0, "Time a client has for a request's headers after connecting or an answer, s."
    )
    body_timeout_s: float = setting(30.0, "Time a client has to send a request body, s.")
    max_connections: int = setting(
        512, "Open client connections in all (kept below the open-file limit); more get 503."
    )
    max_connections_per_ip: int = setting(
        32, "Open connections from one address (IPv6: its /64); trusted proxies are exempt."
    )
    origin_timeout_s: float = setting(
        30.0, "Time the origin has for its response headers, and for each gap in the body, s."
    )
    origin_preserve_host: bool = setting(
        True, "Send the reader's Host to the origin (multisite WordPress picks its site by it)."
    )
    origin_connect_timeout_s: float = setting(5.0, "Time to connect to the origin, s.")
    origin_max_connections: int = setting(100, "Connections to the origin in all.")
    origin_max_connections_per_ip: int = setting(
        8, "Proxied requests one client address (IPv6: its /64) may have open at once."
    )
    origin_max_body_bytes: int = setting(
        33554432, "Largest request body passed through to the origin, bytes."
    )
    shutdown_timeout_s: float = setting(10.0, "Grace for in-flight requests on SIGTERM, s.")
    reload_grace_s: float = setting(
        1.0, "On SIGHUP, time the old configuration still serves connections it accepted, s."
    )
    log_level: str = setting("info", "Lowest log level written (debug, info, warning, error).")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The whole configuration."""

    site: SiteSettings
    successors: SuccessorSettings
    notice: NoticeSettings = field(
        default_factory=NoticeSettings, metadata={"help": "The closure notice."}
    )
    retire: RetireSettings = field(
        default_factory=RetireSettings, metadata={"help": "Retirement behaviour."}
    )
    posts: PostsSettings = field(default_factory=PostsSettings, metadata={"help": "Post registry."})
    store: StoreSettings = field(default_factory=StoreSettings, metadata={"help": "Storage."})
    fetch: FetchSettings = field(default_factory=FetchSettings, metadata={"help": "Safe fetcher."})
    jobs: JobsSettings = field(default_factory=JobsSettings, metadata={"help": "Job queue."})
    pingback: PingbackSettings = field(
        default_factory=PingbackSettings, metadata={"help": "Pingback receiver."}
    )
    trackback: TrackbackSettings = field(
        default_factory=TrackbackSettings, metadata={"help": "Trackback receiver."}
    )
    webmention: WebmentionSettings = field(
        default_factory=WebmentionSettings, metadata={"help": "Webmention receiver."}
    )
    moderation: ModerationSettings = field(
        default_factory=ModerationSettings, metadata={"help": "Moderation rules."}
    )
    feeds: FeedsSettings = field(default_factory=FeedsSettings, metadata={"help": "Feeds."})
    api: ApiSettings = field(
        default_factory=ApiSettings, metadata={"help": "Read-only JSON API (/api/)."}
    )
    archive: ArchiveSettings = field(
        default_factory=ArchiveSettings, metadata={"help": "Web archive snapshots (Memento)."}
    )
    suggest: SuggestSettings = field(
        default_factory=SuggestSettings, metadata={"help": "Mapping suggestions."}
    )
    privacy: PrivacySettings = field(
        default_factory=PrivacySettings, metadata={"help": "Personal data kept (docs/privacy.md)."}
    )
    metrics: MetricsSettings = field(
        default_factory=MetricsSettings, metadata={"help": "Prometheus metrics (/metrics)."}
    )
    admin: AdminSettings = field(
        default_factory=AdminSettings, metadata={"help": "Moderator's web page."}
    )
    webhook: WebhookSettings = field(
        default_factory=WebhookSettings, metadata={"help": "Moderation notifications."}
    )
    server: ServerSettings = field(
        default_factory=ServerSettings, metadata={"help": "The HTTP server."}
    )
    config_dir: Path = field(default=Path("."), metadata={"internal": True})
    """Directory of the config file that set posts.wxr (else the last one); WXR paths resolve
    against it."""
    config_files: tuple[Path, ...] = field(default=(), compare=False, metadata={"internal": True})
    """The config files read, in order (later ones overlay earlier ones)."""
    state_dir: Path = field(default=Path("."), compare=False, metadata={"internal": True})
    """Where a relative `sqlite:` store URL was resolved (see locations.py)."""
    key_files: tuple[tuple[str, Path], ...] = field(
        default=(), compare=False, metadata={"internal": True}
    )
    """(dotted key, file that last set it), for errors that name the file."""

    @property
    def social_url(self) -> str:
        """The social successor as a URL ("@naringsdep" -> "https://x.com/naringsdep")."""
        return expand_social(self.successors.social)

    def successor_url(self, name: str) -> str:
        """Resolve "web"/"social" to a URL; any other value is returned as given."""
        if name == "web":
            return self.successors.web
        if name == "social":
            return self.social_url
        return name

    def wxr_paths(self) -> list[Path]:
        """The configured WXR files as paths relative to the config directory."""
        return [self.config_dir / p for p in self.posts.wxr]


def expand_social(value: str) -> str:
    """ "@handle" -> the X profile URL; URLs pass through."""
    if value.startswith("@"):
        return f"https://x.com/{value[1:]}"
    return value


@dataclass(frozen=True)
class ConfigInfo:
    """Which configuration an instance runs (shown by /readyz): a digest of the loaded settings
    and when they were loaded."""

    digest: str
    loaded_at: datetime

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> ConfigInfo:
        text = repr(settings).encode("utf-8")
        return cls(hashlib.sha256(text).hexdigest()[:16], now)
