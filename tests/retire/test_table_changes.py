"""Small table changes applied to a copy equal a rebuild; the fast paths equal the slow ones."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from linkbridge.errors import RejectedImport
from linkbridge.model import Mapping, RuleKind
from linkbridge.retire.table import (
    _PLAIN_PATH,
    _PLAIN_URL,
    BadRuleError,
    RedirectTable,
    SkippedMapping,
    TargetPolicy,
    canonical_source,
)
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser

FIXTURES = [HealthCheck.function_scoped_fixture]
SEGMENT = st.text(alphabet=string.ascii_lowercase + string.digits + "-._~", min_size=1, max_size=6)


def plain_source(segments: list[str], slash: bool, prefix: bool) -> str:
    path = "/" + "/".join(segments) + ("/" if slash and segments else "")
    return path + "*" if prefix and path.endswith("/") else path


SOURCE = st.builds(plain_source, st.lists(SEGMENT, max_size=3), st.booleans(), st.booleans())
TARGET = st.sampled_from(
    ["web", "social", "gone", "", "https://www.regeringen.se/a/", "https://x.com/naringsdep"]
)
ROWS = st.dictionaries(st.sampled_from(["/innovation/om", "/a", "/a/b/*", "/innovation/*",
                                        "/transport/x/", "/c/*", "/"]), TARGET, max_size=6)


def every_rule(table: RedirectTable) -> list[tuple[str, int, str | None, str]]:
    return [(o.matched, o.status, o.location, o.rule.value) for o in table.rules()]


@hyp_settings(suppress_health_check=FIXTURES, max_examples=150)
@given(before=ROWS, after=ROWS)
def test_changes_applied_to_a_copy_equal_a_rebuild(
    settings: Settings, canonicaliser: Canonicaliser, before: dict[str, str],
    after: dict[str, str],
) -> None:
    """Store rows whose keys are distinct (the caller's condition) from `before` to `after`."""
    rows = [Mapping(s, t, origin="store") for s, t in before.items()]
    table = RedirectTable.build(settings, canonicaliser, rows)
    base = RedirectTable.build(settings, canonicaliser)
    removed = [s for s in before if s not in after]
    changed = [Mapping(s, t, origin="store") for s, t in after.items() if before.get(s) != t]
    patched = table.with_store_changes(base, removed, changed, settings, canonicaliser)
    rebuilt = RedirectTable.build(
        settings, canonicaliser, [Mapping(s, t, origin="store") for s, t in after.items()]
    )
    assert patched is not None  # no regular-expression rows here
    assert every_rule(patched) == every_rule(rebuilt)
    for source in [*before, *after, "/innovation/x/y", "/nowhere"]:
        key = canonical_source(source.removesuffix("*"), canonicaliser)
        assert patched.lookup(key) == rebuilt.lookup(key)


@hyp_settings(suppress_health_check=FIXTURES, max_examples=300)
@given(source=SOURCE)
def test_plain_sources_skip_the_canonicaliser_with_the_same_key(
    canonicaliser: Canonicaliser, source: str
) -> None:
    body = source.removesuffix("*")
    assert _PLAIN_PATH.fullmatch(body)
    expected = canonicaliser.split(body).path
    if source.endswith("/*"):
        expected = expected.rstrip("/") + "/*"
    assert canonical_source(source, canonicaliser) == expected


STORE_SOURCE = st.one_of(SOURCE, st.sampled_from(["//a/b", "/A/b/", "/a//b/", "/a/%41", "/a?x=1",
                                                   "https://www.naringsbloggen.se/a/"]))
STORE_TARGET = st.one_of(
    TARGET,
    st.builds(lambda host, rest: f"https://{host}/{rest}",
              st.sampled_from(["www.regeringen.se", "evil.example", "WWW.regeringen.se"]),
              st.sampled_from(["", "a/", "a/./b", "a/../b", "p?n=1", "x%20y", "a b"])),
)


@hyp_settings(suppress_health_check=FIXTURES, max_examples=300)
@given(rows=st.lists(st.tuples(STORE_SOURCE, STORE_TARGET), max_size=8))
def test_store_rows_on_the_fast_path_build_what_the_general_path_builds(
    settings: Settings, canonicaliser: Canonicaliser, rows: list[tuple[str, str]]
) -> None:
    fast = RedirectTable._config_layer(settings, canonicaliser)
    general = RedirectTable._config_layer(settings, canonicaliser)
    skipped: list[SkippedMapping] = []
    for source, target in rows:
        keys_of: dict[str, str] = {}
        fast.add_rows([(source, target)], canonicaliser, skipped, keys_of)
        key = keys_of.get(source)
        try:
            expected: str | None = general.add(source, target, "", RejectedImport, canonicaliser)
        except RejectedImport:
            expected = None
        assert key == expected
    assert fast.exact == general.exact
    assert fast.prefixes == general.prefixes


def slow_check(policy: TargetPolicy, url: str) -> str:
    try:
        return policy.check_url_parsed(url)
    except BadRuleError as exc:
        return f"refused: {exc}"


def fast_check(policy: TargetPolicy, url: str) -> str:
    try:
        return policy.check_url(url)
    except BadRuleError as exc:
        return f"refused: {exc}"


HOSTS = st.sampled_from(["www.regeringen.se", "regeringen.se", "evil.example", "x.com",
                         "xregeringen.se", "a-b.regeringen.se"])


@hyp_settings(max_examples=300)
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=HOSTS,
    rest=st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], max_size=30),
)
def test_plain_targets_get_the_answer_parsing_would_give(scheme: str, host: str, rest: str) -> None:
    policy = TargetPolicy(["regeringen.se", "x.com"])
    url = f"{scheme}://{host}/{rest}"
    if _PLAIN_URL.fullmatch(url):
        assert fast_check(policy, url) == slow_check(policy, url)


@pytest.mark.parametrize(
    "url",
    ["https://www.regeringen.se\\@evil.example/", "https://evil.example\\.regeringen.se/",
     "https://user@www.regeringen.se/", "https://www.regeringen.se:99999/",
     'https://www.regeringen.se/"x'],
)
def test_odd_targets_take_the_parsing_path(url: str) -> None:
    assert not _PLAIN_URL.fullmatch(url)


def test_a_bad_store_row_is_skipped_in_slices_too(
    settings: Settings, canonicaliser: Canonicaliser
) -> None:
    rows = [(f"/ok/{i}/", "web") for i in range(5)]
    rows.append(("/bad/", "https://evil.example/"))
    steps = RedirectTable.build_in_slices(settings, canonicaliser, rows, slice_rows=2)
    yields = 0
    while True:
        try:
            next(steps)
            yields += 1
        except StopIteration as done:
            table: RedirectTable = done.value
            break
    assert yields == 3
    assert [m.source for m in table.skipped] == ["/bad/"]
    assert table.lookup("/ok/4").rule is RuleKind.EXACT
