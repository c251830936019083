"""Regular-expression rules: RE2 patterns with captures, placed after exact mappings and before
prefix rules (or after them when asked), from config, the store, CSV and the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.errors import ConfigError, RejectedImport
from linkbridge.model import Mapping, RuleKind
from linkbridge.retire.csvio import parse_mappings_csv
from linkbridge.retire.table import RedirectTable
from linkbridge.urls import Canonicaliser
from tests.support import load_test_settings
from tests.support.serve import config_args, run_cli, store_overlay

DATED = r"^/innovation/(\d{4})/(\d{2})/(.+)$"
ARCHIVE = "https://www.regeringen.se/arkiv/$1/$3/"


def table(tmp_path: Path, extra: str = "", stored: tuple[Mapping, ...] = ()) -> RedirectTable:
    s = load_test_settings(tmp_path, extra)
    return RedirectTable.build(s, Canonicaliser.for_settings(s.site), stored)


def config_rule(source: str, to: str, after: bool = False) -> str:
    flag = "after_prefixes = true\n" if after else ""
    return f"[[retire.mappings]]\nfrom = '{source}'\nto = '{to}'\n{flag}"


def test_a_pattern_goes_before_the_prefix_rules_and_after_exact_mappings(tmp_path: Path) -> None:
    t = table(tmp_path, config_rule(DATED, ARCHIVE) + config_rule("/innovation/2013/10/exakt/",
                                                                  "social"))
    hit = t.lookup("/innovation/2013/10/innovationsupphandling-pa-frammarsch")
    assert (hit.status, hit.location, hit.rule, hit.matched) == (
        301, "https://www.regeringen.se/arkiv/2013/innovationsupphandling-pa-frammarsch/",
        RuleKind.REGEX, DATED)
    assert t.lookup("/innovation/2013/10/exakt").rule is RuleKind.EXACT
    assert t.lookup("/innovation/om-bloggen").rule is RuleKind.PREFIX  # no date: the prefix


def test_a_pattern_after_the_prefixes_only_catches_what_they_leave(tmp_path: Path) -> None:
    late = r"^/([a-z]+)/(\d{4})/.*$"
    t = table(tmp_path, config_rule(late, "https://www.regeringen.se/$1/", after=True))
    assert t.lookup("/innovation/2013/10/x").rule is RuleKind.PREFIX
    caught = t.lookup("/okand/2013/10/x")
    assert (caught.rule, caught.location) == (RuleKind.REGEX, "https://www.regeringen.se/okand/")


def test_captures_are_encoded_and_never_reach_the_host(tmp_path: Path) -> None:
    t = table(tmp_path, config_rule(r"^/t/(.+)$", "https://www.regeringen.se/s?q=$1"))
    assert t.lookup("/t/a b&c=ö").location == "https://www.regeringen.se/s?q=a%20b%26c%3D%C3%B6"
    for target in ("https://$1/", "$1", "https://evil.example/$1"):
        with pytest.raises(ConfigError):
            table(tmp_path, config_rule(r"^/t/(.+)$", target))
    with pytest.raises(ConfigError, match="captures 1"):
        table(tmp_path, config_rule(r"^/t/(.+)$", "https://www.regeringen.se/$2"))


def test_gone_and_stored_patterns(tmp_path: Path) -> None:
    stored = (Mapping(r"^/transport/(\d+)/(.+)$", "https://www.regeringen.se/$2"),
              Mapping(r"^/innovation/tag/.*$", "gone"))
    t = table(tmp_path, stored=stored)
    assert t.lookup("/transport/2016/vagar").location == "https://www.regeringen.se/vagar"
    gone = t.lookup("/innovation/tag/upphandling")
    assert (gone.status, gone.rule) == (410, RuleKind.REGEX)


def test_csv_rows_with_patterns_and_bad_ones(tmp_path: Path) -> None:
    s = load_test_settings(tmp_path)
    canon = Canonicaliser.for_settings(s.site)
    rows = parse_mappings_csv(f"old,new\n{DATED},{ARCHIVE}\n", s, canon)
    assert [(m.source, m.target) for m in rows] == [(DATED, ARCHIVE)]
    with pytest.raises(RejectedImport, match="RE2"):
        parse_mappings_csv("old,new\n^(a)\\1$,web\n", s, canon)


def test_no_pattern_takes_unbounded_time(tmp_path: Path) -> None:
    """The classic catastrophic pattern: Python's re would backtrack for ages, RE2 is linear."""
    t = table(tmp_path, config_rule(r"^/(a+)+$", "web"))
    started = time.perf_counter()
    outcome = t.lookup("/" + "a" * 50_000 + "b")
    assert outcome.rule is not RuleKind.REGEX
    assert time.perf_counter() - started < 60  # a hang guard, not a measurement


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_any_path_gets_an_outcome(tmp_path_factory: pytest.TempPathFactory, path: str) -> None:
    t = _fuzz_table(tmp_path_factory)
    outcome = t.lookup("/" + path)
    assert outcome.status in (301, 410)


_FUZZ: list[RedirectTable] = []


def _fuzz_table(factory: pytest.TempPathFactory) -> RedirectTable:
    if not _FUZZ:
        _FUZZ.append(table(factory.mktemp("fuzz"), config_rule(DATED, ARCHIVE)
                           + config_rule(r"^/([^/]+)/(.*)$", "https://www.regeringen.se/$2",
                                         after=True)))
    return _FUZZ[0]


@pytest.mark.slow
def test_redirects_check_and_map_show_and_take_patterns(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    mapped = run_cli("redirects", "map", *cfg, DATED, ARCHIVE)
    assert mapped.returncode == 0, mapped.stderr
    done = run_cli("redirects", "check", *cfg, "--json",
                   "http://www.naringsbloggen.se/innovation/2013/10/ett-inlagg/")
    assert done.returncode == 0, done.stderr
    assert "regex" in done.stdout
    assert "https://www.regeringen.se/arkiv/2013/ett-inlagg/" in done.stdout


def test_a_bad_pattern_is_reported_on_one_line(tmp_path: Path) -> None:
    s = load_test_settings(tmp_path)
    with pytest.raises(RejectedImport) as refused:
        parse_mappings_csv('old,new\n"^(a\nb",web\n', s, Canonicaliser.for_settings(s.site))
    assert "\n" not in refused.value.message
