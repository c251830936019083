"""Settings: the example loads, overlays merge key by key, every mistake is one line naming it."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from linkbridge.errors import ConfigError
from linkbridge.settings import Settings
from linkbridge.settings_loader import DEFAULT_CONFIG, iter_settings, load_settings
from linkbridge.urls import Canonicaliser

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "naringsbloggen.toml"
CET = timezone(timedelta(hours=1))
MINIMAL = """\
[site]
public_base_url = "http://www.example.se/"
shutdown_at = 2018-02-01T00:00:00+01:00

[successors]
web = "https://www.regeringen.se/"
social = "@naringsdep"
"""


def _write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_overlay(tmp_path: Path, overlay: str) -> Settings:
    """MINIMAL with `overlay` on top (how most mistakes would reach the loader)."""
    base = _write(tmp_path, MINIMAL, "base.toml")
    return load_settings([base, _write(tmp_path, overlay, "overlay.toml")])


def error_of(tmp_path: Path, overlay: str) -> str:
    """The ConfigError message, checked to be one line."""
    with pytest.raises(ConfigError) as info:
        load_overlay(tmp_path, overlay)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("in "), message  # the file that set the key
    return message.split(": ", 1)[1]


# ---------------------------------------------------------------- the shipped example


def test_example_loads_with_expected_values() -> None:
    s = load_settings([EXAMPLE])
    assert s.site.shutdown_at.tzinfo is not None
    assert s.site.shutdown_at == datetime(2018, 2, 1, tzinfo=CET)
    assert s.site.shutdown_at.utcoffset() == timedelta(hours=1)
    assert s.site.public_base_url == "http://www.naringsbloggen.se/"
    assert s.social_url == "https://x.com/naringsdep"
    assert (
        s.successor_url("web")
        == "https://www.regeringen.se/sveriges-regering/naringsdepartementet/"
    )
    assert len(s.site.blogs) == 5
    assert [b.path for b in s.site.blogs] == [
        "/innovation/",
        "/transport/",
        "/transporter-och-infrastruktur/",
        "/digitalt-forst/",
        "/livsmedelsstrategin/",
    ]
    assert s.notice.sv.startswith("Näringsbloggen kommer att upphöra i januari 2018.")
    assert "tomas.engholm@regeringskansliet.se" in s.notice.contact
    assert s.retire.feeds_after_shutdown == "farewell"
    assert "web.archive.org" in s.retire.allowed_target_hosts
    assert {m.source: m.to for m in s.retire.mappings}["/"] == "web"
    assert s.wxr_paths() == [EXAMPLE.parent / "naringsbloggen-innovation.wxr"]


def test_example_aliases_fold_to_the_site() -> None:
    s = load_settings([EXAMPLE])
    canon = Canonicaliser.for_site(
        s.site.public_base_url, s.site.hosts, s.site.significant_query_params
    )
    assert canon.is_own("https://naringsbloggen.se/innovation/")
    assert canon.is_own("http://www.naringsbloggen.se/")
    assert not canon.is_own("https://www.regeringen.se/")


def test_no_config_means_the_example() -> None:
    assert DEFAULT_CONFIG == EXAMPLE
    assert load_settings([]) == load_settings([EXAMPLE])


def test_settings_are_frozen() -> None:
    s = load_settings([EXAMPLE])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.server.port = 1  # type: ignore[misc]


# ---------------------------------------------------------------- overlays


def test_overlay_overrides_one_key_and_keeps_the_rest(tmp_path: Path) -> None:
    overlay = _write(tmp_path, "[server]\nport = 9000\n", "local.toml")
    base = load_settings([EXAMPLE])
    merged = load_settings([EXAMPLE, overlay])
    assert merged.server.port == 9000
    assert merged == dataclasses.replace(base, server=dataclasses.replace(base.server, port=9000))


def test_later_file_wins(tmp_path: Path) -> None:
    one = _write(tmp_path, "[server]\nport = 9001\n", "one.toml")
    two = _write(tmp_path, "[server]\nport = 9002\n", "two.toml")
    assert load_settings([EXAMPLE, one, two]).server.port == 9002
    assert load_settings([EXAMPLE, two, one]).server.port == 9001


def test_overlay_replaces_arrays_instead_of_merging(tmp_path: Path) -> None:
    s = load_overlay(tmp_path, '[site]\nhosts = ["example.se"]\n')
    assert s.site.hosts == ("example.se",)
    overlay = _write(tmp_path, '[[site.blogs]]\npath = "/only/"\n', "blogs.toml")
    s = load_settings([EXAMPLE, overlay])
    assert [b.path for b in s.site.blogs] == ["/only/"]
    assert s.site.blogs[0].successor == "web"  # the row's own default, not the example's row


def test_example_wxr_stays_beside_the_example_under_an_overlay(tmp_path: Path) -> None:
    overlay = _write(tmp_path, "[server]\nport = 9000\n", "local.toml")
    s = load_settings([EXAMPLE, overlay])
    assert s.wxr_paths() == [EXAMPLE.parent / "naringsbloggen-innovation.wxr"]


def test_overlay_wxr_is_relative_to_the_overlay(tmp_path: Path) -> None:
    overlay = _write(tmp_path, '[posts]\nwxr = ["mine.wxr"]\n', "local.toml")
    assert load_settings([EXAMPLE, overlay]).wxr_paths() == [tmp_path / "mine.wxr"]


# ---------------------------------------------------------------- one line per mistake


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_settings([EXAMPLE, missing])
    assert str(info.value) == f"config file not found: {missing}"


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_overlay(tmp_path, "[server\nport = 1\n")
    message = str(info.value)
    assert message.startswith(f"in {tmp_path / 'overlay.toml'}: not valid TOML: ")
    assert "line 1" in message


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ('colour = "red"\n', "unknown key colour"),
        ("[fetch]\ntimeot_s = 3\n", "unknown key fetch.timeot_s (did you mean fetch.timeout_s?)"),
        (
            "[[site.blogs]]\npath = '/a/'\ntitel = 'A'\n",
            "unknown key site.blogs[0].titel (did you mean site.blogs[0].title?)",
        ),
        ("[[retire.mappings]]\nsource = '/a/'\n", "unknown key retire.mappings[0].source"),
    ],
)
def test_unknown_key(tmp_path: Path, overlay: str, message: str) -> None:
    assert error_of(tmp_path, overlay) == message


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ('[server]\nport = "8080"\n', "server.port: expected an integer, got str"),
        ("[feeds]\nitems = true\n", "feeds.items: expected an integer, got bool"),
        ("[site]\ntitle = 5\n", "site.title: expected a string, got int"),
        (
            '[trackback]\nverify = "yes"\n',
            "trackback.verify: expected true or false, got str",
        ),
        ("[trackback]\nverify = 1\n", "trackback.verify: expected true or false, got int"),
        ("[fetch]\ntimeout_s = true\n", "fetch.timeout_s: expected a number, got bool"),
        ('[fetch]\ntimeout_s = "10"\n', "fetch.timeout_s: expected a number, got str"),
        ("[fetch]\nallowed_ports = 80\n", "fetch.allowed_ports: expected an array"),
        (
            '[fetch]\nallowed_ports = [80, "443"]\n',
            "fetch.allowed_ports[1]: expected an integer, got str",
        ),
        ("fetch = 3\n", "fetch: expected a table"),
        ("[site]\nblogs = [1]\n", "site.blogs[0]: expected a table"),
    ],
)
def test_wrong_type(tmp_path: Path, overlay: str, message: str) -> None:
    assert error_of(tmp_path, overlay) == message


def test_integer_is_accepted_for_a_number(tmp_path: Path) -> None:
    assert load_overlay(tmp_path, "[fetch]\ntimeout_s = 3\n").fetch.timeout_s == 3.0


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        (
            '[site]\npublic_base_url = "ftp://x"\n',
            "site.public_base_url: not an absolute http(s) URL",
        ),
        ('[site]\npublic_base_url = "http://x.se"\n', 'site.public_base_url: must end with "/"'),
        ('[successors]\nweb = "not a url"\n', "successors.web: not an absolute http(s) URL"),
        ('[successors]\nsocial = "naringsdep"\n', "successors.social: not an absolute http(s) URL"),
        ('[site]\norigin_url = "localhost:8000"\n', "site.origin_url: not an absolute http(s) URL"),
        ('[webhook]\nurl = "https://"\n', "webhook.url: not an absolute http(s) URL"),
        (
            "[[site.blogs]]\npath = '/a/'\nsuccessor = 'elsewhere'\n",
            "site.blogs[0].successor: not an absolute http(s) URL",
        ),
        (
            "[[retire.mappings]]\nfrom = '/a/'\nto = 'javascript:alert(1)'\n",
            "retire.mappings[0].to: not an absolute http(s) URL",
        ),
    ],
)
def test_bad_url(tmp_path: Path, overlay: str, message: str) -> None:
    assert error_of(tmp_path, overlay).startswith(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2018-02-01T00:00:00",
            "site.shutdown_at: naive date-time, give a timezone offset",
        ),
        (
            "2018-02-01",
            "site.shutdown_at: expected a date-time like 2018-02-01T00:00:00+01:00",
        ),
        (
            '"2018-02-01T00:00:00+01:00"',
            "site.shutdown_at: expected a date-time like 2018-02-01T00:00:00+01:00",
        ),
    ],
)
def test_shutdown_at_must_be_an_aware_date_time(tmp_path: Path, value: str, message: str) -> None:
    assert error_of(tmp_path, f"[site]\nshutdown_at = {value}\n") == message


def test_shutdown_at_keeps_its_offset(tmp_path: Path) -> None:
    s = load_overlay(tmp_path, "[site]\nshutdown_at = 2018-01-31T23:00:00Z\n")
    assert s.site.shutdown_at == datetime(2018, 2, 1, tzinfo=CET)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.split("[successors]", maxsplit=1)[0], "missing required key successors"),
        (
            MINIMAL.replace('web = "https://www.regeringen.se/"\n', ""),
            "missing required key successors.web",
        ),
        (
            MINIMAL.replace("shutdown_at", "# shutdown_at"),
            "missing required key site.shutdown_at",
        ),
        (
            "[successors]\nweb = 'https://a.se/'\nsocial = '@a'\n",
            "missing required key site",
        ),
        (
            MINIMAL + "[[site.blogs]]\ntitle = 'A'\n",
            "missing required key site.blogs[0].path",
        ),
        (
            MINIMAL + "[[retire.mappings]]\nto = 'web'\n",
            "missing required key retire.mappings[0].from",
        ),
    ],
)
def test_missing_required_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings([_write(tmp_path, text, "only.toml")])
    assert str(info.value) == f"in {tmp_path / 'only.toml'}: {message}"


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        (
            '[fetch]\nallow_networks = ["10.0.0.0/33"]\n',
            "fetch.allow_networks[0]: not a network: '10.0.0.0/33'",
        ),
        (
            '[fetch]\nallow_networks = ["::1/128", "loopback"]\n',
            "fetch.allow_networks[1]: not a network: 'loopback'",
        ),
        (
            '[server]\ntrusted_proxies = ["localhost"]\n',
            "server.trusted_proxies[0]: not a network: 'localhost'",
        ),
    ],
)
def test_bad_cidr(tmp_path: Path, overlay: str, message: str) -> None:
    assert error_of(tmp_path, overlay) == message


def test_cidrs_accept_host_addresses(tmp_path: Path) -> None:
    s = load_overlay(tmp_path, '[fetch]\nallow_networks = ["127.0.0.1", "::1/128"]\n')
    assert s.fetch.allow_networks == ("127.0.0.1", "::1/128")


def test_bad_literal_value(tmp_path: Path) -> None:
    assert error_of(tmp_path, '[retire]\nfeeds_after_shutdown = "vanish"\n') == (
        "retire.feeds_after_shutdown: expected one of 'farewell', 'redirect', 'gone', "
        "got 'vanish'"
    )


@pytest.mark.parametrize("path", ["innovation", "/innovation", "innovation/", "/", ""])
def test_blog_path_needs_slashes(tmp_path: Path, path: str) -> None:
    message = error_of(tmp_path, f"[[site.blogs]]\npath = '{path}'\n")
    assert message == 'site.blogs[0].path: must look like "/name/"'


@pytest.mark.parametrize(
    "second", ["/innovation/", "/Innovation/", "/innovation//", "/innovati%6Fn/"]
)
def test_duplicate_blog_paths(tmp_path: Path, second: str) -> None:
    overlay = f"[[site.blogs]]\npath = '/innovation/'\n[[site.blogs]]\npath = '{second}'\n"
    assert error_of(tmp_path, overlay) == f"site.blogs[1].path: duplicate path '{second}'"


def test_duplicate_mapping_sources(tmp_path: Path) -> None:
    overlay = "[[retire.mappings]]\nfrom = '/a/'\nto = 'web'\n[[retire.mappings]]\nfrom = '/a'\n"
    assert error_of(tmp_path, overlay) == "retire.mappings[1].from: duplicate path '/a'"


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ("[retire.mappings]\n", "retire.mappings: expected an array"),
        (
            "[[retire.mappings]]\nfrom = 'a/'\n",
            'retire.mappings[0].from: must start with "/" (a path) or "^" (a regular expression)',
        ),
        (
            "[retire]\nredirect_status = 200\n",
            "retire.redirect_status: expected 301, 302, 307 or 308",
        ),
        (
            "[retire]\nlog_sample_rate = 1.01\n",
            "retire.log_sample_rate: expected a share between 0 and 1",
        ),
        (
            "[retire]\narchive_url_template = 'https://a.org/'\n",
            "retire.archive_url_template: must contain {url}",
        ),
        (
            "[store]\nurl = 'mysql://db'\n",
            "store.url: expected sqlite:PATH or postgresql://…",
        ),
        ("[fetch]\nallowed_ports = [0]\n", "fetch.allowed_ports[0]: not a port: 0"),
        ("[fetch]\nallowed_ports = [65536]\n", "fetch.allowed_ports[0]: not a port: 65536"),
        ("[server]\nport = 65536\n", "server.port: not a port: 65536"),
        (
            "[server]\nlog_level = 'loud'\n",
            "server.log_level: expected debug, info, warning or error",
        ),
        ("[pingback]\nmax_bytes = 0\n", "pingback.max_bytes: must be positive"),
        (
            "[webmention]\nmax_redirects = -1\n",
            "webmention.max_redirects: must not be negative",
        ),
        ("[fetch]\ntimeout_s = -0.5\n", "fetch.timeout_s: must not be negative"),
        (
            "[store]\ngroup_commit_max_writes = 0\n",
            "store.group_commit_max_writes: must be at least 1",
        ),
        (
            "[retire]\nlog_sample_rate = -0.01\n",
            "retire.log_sample_rate: must not be negative",
        ),
        ("[server]\nreload_grace_s = -0.001\n", "server.reload_grace_s: must not be negative"),
        ("[archive]\nmax_redirects = -1\n", "archive.max_redirects: must not be negative"),
        ("[suggest]\nmin_score = 1.001\n", "suggest.min_score: expected a score between 0 and 1"),
        ("[suggest]\nmin_margin = 1.001\n",
         "suggest.min_margin: expected a score between 0 and 1"),
        ("[suggest]\nmin_score = -0.001\n", "suggest.min_score: must not be negative"),
        ("[jobs]\nmax_share = 0.0\n", "jobs.max_share: expected a share above 0, at most 1"),
        ("[jobs]\nmax_share = 1.001\n", "jobs.max_share: expected a share above 0, at most 1"),
        ("[api]\nmax_page = 0\n", "api.max_page: must be at least 1"),
        ("[api]\ncache_entries = 0\n", "api.cache_entries: must be at least 1"),
        ("[suggest]\nmax_sitemaps = 0\n", "suggest.max_sitemaps: must be at least 1"),
        ("[suggest]\nsitemap_max_bytes = 0\n", "suggest.sitemap_max_bytes: must be at least 1"),
        ("[suggest]\npage_max_bytes = 0\n", "suggest.page_max_bytes: must be at least 1"),
    ],
)
def test_bad_value(tmp_path: Path, overlay: str, message: str) -> None:
    assert error_of(tmp_path, overlay) == message


@pytest.mark.parametrize(
    "overlay",
    [
        "[retire]\nlog_sample_rate = 0.0\n",
        "[retire]\nlog_sample_rate = 1.0\n",
        "[store]\ngroup_commit_max_writes = 1\n",
        "[fetch]\nallowed_ports = [1, 65535]\n",
        "[server]\nport = 0\n",
        "[server]\nport = 65535\n",
        "[pingback]\nmax_bytes = 1\nmax_redirects = 0\n",
        "[retire]\nredirect_status = 308\n",
        "[store]\nurl = 'postgresql://localhost/lb'\n",
        "[server]\nreload_grace_s = 0.0\n",
        "[archive]\nmax_redirects = 0\n",
        "[suggest]\nmin_score = 0.0\nmin_margin = 0.0\n",
        "[suggest]\nmin_score = 1.0\nmin_margin = 1.0\n",
        "[jobs]\nmax_share = 1.0\n",
        "[jobs]\nmax_share = 0.001\n",
        "[api]\nmax_page = 1\ncache_entries = 1\n",
        "[suggest]\nmax_sitemaps = 1\nsitemap_max_bytes = 1\npage_max_bytes = 1\n",
    ],
)
def test_values_at_the_edge_are_accepted(tmp_path: Path, overlay: str) -> None:
    load_overlay(tmp_path, overlay)


# ---------------------------------------------------------------- fuzz: only ConfigError escapes

_LEAF_KEYS = [key for key, _, _ in iter_settings() if key.count(".") == 1]
_SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30).filter(lambda text: "\x7f" not in text)  # DEL is not valid TOML
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(key=st.sampled_from(_LEAF_KEYS), value=_SCALARS | st.lists(_SCALARS, max_size=3))
def test_any_value_for_any_key_loads_or_names_the_key(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: Any
) -> None:
    table, name = key.split(".")
    overlay = f"[{table}]\n{name} = {json.dumps(value, ensure_ascii=False)}\n"
    try:
        load_overlay(tmp_path_factory.mktemp("fuzz"), overlay)
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message
    assert key in message


def test_errors_name_the_file_that_set_the_key(tmp_path: Path) -> None:
    base = _write(tmp_path, MINIMAL, "base.toml")
    local = _write(tmp_path, "[server]\nport = 70000\n", "local.toml")
    other = _write(tmp_path, "[feeds]\nitems = 5\n", "other.toml")
    with pytest.raises(ConfigError) as info:
        load_settings([base, local, other])
    assert str(info.value) == f"in {local}: server.port: not a port: 70000"
    with pytest.raises(ConfigError) as info:
        load_settings([_write(tmp_path, MINIMAL + "[webhook]\nur = 'x'\n", "b.toml"), other])
    assert str(info.value) == (
        f"in {tmp_path / 'b.toml'}: unknown key webhook.ur (did you mean webhook.url?)"
    )


def test_passwords_in_urls_are_masked_in_errors(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[webhook]\nurl = 'ftp://hook:s3cret@example.org/'\n")
    assert "s3cret" not in message
    assert message == "webhook.url: not an absolute http(s) URL: 'ftp://hook:***@example.org/'"
