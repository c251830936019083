"""TrackBack wire format: media type, every charset path, cuts at their edge, exact answers."""

from __future__ import annotations

from urllib.parse import quote_from_bytes, urlencode

import pytest

from linkbridge.receive.trackback_wire import (
    EXCERPT_MAX_CHARS,
    TITLE_MAX_CHARS,
    TrackbackError,
    TrackbackPing,
    parse_trackback,
    render_trackback_error,
    render_trackback_ok,
)

FORM = "application/x-www-form-urlencoded"
MAX = 65536
SWEDISH = "Hej då, räksmörgås för alla öar och åar i Näringsdepartementet"


def ping(body: bytes, content_type: str | None = FORM, max_body_bytes: int = MAX) -> TrackbackPing:
    return parse_trackback(body, content_type, max_body_bytes=max_body_bytes)


def refused(body: bytes, content_type: str | None = FORM, max_body_bytes: int = MAX) -> str:
    with pytest.raises(TrackbackError) as caught:
        ping(body, content_type, max_body_bytes)
    assert str(caught.value).startswith("trackback: ")
    return caught.value.detail


def form(encoding: str = "utf-8", **fields: str) -> bytes:
    return urlencode(fields, encoding=encoding).encode("ascii")


# --- fields --------------------------------------------------------------------------------


def test_a_plain_utf8_ping() -> None:
    got = ping(form(url="http://a.example/p", title="T", excerpt="E", blog_name="B"))
    assert got == TrackbackPing("http://a.example/p", "T", "E", "B", "utf-8")


@pytest.mark.parametrize("body", [b"", b"title=x", b"url=", b"url=+%20%09"])
def test_missing_or_empty_url(body: bytes) -> None:
    assert refused(body) == "missing url"


@pytest.mark.parametrize(
    "body", [b"url=%00", b"url=http://a/%0D%0Ax", b"url=http://a/%E2%80%AE", b"url=http://a/%C2%9B"]
)
def test_url_with_control_or_bidi_characters_is_refused(body: bytes) -> None:
    assert refused(body) == "url contains whitespace or control characters"


def test_last_repeated_field_wins_as_in_php() -> None:
    assert ping(b"url=http://a/&url=http://b/").url == "http://b/"


def test_text_fields_are_stored_as_plain_text() -> None:
    got = ping(
        form(
            url=" http://a/ ",
            title="<b>Fet</b> &amp; <i>kursiv</i>",
            excerpt="<p>Ett\n\n  stycke</p><script>alert(1)</script>&lt;tag&gt;\x00\x07",
            blog_name="<a href='x'>Bloggen</a>",
        )
    )
    assert got.url == "http://a/"
    assert got.title == "Fet & kursiv"
    assert got.excerpt == "Ett stycke"  # "&lt;tag&gt;" is a tag once read: stored text has none
    assert got.blog_name == "Bloggen"


# --- cuts at their edge --------------------------------------------------------------------


def test_title_at_250_is_kept_and_251_is_cut() -> None:
    assert TITLE_MAX_CHARS == 250
    assert ping(form(url="http://a/", title="å" * 250)).title == "å" * 250
    assert ping(form(url="http://a/", title="å" * 251)).title == "å" * 249 + "…"


def test_excerpt_at_252_is_kept_and_253_is_cut() -> None:
    assert EXCERPT_MAX_CHARS == 252
    assert ping(form(url="http://a/", excerpt="x" * 252)).excerpt == "x" * 252
    assert ping(form(url="http://a/", excerpt="x" * 253)).excerpt == "x" * 251 + "…"


def test_tags_are_stripped_before_counting() -> None:
    title = "<strong>" + "t" * 250 + "</strong>"
    assert ping(form(url="http://a/", title=title)).title == "t" * 250


def test_body_size_at_its_edge() -> None:
    body = form(url="http://a/", excerpt="x" * 100)
    assert ping(body, max_body_bytes=len(body)).url == "http://a/"
    assert refused(body, max_body_bytes=len(body) - 1) == f"body larger than {len(body) - 1} bytes"


# --- media type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
        "garbage",
        "application/x-www-form-urlencoded-not",
        "text/xml\r\nX-Evil: 1",
    ],
)
def test_other_media_types_are_refused(content_type: str | None) -> None:
    assert refused(b"url=http://a/", content_type) == f"body must be {FORM}"


@pytest.mark.parametrize(
    "content_type",
    [
        FORM,
        "Application/X-WWW-Form-Urlencoded",
        f"{FORM};charset=utf-8",
        f'{FORM} ; charset="UTF-8"',
        f"{FORM}; charset*=utf-8''UTF-8",
    ],
)
def test_the_form_media_type_in_its_spellings(content_type: str) -> None:
    assert ping(b"url=http://a/", content_type).charset == "utf-8"


