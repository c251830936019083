"""The redirect table: every lookup rule, layering, and target checks at load."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from linkbridge.errors import ConfigError, LinkbridgeError
from linkbridge.model import Mapping, RuleKind
from linkbridge.retire.table import BadRuleError, RedirectTable, RetireOutcome, TargetPolicy
from linkbridge.settings import Settings
from linkbridge.settings_loader import DEFAULT_CONFIG, load_settings
from linkbridge.urls import Canonicaliser
from tests.support import SEED_POST

WEB = "https://www.regeringen.se/naringsdepartementet/"
SOCIAL = "https://x.com/naringsdep"
TRANSPORT = "https://www.regeringen.se/transport/"
SEED = SEED_POST


@pytest.fixture
def table(settings: Settings, canonicaliser: Canonicaliser) -> RedirectTable:
    return RedirectTable.build(settings, canonicaliser)


# url asked for, kind, status, location, rule, matched
LOOKUPS = [
    # exact, in several spellings that canonicalise alike
    (
        SEED,
        "redirect",
        301,
        "https://www.regeringen.se/innovation/",
        RuleKind.EXACT,
        "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
    ),
    (
        "https://naringsbloggen.se/Innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch"
        "?utm_source=x#kommentarer",
        "redirect",
        301,
        "https://www.regeringen.se/innovation/",
        RuleKind.EXACT,
        "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
    ),
    # ?p=ID under its sub-blog is its own key
    (
        "/innovation/?p=12",
        "redirect",
        301,
        "https://www.regeringen.se/p12/",
        RuleKind.EXACT,
        "/innovation?p=12",
    ),
    ("/innovation/?p=13", "redirect", 301, WEB, RuleKind.PREFIX, "/innovation/*"),
    # about page -> social (exact); author pages -> social (longer prefix beats /innovation/*)
    ("/innovation/om/", "redirect", 301, SOCIAL, RuleKind.EXACT, "/innovation/om"),
    (
        "/innovation/author/annie-loof/",
        "redirect",
        301,
        SOCIAL,
        RuleKind.PREFIX,
        "/innovation/author/*",
    ),
    ("/innovation/author/", "redirect", 301, SOCIAL, RuleKind.PREFIX, "/innovation/author/*"),
    (
        "/innovation/author/a/b/c/d/e/f/g/",
        "redirect",
        301,
        SOCIAL,
        RuleKind.PREFIX,
        "/innovation/author/*",
    ),
    ("/innovation/authors/", "redirect", 301, WEB, RuleKind.PREFIX, "/innovation/*"),
    # sub-blog prefix rules, from site.blogs
    ("/innovation/", "redirect", 301, WEB, RuleKind.PREFIX, "/innovation/*"),
    ("/innovation/2013/10/", "redirect", 301, WEB, RuleKind.PREFIX, "/innovation/*"),
    ("/transport/vagar/nagot-inlagg/", "redirect", 301, TRANSPORT, RuleKind.PREFIX, "/transport/*"),
    ("/transport", "redirect", 301, TRANSPORT, RuleKind.PREFIX, "/transport/*"),
    ("/gammal/x/", "gone", 410, None, RuleKind.PREFIX, "/gammal/*"),
    # a path that only starts with a blog's name is not under it
    ("/transportbloggen/x/", "redirect", 301, WEB, RuleKind.DEFAULT, ""),
    # home -> web
    ("/", "redirect", 301, WEB, RuleKind.EXACT, "/"),
    ("http://naringsbloggen.se", "redirect", 301, WEB, RuleKind.EXACT, "/"),
    ("/?s=innovation", "redirect", 301, WEB, RuleKind.DEFAULT, ""),
    # gone and unresolved
    ("/innovation/borta/", "gone", 410, None, RuleKind.EXACT, "/innovation/borta"),
    ("/innovation/trasig/", "gone", 410, None, RuleKind.UNRESOLVED, "/innovation/trasig"),
    ("/innovation/arkiv/2012/", "gone", 410, None, RuleKind.UNRESOLVED, "/innovation/arkiv/*"),
    # the site default
    ("/okand/sida/", "redirect", 301, WEB, RuleKind.DEFAULT, ""),
    ("/wp-content/uploads/bild.jpg", "redirect", 301, WEB, RuleKind.DEFAULT, ""),
]


@pytest.mark.parametrize(("url", "kind", "status", "location", "rule", "matched"), LOOKUPS)
def test_lookup_rules(
    table: RedirectTable,
    canonicaliser: Canonicaliser,
    url: str,
    kind: str,
    status: int,
    location: str | None,
    rule: RuleKind,
    matched: str,
) -> None:
    outcome = table.lookup(canonicaliser.path_key(url))
    assert outcome == RetireOutcome(kind, status, location, rule, matched)
    assert outcome.unmapped == (rule is not RuleKind.EXACT)


def test_redirect_status_308(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings("[retire]\nredirect_status = 308\n")
    table = RedirectTable.build(settings, _canon(settings))
    assert table.lookup("/innovation/om").status == 308
    assert table.lookup("/nowhere").status == 308
    assert table.lookup("/gammal/x").status == 410


def test_catch_all_prefix_replaces_default(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings('[[retire.mappings]]\nfrom = "/*"\nto = "gone"\n', mappings=False)
    table = RedirectTable.build(settings, _canon(settings))
    assert table.lookup("/nowhere/at/all").rule is RuleKind.PREFIX
    assert table.lookup("/nowhere/at/all").status == 410
    assert table.lookup("/innovation/x").location == WEB  # the longer prefix still wins


def test_store_wins_over_config(settings: Settings, canonicaliser: Canonicaliser) -> None:
    store = [
        Mapping("/innovation/om", "https://www.regeringen.se/om/", origin="store"),
        Mapping(
            "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
            "",
            origin="store",
        ),
        Mapping("/transport/*", "social", origin="store"),
        Mapping("/", "gone", origin="store"),
    ]
    table = RedirectTable.build(settings, canonicaliser, store)
    assert table.lookup("/innovation/om").location == "https://www.regeringen.se/om/"
    seed = table.lookup(canonicaliser.path_key(SEED))
    assert (seed.status, seed.rule) == (410, RuleKind.UNRESOLVED)
    assert table.lookup("/transport/x").location == SOCIAL
    assert table.lookup("/").status == 410


def test_config_mapping_overrides_blog_successor(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        '[[retire.mappings]]\nfrom = "/transport/*"\nto = "web"\n', mappings=False
    )
    table = RedirectTable.build(settings, _canon(settings))
    assert table.lookup("/transport/x").location == WEB


def test_blog_successors_argument_replaces_settings(
    settings: Settings, canonicaliser: Canonicaliser
) -> None:
    table = RedirectTable.build(
        settings, canonicaliser, blog_successors={"/transport/": "social", "/nytt/": "gone"}
    )
    assert table.lookup("/transport/x").location == SOCIAL
    assert table.lookup("/nytt/x").status == 410


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "https://notregeringen.se/",  # a suffix, not a subdomain
        "https://regeringen.se.evil.example/",
        "javascript:alert(1)",
        "https://user@www.regeringen.se/",
        "//www.regeringen.se/",
        "https://www.regeringen.se/a b",
        "https://www.regeringen.se/\r\nSet-Cookie: x=1",
    ],
)
def test_disallowed_target_refused_at_load(
    make_settings: Callable[..., Settings], canonicaliser: Canonicaliser, target: str
) -> None:
    policy = TargetPolicy.from_settings(make_settings())
    with pytest.raises(BadRuleError):
        policy.check_target(target)
    store = [Mapping("/innovation/x", target, origin="store"), Mapping("/ok", "gone")]
    table = RedirectTable.build(make_settings(), canonicaliser, store)
    (skipped,) = table.skipped  # left out and reported, never fatal
    assert (skipped.source, skipped.target) == ("/innovation/x", target)
    assert skipped.reason
    assert table.lookup("/innovation/x").rule is RuleKind.PREFIX
    assert table.lookup("/ok").kind == "gone"


def test_disallowed_config_row_names_the_row(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        '[[retire.mappings]]\nfrom = "/a/"\nto = "https://evil.example/"\n', mappings=False
    )
    with pytest.raises(ConfigError, match=r"^table: retire\.mappings\[0\]: .*evil\.example"):
        RedirectTable.build(settings, _canon(settings))


def test_disallowed_successor_refused(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings('[successors]\nweb = "https://evil.example/"\n')
    with pytest.raises(ConfigError, match=r"^table: successors\.web: "):
        RedirectTable.build(settings, _canon(settings))
    settings = make_settings('[retire]\nallowed_target_hosts = ["regeringen.se"]\n')
    with pytest.raises(ConfigError, match=r"^table: successors\.social: .*x\.com"):
        RedirectTable.build(settings, _canon(settings))


def test_disallowed_blog_successor_names_the_blog(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        '[[site.blogs]]\npath = "/innovation/"\n[[site.blogs]]\npath = "/transport/"\n'
        'successor = "https://evil.example/"\n'
    )
    with pytest.raises(ConfigError, match=r"^table: site\.blogs\[1\]\.successor: "):
        RedirectTable.build(settings, _canon(settings))


@pytest.mark.parametrize(
    "target",
    [
        "https://regeringen.se/x",
        "https://www.regeringen.se/x",
        "http://a.b.regeringen.se/",
        "https://x.com/naringsdep",
        "https://www.regeringen.se./x",
        "https://web.archive.org/web/2017/http://www.naringsbloggen.se/",
    ],  # the archive's host
)
def test_allowed_targets_and_subdomains(
    settings: Settings, canonicaliser: Canonicaliser, target: str
) -> None:
    table = RedirectTable.build(settings, canonicaliser, [Mapping("/a", target)])
    assert table.lookup("/a").location == target


def test_a_target_a_browser_would_rewrite_is_refused_naming_what_to_write(
    settings: Settings, canonicaliser: Canonicaliser
) -> None:
    table = RedirectTable.build(
        settings, canonicaliser, [Mapping("/a", "https://X.COM/naringsdep")]
    )
    assert "https://x.com/naringsdep" in table.skipped[0].reason  # a stored row: skipped


def test_archive_host_only_allowed_with_template(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings('[retire]\narchive_url_template = ""\n')
    table = RedirectTable.build(
        settings, _canon(settings), [Mapping("/a", "https://web.archive.org/web/x")]
    )
    assert "web.archive.org" in table.skipped[0].reason


def test_loopback_stand_in_allowed_when_configured(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        '[successors]\nweb = "http://127.0.0.1:8123/ny/"\n'
        '[retire]\nallowed_target_hosts = ["127.0.0.1", "x.com", "regeringen.se"]\n'
    )
    table = RedirectTable.build(settings, _canon(settings))
    assert table.lookup("/okand").location == "http://127.0.0.1:8123/ny/"


@pytest.mark.parametrize(
    "source", ["/a*/", "/a/*/b", "http://evil.example/a/", "a/b", "/a/*?p=1", "/a/%2A", "/a%3Fb/"]
)
def test_bad_sources_refused(settings: Settings, canonicaliser: Canonicaliser, source: str) -> None:
    table = RedirectTable.build(settings, canonicaliser, [Mapping(source, "web")])
    assert [row.source for row in table.skipped] == [source]


def test_helpers_for_sitemap_and_check_successors(table: RedirectTable) -> None:
    assert "/innovation/om" in table.redirect_paths()
    assert "/innovation/borta" not in table.redirect_paths()
    assert "/innovation/trasig" not in table.redirect_paths()
    assert set(table.targets()) >= {WEB, SOCIAL, TRANSPORT, "https://www.regeringen.se/p12/"}
    assert len(table) == len(table.rules())


def test_example_config_builds() -> None:
    if not DEFAULT_CONFIG.exists():
        pytest.skip("config/naringsbloggen.toml is not written yet")
    settings = load_settings([DEFAULT_CONFIG])
    canon = _canon(settings)
    table = RedirectTable.build(settings, canon)
    assert table.lookup(canon.path_key(SEED)).location == settings.successors.web
    assert table.lookup("/innovation/om").location == settings.social_url
    assert table.lookup("/transport/author/x").location == settings.social_url
    assert table.lookup("/").rule is RuleKind.EXACT


@hyp_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(st.text(max_size=200))
def test_lookup_never_raises(table: RedirectTable, canonicaliser: Canonicaliser, text: str) -> None:
    targets = set(table.targets())
    for key in _keys(canonicaliser, text):
        outcome = table.lookup(key)
        assert outcome.kind in ("redirect", "gone")
        assert outcome.location is None or outcome.location in targets


def _keys(canonicaliser: Canonicaliser, text: str) -> list[str]:
    keys = [text, "/" + text]
    with contextlib.suppress(LinkbridgeError):
        keys.append(canonicaliser.path_key("/" + text))
    return keys


def _canon(settings: Settings) -> Canonicaliser:
    return Canonicaliser.for_site(
        settings.site.public_base_url, settings.site.hosts, settings.site.significant_query_params
    )
