"""The admin page's parsers of request input: `next`, host fields, href filtering (fuzzed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from linkbridge.admin.page import back_to, field
from linkbridge.errors import BadRequest
from linkbridge.moderation.rules import block_entry
from linkbridge.pages.render import http_url


def _form(**values: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(values))


@given(st.text())
def test_next_is_an_admin_path_or_the_default(text: str) -> None:
    target = back_to(_form(next=text), "/admin/")
    assert target == "/admin/" or target == text
    assert target.startswith("/admin/")
    assert all(0x21 <= ord(ch) <= 0x7E for ch in target)
    assert "\\" not in target


@given(st.text())
def test_hrefs_are_http_or_inert(text: str) -> None:
    href = http_url(text)
    assert href == "#" or href.lower().startswith(("http:", "https:"))


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JavaScript:x",
        "data:text/html,x",
        " javascript:x",
        "vbscript:x",
        "//evil.example/",
    ],
)
def test_dangerous_hrefs_become_inert(text: str) -> None:
    assert http_url(text) == "#"


@given(st.text(max_size=300))
def test_host_field_gives_a_host_or_refuses(text: str) -> None:
    try:
        host = block_entry(text)
    except BadRequest:
        return
    assert host
    assert host == host.lower()
    assert not host.startswith("www.")
    assert host.isascii()
    assert block_entry(host) == host  # normalised once is normalised


def test_host_field_examples() -> None:
    assert block_entry("https://WWW.Spam.Example.org/path?q") == "spam.example.org"
    assert block_entry("Spam.Example.org.") == "spam.example.org"
    for bad in ("", "a b", "exa mple.org", "<script>", "a..b", "-a.org", "not a host!"):
        with pytest.raises(BadRequest):
            block_entry(bad)


@given(st.text(max_size=50))
def test_fields_are_stripped_and_bounded(text: str) -> None:
    try:
        value = field(_form(x=text), "x", required=True, max_chars=20)
    except BadRequest:
        assert not text.strip() or len(text.strip()) > 20
        return
    assert value == text.strip()
    assert 0 < len(value) <= 20