# --- charset paths -------------------------------------------------------------------------


def test_charset_from_content_type_parameter() -> None:
    body = form("latin-1", url="http://a/", title=SWEDISH)
    got = ping(body, f"{FORM}; charset=ISO-8859-1")
    assert (got.title, got.charset) == (SWEDISH, "cp1252")


def test_content_type_parameter_wins_over_the_form_field() -> None:
    body = form("latin-1", url="http://a/", title=SWEDISH, charset="UTF-8")
    assert ping(body, f"{FORM}; charset=windows-1252").title == SWEDISH


def test_charset_from_the_form_field() -> None:
    body = form("cp1252", url="http://a/", title="Pris: 5 € – bra", charset="windows-1252")
    got = ping(body)
    assert (got.title, got.charset) == ("Pris: 5 € – bra", "cp1252")


def test_charset_field_as_a_wordpress_style_list_takes_the_first_that_decodes() -> None:
    body = form("latin-1", url="http://a/", title=SWEDISH, charset="UTF-8, ISO-8859-1")
    assert ping(body).title == SWEDISH


def test_shift_jis_declared() -> None:
    body = form("shift_jis", url="http://a/", title="日本語のタイトル")
    assert ping(body, f"{FORM}; charset=Shift_JIS").title == "日本語のタイトル"


def test_undeclared_utf8() -> None:
    got = ping(form(url="http://a/", title=SWEDISH))
    assert (got.title, got.charset) == (SWEDISH, "utf-8")


def test_undeclared_latin1_is_detected() -> None:
    got = ping(form("latin-1", url="http://a/", title=SWEDISH, excerpt=SWEDISH))
    assert got.title == SWEDISH
    assert got.charset in ("cp1252", "iso8859_15", "latin_1")


def test_undecodable_bytes_in_a_declared_charset_are_replaced_not_fatal() -> None:
    body = b"url=http://a/&title=" + quote_from_bytes(b"ok \xff\xfe").encode()
    got = ping(body, f"{FORM}; charset=utf-8")
    assert got.title.startswith("ok ")


@pytest.mark.parametrize(
    ("content_type", "extra"),
    [
        (f"{FORM}; charset=UTF-7", {}),
        (f"{FORM}; charset=utf7", {}),
        (FORM, {"charset": "UTF-7"}),
        (FORM, {"charset": "UTF-8, UTF-7"}),
        (f"{FORM}; charset=unicode-1-1-utf-7", {}),
    ],
)
def test_utf7_is_refused(content_type: str, extra: dict[str, str]) -> None:
    body = form(url="http://a/", title="+ADw-script+AD4-", **extra)
    assert refused(body, content_type) == "UTF-7 is refused"


@pytest.mark.parametrize("label", ["klingon", "x-unknown-1", "base64", "rot13", "ü"])
def test_unknown_charset_is_refused_with_a_clear_message(label: str) -> None:
    detail = refused(b"url=http://a/", f"{FORM}; charset={label}")
    assert detail.startswith("unknown charset")


# --- answers -------------------------------------------------------------------------------


def test_ok_response_bytes() -> None:
    assert render_trackback_ok() == (
        b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>0</error>\n</response>\n'
    )


def test_error_response_bytes() -> None:
    assert render_trackback_error("Sorry, trackbacks are closed for this item.") == (
        b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>1</error>\n'
        b"<message>Sorry, trackbacks are closed for this item.</message>\n</response>\n"
    )


def test_error_message_is_escaped_and_control_characters_removed() -> None:
    body = render_trackback_error("a <b> & 'c'\x00\x1b\ud800 – å")
    assert b"<message>a &lt;b&gt; &amp; 'c' \xe2\x80\x93 \xc3\xa5</message>" in body
    from lxml import etree

    assert etree.fromstring(body).findtext("message") == "a <b> & 'c' – å"


def test_error_is_a_bad_request_with_a_reason() -> None:
    with pytest.raises(TrackbackError) as caught:
        ping(b"title=x")
    assert caught.value.status == 400
    assert caught.value.reason == "trackback_missing_url"


def test_an_excerpt_cut_inside_a_multibyte_character_loses_the_broken_tail() -> None:
    """WordPress 6.1's trackback_url_list() cuts bytes, then appends &hellip;."""
    cut = "Omvärldsspaning åäö".encode()[:-1]  # the last "ö" cut in half
    body = b"url=http%3A%2F%2Flogistikfokus.se%2Fa%2F&excerpt=" + quote_from_bytes(
        cut + b"&hellip;"
    ).encode()
    ping = parse_trackback(body, "application/x-www-form-urlencoded; charset=utf-8",
                           max_body_bytes=65536)
    assert ping.excerpt == "Omvärldsspaning åä…"
