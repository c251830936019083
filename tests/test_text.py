"""The one text path: unsafe characters, HTML read as text, the cut rule, terminal escapes."""

from __future__ import annotations

import html
import sys
import unicodedata

import nh3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkbridge.text import (
    UNSAFE,
    CharsetRefused,
    clean,
    cut,
    decode_page,
    for_page,
    for_terminal,
    html_text,
    plain,
    resolve_charset,
    url_is_clean,
    xml_safe,
)


@pytest.mark.slow  # over a second
def test_unsafe_set_is_every_control_format_surrogate_and_separator_character() -> None:
    # characters this Python's Unicode database does not know yet (Cn) may be in the set
    missing = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        expected = unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") or code in (
            0xFFFE,
            0xFFFF,
        )
        if expected != bool(UNSAFE.match(char)) and unicodedata.category(char) != "Cn":
            missing.append(f"U+{code:04X}")
    assert missing == []


def test_xml_safe_keeps_exactly_the_xml_char_production() -> None:
    """XML 1.0's Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    kept = [ord(c) for c in xml_safe(every)]
    allowed = [c for c in range(sys.maxunicode + 1) if c in (0x9, 0xA, 0xD)
               or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or c >= 0x10000]
    assert kept == allowed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Plain", "Plain"),
        ("a < b & c", "a < b & c"),
        ("<b>bold</b>  and\n\tspaced", "bold and spaced"),
        ("<script>x</script>after", "after"),
        ("&lt;script&gt;x", ""),  # an unclosed script swallows the rest
        ("&amp;lt;b&amp;gt;fet", "fet"),  # every layer of escaping is peeled
        ("<p>Ett</p><p>Två</p>", "Ett Två"),
        ("<em>ord</em>et", "ordet"),
        ("A &amp; B &#8211; C &hellip;", "A & B – C …"),
        ("Evil\u202egpj.exe", "Evilgpj.exe"),
        ("held\r\napproved\x9b regeringen.se", "held approved regeringen.se"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("e\u0301", "\u00e9"),  # NFC
        ("", ""),
    ],
)
def test_plain(raw: str, expected: str) -> None:
    assert plain(raw) == expected


@given(st.text())
def test_plain_is_a_fixed_point_of_reading_as_html(raw: str) -> None:
    once = plain(raw)
    assert plain(once) == once
    assert not UNSAFE.search(once)
    # an RSS reader that reads the text as HTML sees the same text
    assert html.unescape(nh3.clean(once, tags=set())) == once


def test_cut_keeps_the_limit_and_marks_the_cut() -> None:
    assert cut("å" * 250, 250) == "å" * 250
    assert cut("å" * 251, 250) == "å" * 249 + "…"
    assert len(cut("word " * 100, 250)) <= 250
    assert cut("word " * 100, 250).endswith("word…")
    assert cut("abc", 1) == "…"
    assert cut("abc", 0) == ""


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_cut_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(cut(text, limit)) <= limit


@pytest.mark.parametrize("label", ["utf-7", "UTF-7", "base64", "rot13", "idna", "utf-32", "x"])
def test_refused_charsets(label: str) -> None:
    with pytest.raises(CharsetRefused):
        resolve_charset(label)


@pytest.mark.parametrize(("label", "codec"), [("ISO-8859-1", "cp1252"), ("ascii", "cp1252"),
                                              ("utf8", "utf-8"), ("Shift_JIS", "shift_jis")])
def test_charset_labels(label: str, codec: str) -> None:
    assert resolve_charset(label) == codec


def test_a_page_with_a_refused_meta_charset_is_read_as_utf8() -> None:
    page = '<meta charset="utf-7"><p>+ADw-script+AD4-åäö'.encode()
    assert decode_page(page, None).endswith("+ADw-script+AD4-åäö")


@pytest.mark.parametrize(
    "url",
    ["http://a.example/\u202e", "http://a.example/\r\nX-Injected: 1", "http://a.example/ x",
     "http://a.example/\x9b", "http://a.example/\u200b"],
)
def test_urls_with_unsafe_characters_are_not_clean(url: str) -> None:
    assert not url_is_clean(url)


def test_terminal_escapes_every_unsafe_character() -> None:
    assert for_terminal("spam\r\n\x1b[2Kapproved\x9b\u202eexe") == (
        "spam\\x0d\\x0a\\x1b[2Kapproved\\x9b\\u202eexe"
    )
    assert for_terminal("Näringsbloggen – ok") == "Näringsbloggen – ok"


@given(st.text())
def test_terminal_output_has_no_unsafe_character(value: str) -> None:
    assert not UNSAFE.search(for_terminal(value))


@given(st.text())
def test_page_text_keeps_whitespace_and_shows_every_other_unsafe_character(value: str) -> None:
    shown = for_page(value)
    assert {ch for ch in shown if UNSAFE.match(ch)} <= {"\t", "\n", "\r"}
    if not UNSAFE.search(value):
        assert shown == value  # safe text is shown as it is


def test_text_as_html_is_escaped() -> None:
    assert html_text('<img src="https://tracker.example/t.gif">') == (
        '<p>&lt;img src="https://tracker.example/t.gif"&gt;</p>'
    )
    assert clean("  a \n b ") == "a b"
