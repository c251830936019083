"""Loads TOML files into Settings: overlays key by key, one-line errors naming the key."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
import tomllib
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkbridge.errors import ConfigError, UndecodableURL
from linkbridge.locations import default_state_dir, example_config
from linkbridge.redact import redact_url
from linkbridge.settings import MappingSettings, Settings
from linkbridge.urls import browser_host, canonical_path

_T = typing.TypeVar("_T")

DEFAULT_CONFIG = example_config()
"""The shipped example, used when no config file is given."""


def load_settings(
    paths: typing.Sequence[str | Path], *, state_dir: Path | None = None
) -> Settings:
    """Load and merge TOML files (later override earlier, key by key) into Settings.

    A relative `sqlite:` store URL resolves against `state_dir` (default: see locations.py).
    Errors name the file that set the key ("in local.toml: site.hosts: ...").
    """
    files = [Path(p) for p in paths] or [DEFAULT_CONFIG]
    merged: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    config_dir = wxr_dir = None
    for path in files:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"in {path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"in {path}: cannot read: {exc.strerror}") from None
        merged = _merge(merged, data, origins, path, "")
        config_dir = path.resolve().parent
        posts = data.get("posts")
        if isinstance(posts, dict) and "wxr" in posts:
            wxr_dir = config_dir  # WXR paths are relative to the file that names them
    state = state_dir if state_dir is not None else default_state_dir(files, os.environ)[0]
    provenance = tuple(sorted(origins.items()))
    try:
        settings = _build(Settings, merged, "")
        settings = dataclasses.replace(
            settings,
            config_dir=wxr_dir or config_dir or Path("."),
            config_files=tuple(files),
            state_dir=state,
            key_files=provenance,
        )
        settings = dataclasses.replace(
            settings, store=dataclasses.replace(
                settings.store, url=resolve_store_url(settings.store.url, state)
            )
        )
        _check(settings)
    except ConfigError as exc:
        raise ConfigError(locate_error(exc.message, provenance, files)) from None
    return settings


def resolve_store_url(url: str, state_dir: Path) -> str:
    """`sqlite:rel/path` against the state directory; other URLs unchanged."""
    if not url.startswith("sqlite:"):
        return url
    rest = url.removeprefix("sqlite:")
    if rest.startswith("/") or not rest:
        return url
    return f"sqlite://{(state_dir / rest).absolute()}"


_ERROR_KEY = re.compile(
    r"^(?:config|table): (?:unknown key |missing required key )?([A-Za-z_][\w.\[\]]*)"
)


def locate_error(
    message: str,
    provenance: typing.Iterable[tuple[str, Path]],
    files: typing.Sequence[Path],
) -> str:
    """ "config: site.hosts: ..." -> "in local.toml: site.hosts: ..." (the file that set it)."""
    match = _ERROR_KEY.match(message)
    rest = message.split(": ", 1)[1] if match else message
    if match is None:
        return message
    origins = dict(provenance)
    key = re.sub(r"\[\d+\]", "", match.group(1))
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:end]))
        if found is not None:
            return f"in {found}: {rest}"
    return f"in {', '.join(str(f) for f in files)}: {rest}"


def _merge(
    base: dict[str, Any], over: dict[str, Any], origins: dict[str, Path], path: Path, prefix: str
) -> dict[str, Any]:
    """Tables merge key by key; any other value (arrays included) replaces.

    `origins` records, per dotted key, the file that last set it (for error messages).
    """
    out = dict(base)
    for key, value in over.items():
        dotted = _key_name(prefix, key)
        origins[dotted] = path
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, origins, path, dotted)
        elif isinstance(value, dict):
            out[key] = _merge({}, value, origins, path, dotted)
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
        close = difflib.get_close_matches(unknown[0], list(toml_names), n=1, cutoff=0.6)
        hint = f" (did you mean {_key_name(prefix, close[0])}?)" if close else ""
        raise ConfigError(f"config: unknown key {_key_name(prefix, unknown[0])}{hint}")
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


def metrics_address(listen: str) -> tuple[str, int]:
    """(host, port) of `metrics.listen` ("127.0.0.1:9464", "[::1]:9464")."""
    host, sep, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f'config: metrics.listen: expected "HOST:PORT", not {listen!r}')
    return host, int(port)


def _check_url(value: str, key: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"config: {key}: not an absolute http(s) URL: {redact_url(value)!r}")


def _check_operations(settings: Settings) -> None:
    """The API, metrics, privacy and suggestion settings."""
    if settings.server.reload_grace_s < 0:
        raise ConfigError("config: server.reload_grace_s: must not be negative")
    for key in ("max_sitemaps", "sitemap_max_bytes", "max_pages", "page_max_bytes",
                "concurrency", "rate_per_min"):
        if getattr(settings.suggest, key) < 1:
            raise ConfigError(f"config: suggest.{key}: must be at least 1")
    for key in ("min_score", "min_margin"):
        if not 0.0 <= getattr(settings.suggest, key) <= 1.0:
            raise ConfigError(f"config: suggest.{key}: expected a score between 0 and 1")
    for i, url in enumerate(settings.suggest.sitemaps):
        _check_url(url, f"suggest.sitemaps[{i}]")
    if settings.moderation.failed_retention_days < 1:
        raise ConfigError("config: moderation.failed_retention_days: must be at least 1")
    if settings.privacy.client_data_retention_days < 1:
        raise ConfigError("config: privacy.client_data_retention_days: must be at least 1")
    if settings.privacy.sweep_interval_s <= 0:
        raise ConfigError("config: privacy.sweep_interval_s: must be above 0")
    if settings.metrics.listen:
        metrics_address(settings.metrics.listen)
    for key in ("page_size", "max_page", "cache_entries"):
        if getattr(settings.api, key) < 1:
            raise ConfigError(f"config: api.{key}: must be at least 1")


def _check(settings: Settings) -> None:
    """Cross-field checks that a single field cannot do alone."""
    if not settings.site.public_base_url.endswith("/"):
        raise ConfigError('config: site.public_base_url: must end with "/"')
    try:
        ZoneInfo(settings.site.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(
            f"config: site.timezone: not a time zone name: {settings.site.timezone!r}"
        ) from None
    _check_not_negative(settings)
    if settings.store.group_commit_max_writes < 1:
        raise ConfigError("config: store.group_commit_max_writes: must be at least 1")
    if settings.retire.hit_path_max_chars < 1:
        raise ConfigError("config: retire.hit_path_max_chars: must be at least 1")
    _check_operations(settings)
    blog_paths: set[str] = set()
    for i, blog in enumerate(settings.site.blogs):
        if not (blog.path.startswith("/") and blog.path.endswith("/")) or blog.path == "/":
            raise ConfigError(f'config: site.blogs[{i}].path: must look like "/name/"')
        _check_unique(blog_paths, blog.path, f"site.blogs[{i}].path")
        _check_successor(settings, blog.successor, f"site.blogs[{i}].successor")
    _check_successor_urls(settings)
    if settings.retire.redirect_status not in (301, 302, 307, 308):
        raise ConfigError("config: retire.redirect_status: expected 301, 302, 307 or 308")
    if not 0.0 <= settings.retire.log_sample_rate <= 1.0:
        raise ConfigError("config: retire.log_sample_rate: expected a share between 0 and 1")
    if not 0.0 <= settings.feeds.log_sample_rate <= 1.0:
        raise ConfigError("config: feeds.log_sample_rate: expected a share between 0 and 1")
    if not 0.0 < settings.jobs.max_share <= 1.0:
        raise ConfigError("config: jobs.max_share: expected a share above 0, at most 1")
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
        if not mapping.source.startswith(("/", "^")):
            raise ConfigError(
                f'config: retire.mappings[{i}].from: must start with "/" (a path) or "^" '
                "(a regular expression)"
            )
        _check_unique(sources, mapping.source, f"retire.mappings[{i}].from")
        if mapping.to not in ("", "gone", "web", "social"):
            _check_target(mapping.to, f"retire.mappings[{i}].to")


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
        _check_target(value, key)


def _check_successor_urls(settings: Settings) -> None:
    social = settings.successors.social
    if not social.startswith("@"):
        _check_target(social, "successors.social")
    _check_target(settings.successors.web, "successors.web")
    if settings.retire.successor_feed_url:
        _check_target(settings.retire.successor_feed_url, "retire.successor_feed_url")


def _check_target(value: str, key: str) -> None:
    """A redirect target: read by a browser exactly as written (the one check, urls.py)."""
    try:
        browser_host(value)
    except ValueError as exc:
        raise ConfigError(f"config: {key}: {exc}") from None


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
