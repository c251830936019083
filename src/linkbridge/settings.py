"""TOML configuration loaded into nested frozen dataclasses, one per concern.

Every limit is a named setting with a unit in its name and a one-line help text; the help
text is what `docs/settings.md` lists (a test checks they agree). Several files may be given:
later ones override earlier ones key by key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from linkbridge.errors import ConfigError, UndecodableURL
from linkbridge.urls import canonical_path

_T = typing.TypeVar("_T")

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "naringsbloggen.toml"
"""The shipped example, used when no --config is given (source checkout layout)."""


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


@dataclass(frozen=True, kw_only=True)
class NoticeSettings:
    sv: str = setting("", "The closure notice in Swedish (plain text).")
    en: str = setting("", "The closure notice in English (plain text).")
    contact: str = setting("", "Who to contact about the closure (plain text).")


@dataclass(frozen=True, kw_only=True)
class SuccessorSettings:
    web: str = required("The successor web page (URL) readers are sent to.", url=True)
    social: str = required('The successor social account: "@handle" (expanded to x.com) or a URL.')


@dataclass(frozen=True, kw_only=True)
class MappingSettings:
    """One redirect-table row from config."""

    source: str = required('Old path, exact ("/a/b/") or prefix ("/a/*").')
    to: str = setting("", 'A URL, "web", "social", "gone", or empty for unresolved.')


@dataclass(frozen=True, kw_only=True)
class RetireSettings:
    redirect_status: int = setting(301, "Status of retirement redirects: 301 or 308.")
    cache_max_age_s: int = setting(3600, "Cache-Control max-age on redirects and 410 pages, s.")
    allowed_target_hosts: tuple[str, ...] = setting(
        ("regeringen.se", "x.com", "twitter.com"),
        "Hosts a redirect may point to; an entry matches itself and its subdomains.",
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
    hit_keys_max: int = setting(10000, "Distinct hit keys kept in memory between flushes.")
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
        "sqlite:var/linkbridge.db",
        "Store URL: sqlite:PATH (relative to the working directory) or sqlite:///ABS/PATH.",
    )
    poll_interval_s: float = setting(2.0, "How often each server polls the store's version, s.")
    busy_timeout_ms: int = setting(5000, "SQLite busy timeout for a locked database, ms.")


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
    global_concurrency: int = setting(20, "Concurrent source fetches in all.")
    user_agent_contact: str = setting("", "Extra text for the User-Agent (a contact URL).")


@dataclass(frozen=True, kw_only=True)
class JobsSettings:
    workers: int = setting(
        4, "Jobs this instance runs at once; 0: it runs none (another instance does)."
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
    repeat_window_s: float = setting(30.0, "Same source and target again within this: 429, s.")
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


@dataclass(frozen=True, kw_only=True)
class FeedsSettings:
    items: int = setting(20, "Items in each feed, newest first.")
    max_age_s: int = setting(900, "Cache-Control max-age on feeds, s.")
    farewell_title: str = setting(
        "Näringsbloggen har stängt / Näringsbloggen has closed", "Title of the farewell item."
    )
    cache_entries: int = setting(
        512, "Feed representations kept in memory (one per feed, version, phase, format)."
    )


@dataclass(frozen=True, kw_only=True)
class AdminSettings:
    session_max_age_s: int = setting(43200, "Lifetime of a moderator's session, s.")
    login_attempts_per_min: int = setting(5, "Login attempts per client IP per minute.")
    password_min_chars: int = setting(12, "Shortest admin password `admin set-password` takes.")
    page_items: int = setting(100, "Rows on one admin page (queue, linkbacks, hits, deliveries).")


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
    origin_timeout_s: float = setting(30.0, "Time for the origin to answer a proxied request, s.")
    origin_connect_timeout_s: float = setting(5.0, "Time to connect to the origin, s.")
    origin_max_body_bytes: int = setting(
        33554432, "Largest request body passed through to the origin, bytes."
    )
    shutdown_timeout_s: float = setting(10.0, "Grace for in-flight requests on SIGTERM, s.")
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


# ---------------------------------------------------------------- loading


def load_settings(paths: typing.Sequence[str | Path]) -> Settings:
    """Load and merge TOML files (later override earlier, key by key) into Settings."""
    if not paths:
        paths = [DEFAULT_CONFIG]
    merged: dict[str, Any] = {}
    config_dir = wxr_dir = None
    for raw in paths:
        path = Path(raw)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config: {path}: cannot read: {exc.strerror}") from None
        merged = _merge(merged, data)
        config_dir = path.resolve().parent
        posts = data.get("posts")
        if isinstance(posts, dict) and "wxr" in posts:
            wxr_dir = config_dir  # WXR paths are relative to the file that names them
    settings = _build(Settings, merged, "")
    settings = dataclasses.replace(settings, config_dir=wxr_dir or config_dir or Path("."))
    _check(settings)
    return settings


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (arrays included) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _key_name(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _build(cls: type[_T], data: Any, prefix: str) -> _T:
    """Turn a TOML table into dataclass `cls`, refusing unknown keys and wrong types."""
    where = prefix or "top level"
    if not isinstance(data, dict):
        raise ConfigError(f"config: {where}: expected a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    toml_names = {
        ("from" if name == "source" and cls is MappingSettings else name): name
        for name in fields
        if not fields[name].metadata.get("internal")
    }
    unknown = sorted(set(data) - set(toml_names))
    if unknown:
        raise ConfigError(f"config: unknown key {_key_name(prefix, unknown[0])}")
    kwargs: dict[str, Any] = {}
    for toml_name, name in toml_names.items():
        key = _key_name(prefix, toml_name)
        if toml_name not in data:
            if fields[name].metadata.get("required") or _has_no_default(fields[name]):
                raise ConfigError(f"config: missing required key {key}")
            continue
        value = _convert(hints[name], data[toml_name], key)
        if fields[name].metadata.get("url") and value:
            _check_url(value, key)
        kwargs[name] = value
    return cls(**kwargs)


def _has_no_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"config: {key}: expected an array")
        return tuple(_convert(args[0], item, f"{key}[{i}]") for i, item in enumerate(value))
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"config: {key}: expected one of {allowed}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _convert(next(a for a in args if a is not type(None)), value, key)
    if hint is datetime:
        if not isinstance(value, datetime):
            raise ConfigError(f"config: {key}: expected a date-time like 2018-02-01T00:00:00+01:00")
        if value.tzinfo is None:
            raise ConfigError(f"config: {key}: naive date-time, give a timezone offset")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config: {key}: expected a number, got {type(value).__name__}")
        return float(value)
    if hint in (int, str, bool):
        if (isinstance(value, bool) and hint is not bool) or not isinstance(value, hint):
            raise ConfigError(
                f"config: {key}: expected {_type_word(hint)}, got {type(value).__name__}"
            )
        return value
    raise ConfigError(f"config: {key}: unsupported setting type {hint!r}")  # pragma: no cover


def _type_word(hint: Any) -> str:
    return {int: "an integer", str: "a string", bool: "true or false"}.get(hint, str(hint))


def _check_url(value: str, key: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"config: {key}: not an absolute http(s) URL: {value!r}")


def _check(settings: Settings) -> None:
    """Cross-field checks that a single field cannot do alone."""
    if not settings.site.public_base_url.endswith("/"):
        raise ConfigError('config: site.public_base_url: must end with "/"')
    _check_not_negative(settings)
    blog_paths: set[str] = set()
    for i, blog in enumerate(settings.site.blogs):
        if not (blog.path.startswith("/") and blog.path.endswith("/")) or blog.path == "/":
            raise ConfigError(f'config: site.blogs[{i}].path: must look like "/name/"')
        _check_unique(blog_paths, blog.path, f"site.blogs[{i}].path")
        _check_successor(settings, blog.successor, f"site.blogs[{i}].successor")
    social = settings.successors.social
    if not social.startswith("@"):
        _check_url(social, "successors.social")
    if settings.retire.redirect_status not in (301, 302, 307, 308):
        raise ConfigError("config: retire.redirect_status: expected 301, 302, 307 or 308")
    if not 0.0 <= settings.retire.log_sample_rate <= 1.0:
        raise ConfigError("config: retire.log_sample_rate: expected a share between 0 and 1")
    for i, cidr in enumerate(settings.fetch.allow_networks):
        _check_network(cidr, f"fetch.allow_networks[{i}]")
    for i, cidr in enumerate(settings.server.trusted_proxies):
        _check_network(cidr, f"server.trusted_proxies[{i}]")
    for i, port in enumerate(settings.fetch.allowed_ports):
        if not 0 < port < 65536:
            raise ConfigError(f"config: fetch.allowed_ports[{i}]: not a port: {port}")
    if settings.retire.archive_url_template and "{url}" not in settings.retire.archive_url_template:
        raise ConfigError("config: retire.archive_url_template: must contain {url}")
    if not settings.store.url.startswith("sqlite:") and not settings.store.url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise ConfigError("config: store.url: expected sqlite:PATH or postgresql://…")
    for name, section in (
        ("pingback", settings.pingback),
        ("trackback", settings.trackback),
        ("webmention", settings.webmention),
    ):
        if section.max_bytes <= 0:
            raise ConfigError(f"config: {name}.max_bytes: must be positive")
    if not 0 <= settings.server.port < 65536:
        raise ConfigError(f"config: server.port: not a port: {settings.server.port}")
    if settings.server.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError("config: server.log_level: expected debug, info, warning or error")
    sources: set[str] = set()
    for i, mapping in enumerate(settings.retire.mappings):
        if not mapping.source.startswith("/"):
            raise ConfigError(f'config: retire.mappings[{i}].from: must start with "/"')
        _check_unique(sources, mapping.source, f"retire.mappings[{i}].from")
        if mapping.to not in ("", "gone", "web", "social"):
            _check_url(mapping.to, f"retire.mappings[{i}].to")


def _check_not_negative(settings: Settings) -> None:
    """No count, size, time or rate may be negative."""
    for section_field in dataclasses.fields(settings):
        section = getattr(settings, section_field.name)
        if not dataclasses.is_dataclass(section):
            continue
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"config: {section_field.name}.{f.name}: must not be negative")


def _check_unique(seen: set[str], path: str, key: str) -> None:
    """Two rows for the same path (as the canonicaliser sees it) are a mistake."""
    try:
        folded = canonical_path(path)
    except UndecodableURL:
        raise ConfigError(f"config: {key}: undecodable path {path!r}") from None
    if folded in seen:
        raise ConfigError(f"config: {key}: duplicate path {path!r}")
    seen.add(folded)


def _check_successor(settings: Settings, value: str, key: str) -> None:
    if value not in ("web", "social", "gone"):
        _check_url(value, key)


def _check_network(cidr: str, key: str) -> None:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ConfigError(f"config: {key}: not a network: {cidr!r}") from None


def iter_settings(
    cls: type[Any] = Settings, prefix: str = ""
) -> typing.Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """Every leaf setting as (dotted key, field, type hint), for docs and their test."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        name = "from" if cls is MappingSettings and f.name == "source" else f.name
        key = _key_name(prefix, name)
        hint = hints[f.name]
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        if dataclasses.is_dataclass(inner):
            yield from iter_settings(inner, key)  # type: ignore[arg-type]
        else:
            yield key, f, hint
