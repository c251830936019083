"""CSV import and export of redirect mappings."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from linkbridge.errors import RejectedImport
from linkbridge.model import Mapping
from linkbridge.retire.csvio import BadRows, export_mappings_csv, parse_mappings_csv
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser


def test_parse_rows(settings: Settings, canonicaliser: Canonicaliser) -> None:
    data = (
        "old,new\n"
        "/innovation/Om/,social\n"
        "http://naringsbloggen.se/innovation/a-post/,https://www.regeringen.se/a/\n"
        "/innovation/trasig/,\n"
        "/innovation/borta/,GONE\n"
        "/innovation/?p=12,web\n"
        "/transport/*,https://x.com/naringsdep\n"
    )
    assert parse_mappings_csv(data, settings, canonicaliser) == [
        Mapping("/innovation/om", "social", origin="store"),
        Mapping("/innovation/a-post", "https://www.regeringen.se/a/", origin="store"),
        Mapping("/innovation/trasig", "", origin="store"),
        Mapping("/innovation/borta", "gone", origin="store"),
        Mapping("/innovation?p=12", "web", origin="store"),
        Mapping("/transport/*", "https://x.com/naringsdep", origin="store"),
    ]


def test_header_optional_comments_and_blank_lines(
    settings: Settings, canonicaliser: Canonicaliser
) -> None:
    data = "\ufeff# a comment\n\n/a/,web\n,\n/b/,gone,moved away\n"
    assert parse_mappings_csv(data, settings, canonicaliser) == [
        Mapping("/a", "web", origin="store"),
        Mapping("/b", "gone", origin="store", note="moved away"),
    ]
    assert parse_mappings_csv("", settings, canonicaliser) == []


@pytest.mark.parametrize(
    ("data", "line", "says"),
    [
        ("old,new\n/a/,web\n/b/,https://evil.example/\n", 3, "not in retire.allowed_target_hosts"),
        ("/a/,web\nhttp://evil.example/a/,web\n", 2, "not one of this site's hosts"),
        ("old,new\n\n# c\n\nrelative/path,web\n", 5, "not a path or an absolute URL"),
        ("/a/,web\n/b/\n", 2, "expected 2 or 3 columns"),
        ("/a/,web,note,extra\n", 1, "expected 2 or 3 columns"),
        ("/a/,web\n/b/,ftp://www.regeringen.se/\n", 2, "not an absolute http(s) URL"),
        ('/a/,web,"two\nlines"\n/b/*/c,web\n', 3, "'*' is only allowed"),
        ('/a/,web\n/b/,"https://x.com/\nx"\n', 2, "not a printable ASCII URL"),
        ("/a/,web\n/b/,web\n/%ff/,web\n", 3, "undecodable"),
        ('/a/,web\n"/b/,web\n', 2, "not valid CSV"),
        ("old,new\n/a/?p=1/*,web\n", 2, "prefix rule cannot carry a query"),
    ],
)
def test_bad_row_rejects_the_file_with_its_line(
    settings: Settings, canonicaliser: Canonicaliser, data: str, line: int, says: str
) -> None:
    with pytest.raises(BadRows) as info:
        parse_mappings_csv(data, settings, canonicaliser)
    assert info.value.problems[0].startswith(f"line {line}: ")
    assert says in info.value.message


def test_duplicates_last_row_wins_first_position_kept(
    settings: Settings, canonicaliser: Canonicaliser
) -> None:
    data = (
        "/a/,web\n"
        "/b/,social\n"
        "HTTP://WWW.NARINGSBLOGGEN.SE/A,gone\n"
        "/a,https://www.regeringen.se/sist/\n"
    )
    assert parse_mappings_csv(data, settings, canonicaliser) == [
        Mapping("/a", "https://www.regeringen.se/sist/", origin="store"),
        Mapping("/b", "social", origin="store"),
    ]


def test_round_trip(settings: Settings, canonicaliser: Canonicaliser) -> None:
    data = (
        "/innovation/r%C3%A4ksm%C3%B6rg%C3%A5s/,web\n"
        '/innovation/100%25-s%C3%A4kert/,gone,"a note, with comma"\n'
        "/innovation/med%20mellanslag%20/,\n"
        "/innovation/%E2%80%93-streck/*,social\n"
        "/?s=a+b&p=1,https://www.regeringen.se/?q=1&r=2\n"
    )
    mappings = parse_mappings_csv(data, settings, canonicaliser)
    assert len(mappings) == 5
    exported = export_mappings_csv(mappings)
    assert exported.startswith("old,new,note\r\n")
    assert parse_mappings_csv(exported, settings, canonicaliser) == mappings
    # and a store export without notes has the two-column header
    plain = [Mapping(m.source, m.target, origin="store") for m in mappings]
    assert export_mappings_csv(plain).startswith("old,new\r\n")
    assert parse_mappings_csv(export_mappings_csv(plain), settings, canonicaliser) == plain


def test_imported_rows_build_a_table(settings: Settings, canonicaliser: Canonicaliser) -> None:
    rows = parse_mappings_csv("/innovation/x/,social\n", settings, canonicaliser)
    table = RedirectTable.build(settings, canonicaliser, rows)
    assert table.lookup("/innovation/x").location == "https://x.com/naringsdep"


CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["web", "social", "gone", "", "/a/*", "https://www.regeringen.se/x"]),
    st.text(alphabet='/abc%*?#:,"\n\r -éÅ2F', max_size=30),
)


@hyp_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(st.text(max_size=300))
def test_fuzz_parse_only_rejects(
    settings: Settings, canonicaliser: Canonicaliser, data: str
) -> None:
    try:
        parse_mappings_csv(data, settings, canonicaliser)
    except RejectedImport as exc:
        message = exc.message
    else:
        return
    assert message
    assert "\n" not in message


@hyp_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    st.lists(
        st.tuples(st.text(max_size=40).map(lambda s: "/" + s), CELL, st.text(max_size=10)),
        max_size=8,
    )
)
def test_fuzz_round_trip(
    settings: Settings, canonicaliser: Canonicaliser, rows: list[tuple[str, str, str]]
) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    try:
        mappings = parse_mappings_csv(buf.getvalue(), settings, canonicaliser)
    except RejectedImport:
        return
    assert parse_mappings_csv(export_mappings_csv(mappings), settings, canonicaliser) == mappings


@hyp_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.text(alphabet="/abcåäö,;\t\"\r\n", max_size=200).map(
        lambda t: t.encode("cp1252", errors="replace")),
))
def test_fuzz_bytes_in_any_encoding_only_reject(
    settings: Settings, canonicaliser: Canonicaliser, data: bytes
) -> None:
    """Whatever bytes arrive, the answer is mappings or one RejectedImport line."""
    try:
        parse_mappings_csv(data, settings, canonicaliser)
    except RejectedImport as exc:
        message = exc.message
    else:
        return
    assert message
    assert "\n" not in message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(
    settings: Settings, canonicaliser: Canonicaliser, delimiter: str
) -> None:
    data = f"old{delimiter}new{delimiter}note\r\n/a/{delimiter}web{delimiter}x, y; z\r\n"
    data = data.replace("x, y; z", '"x, y; z"') if delimiter != "\t" else data
    (mapping,) = parse_mappings_csv(data.encode("utf-8"), settings, canonicaliser)
    assert (mapping.source, mapping.target, mapping.note) == ("/a", "web", "x, y; z")
