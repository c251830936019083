"""Link finding and reader fields on bytes, with a predicate built on the shared canonicaliser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.urls import Canonicaliser
from linkbridge.verify.links import LinkReport, inspect
from linkbridge.verify.outcome import MentionType
from tests.support import PUBLIC_BASE
from tests.support.verify import TARGET, target_predicate

PAGE = "http://blogg.example/2013/10/omvarldsspaning/"
IS_TARGET = target_predicate()


def run(
    body: str | bytes,
    *,
    content_type: str = "text/html",
    charset: str | None = "utf-8",
    page_url: str = PAGE,
    webmention: bool = False,
    is_target: Any = IS_TARGET,
) -> LinkReport:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return inspect(
        data,
        content_type=content_type,
        charset=charset,
        page_url=page_url,
        is_target=is_target,
        webmention=webmention,
    )


def html(body: str, head: str = "<title>Omvärldsspaning</title>") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


# ---------------------------------------------------------------- what counts


@pytest.mark.parametrize(
    "href",
    [
        TARGET,
        TARGET.rstrip("/"),
        TARGET.replace("http://www.", "https://"),
        TARGET + "#comments",
        TARGET + "?utm_source=rss",
        TARGET.upper().replace("HTTP://", "http://"),
        "  " + TARGET + "\n",
    ],
)
def test_absolute_links_that_count(href: str) -> None:
    assert run(html(f"<p><a href='{href}'>inlägget</a></p>")).found


@pytest.mark.parametrize(
    "href",
    [
        TARGET.rstrip("/") + "-2/",
        TARGET + "extra/",
        TARGET.rstrip("/") + "x",
        TARGET.replace("www.naringsbloggen.se", "www.naringsbloggen.se.evil.example"),
        "http://evil.example/?u=" + TARGET,
        "javascript:alert(1)//" + TARGET,
        "",
    ],
)
def test_look_alikes_do_not_count(href: str) -> None:
    assert not run(html(f"<p><a href='{href}'>inlägget</a></p>")).found


def test_relative_links_resolve_against_the_page() -> None:
    canon = Canonicaliser.for_site(PUBLIC_BASE, ["naringsbloggen.se"], ["p"])
    is_target = target_predicate(canon=canon)
    page = "http://www.naringsbloggen.se/innovation/annat/ett-annat-inlagg/"
    body = html("<a href='../../innovationsstrategi/innovationsupphandling/'>x</a>")
    assert run(body, page_url=page, is_target=is_target).found
    body = html("<a href='innovationsstrategi/innovationsupphandling/'>x</a>")
    assert not run(body, page_url=page, is_target=is_target).found


def test_base_href_is_honoured() -> None:
    base = "<base href='http://www.naringsbloggen.se/innovation/'>"
    body = html("<a href='innovationsstrategi/innovationsupphandling/'>x</a>", head=base)
    assert run(body).found
    assert not run(html("<a href='innovationsstrategi/innovationsupphandling/'>x</a>")).found


def test_entity_encoded_hrefs_are_decoded() -> None:
    target = "http://www.naringsbloggen.se/innovation/?p=12&cat=3"
    is_target = target_predicate(target)
    body = html("<a href='http://www.naringsbloggen.se/innovation/?p=12&amp;cat=3'>x</a>")
    assert run(body, is_target=is_target).found
    body = html("<a href='http://www.naringsbloggen.se/innovation/?p=12&amp;amp;cat=3'>x</a>")
    assert not run(body, is_target=is_target).found


def test_links_in_comments_scripts_and_styles_do_not_count() -> None:
    body = html(
        f"<!-- <a href='{TARGET}'>old</a> -->"
        f"<script>document.write('<a href=\"{TARGET}\">x</a>')</script>"
        f"<style>a[href='{TARGET}'] {{color: red}}</style>"
        f"<p>{TARGET} in text is not a link</p>"
    )
    assert not run(body).found


def test_media_and_link_elements_count_only_for_webmention() -> None:
    for tag in (
        f"<img src='{TARGET}'>",
        f"<video src='{TARGET}'></video>",
        f"<audio><source src='{TARGET}'></audio>",
    ):
        assert run(html(tag), webmention=True).found
        assert not run(html(tag)).found
    head = f"<link rel='canonical' href='{TARGET}'>"
    assert run(html("", head=head), webmention=True).found
    assert not run(html("", head=head)).found


def test_meta_status_410_means_gone() -> None:
    head = "<meta http-equiv='Status' content='410 Gone'>"
    report = run(html(f"<a href='{TARGET}'>x</a>", head=head))
    assert (report.found, report.gone) == (False, True)
    head = "<meta http-equiv='status' content='200'>"
    assert not run(html("", head=head)).gone


# ---------------------------------------------------------------- charsets


LATIN1_PAGE = (
    "<html><head>{meta}<title>Omvärldsspaning oktober 2013 – Logistikfokus</title></head>"
    "<body><p>Näringsdepartementets inlägg om innovationsupphandling är läsvärt: "
    "<a href='http://www.naringsbloggen.se/innovation/a–b/'>länk</a> för övrigt.</p></body></html>"
)


@pytest.mark.parametrize(
    ("meta", "http_charset"),
    [("", "ISO-8859-1"), ("<meta charset='iso-8859-1'>", None), ("", None)],
)
def test_latin1_pages_decode(meta: str, http_charset: str | None) -> None:
    body = LATIN1_PAGE.format(meta=meta).encode("cp1252")
    target = "http://www.naringsbloggen.se/innovation/a%E2%80%93b/"
    report = run(body, charset=http_charset, is_target=target_predicate(target))
    assert report.found
    assert report.fields is not None
    assert report.fields.title == "Omvärldsspaning oktober 2013 – Logistikfokus"
    assert "innovationsupphandling är läsvärt" in report.fields.excerpt


def test_http_equiv_content_type_charset() -> None:
    meta = "<meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
    body = LATIN1_PAGE.format(meta=meta).encode("cp1252")
    report = run(body, charset=None, is_target=target_predicate(CANON_EN_DASH))
    assert report.fields is not None
    assert report.fields.title.startswith("Omvärldsspaning")


CANON_EN_DASH = "http://www.naringsbloggen.se/innovation/a–b/"


def test_utf8_page_with_percent_encoded_link() -> None:
    body = html("<p>Se <a href='/innovation/a%E2%80%93b/'>här</a>.</p>")
    page = "http://www.naringsbloggen.se/x/"
    report = run(body, charset=None, page_url=page, is_target=target_predicate(CANON_EN_DASH))
    assert report.found


@pytest.mark.parametrize(
    "charset",
    [
        "base64",
        "rot13",
        "hex",
        "zlib",
        "utf-7",
        "idna",
        "punycode",
        "unicode_escape",
        "undefined",
        "utf-32",
        "no-such-charset",
        "",
        "\x00",
    ],
)
def test_odd_charsets_fall_back_safely(charset: str) -> None:
    body = html(f"<a href='{TARGET}'>x</a>")
    assert run(body, charset=charset).found
    meta = f"<meta charset='{charset}'>"
    assert run(html(f"<a href='{TARGET}'>x</a>", head=meta), charset=None).found


def test_meta_utf16_on_a_byte_page_means_utf8() -> None:
    meta = "<meta charset='utf-16'>"
    assert run(html(f"<a href='{TARGET}'>x</a>", head=meta), charset=None).found


# ---------------------------------------------------------------- JSON and plain text


def test_json_string_equal_to_the_target() -> None:
    doc = {"items": [{"links": {"self": "http://blogg.example/x", "to": TARGET}}]}
    assert run(json.dumps(doc), content_type="application/json").found
    doc2 = {"items": [{"to": TARGET + "extra/"}], "text": f"see {TARGET}"}
    assert not run(json.dumps(doc2), content_type="application/ld+json").found


def test_json_depth_cap_edge() -> None:
    def nest(depth: int) -> Any:
        value: Any = TARGET
        for _ in range(depth):
            value = [value]
        return value

    assert run(json.dumps(nest(32)), content_type="application/json").found
    assert not run(json.dumps(nest(33)), content_type="application/json").found


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (f"Läs {TARGET} nu", True),
        (f"Läs ({TARGET}).", True),
        (f"<{TARGET}>", True),
        (f"Läs {TARGET}extra/ nu", False),
        (f"Läs {TARGET.rstrip('/')}-2 nu", False),
        (f"Läs {TARGET.rstrip('/')}x", False),
    ],
)
def test_plain_text_needs_the_target_at_a_url_boundary(body: str, found: bool) -> None:
    assert run(body, content_type="text/plain").found is found


def test_other_content_types_have_no_links() -> None:
    assert not run(TARGET, content_type="image/png").found


# ---------------------------------------------------------------- reader fields


def test_title_falls_back_to_heading_then_host() -> None:
    link = f"<a href='{TARGET}'>x</a>"
    fields = run(html(f"<h2>Rubrik  två</h2>{link}", head="")).fields
    assert fields is not None
    assert fields.title == "Rubrik två"
    fields = run(html(link, head="")).fields
    assert fields is not None
    assert fields.title == "blogg.example"


def test_excerpt_is_context_around_the_link() -> None:
    before = " ".join(f"före{i}" for i in range(60))
    after = " ".join(f"efter{i}" for i in range(60))
    body = html(f"<div><p>{before}</p>\n\n<p>Här: <a href='{TARGET}'>länktexten</a> {after}</p>")
    fields = run(body).fields
    assert fields is not None
    excerpt = fields.excerpt
    assert excerpt.startswith("[…] ")
    assert excerpt.endswith(" […]")
    assert "Här: länktexten efter0" in excerpt
    assert "före59" in excerpt
    assert "före0 " not in excerpt
    assert len(excerpt) <= 300
    assert "  " not in excerpt


def test_short_page_excerpt_is_wrapped_as_wordpress_wraps_it() -> None:
    """WordPress marks a pingback's context `[…] text […]` even when nothing was cut."""
    fields = run(html(f"<p>Kort <a href='{TARGET}'>länk</a> här.</p>")).fields
    assert fields is not None
    assert fields.excerpt == "[…] Kort länk här. […]"


def test_fields_are_plain_and_capped() -> None:
    title = "<b>T</b>" + "Lång titel " * 100
    body = html(f"<a href='{TARGET}'>x\u202e\x07y</a>", head=f"<title>{title}</title>")
    fields = run(body).fields
    assert fields is not None
    assert len(fields.title) <= 250
    assert "<" not in fields.title
    assert "\u202e" not in fields.excerpt
    assert "\x07" not in fields.excerpt


HENTRY_PAGE = f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<title>Svar: innovationsupphandling | Annas blogg</title>
<meta name="author" content="Fel Person">
</head><body>
<header><nav><a href="/">Hem</a> <a href="/om/">Om</a></nav></header>
<main>
<article class="h-entry">
  <h1 class="p-name">Svar om innovationsupphandling</h1>
  <p>Av <span class="p-author h-card"><img class="u-photo" src="/anna.jpg" alt="">
     <a class="p-name u-url" href="/om/">Anna Andersson</a></span>,
     <time class="dt-published" datetime="2013-10-07T09:30:00+02:00">7 oktober 2013</time></p>
  <p>Som svar på <a class="u-in-reply-to" href="{TARGET}">Näringsbloggen</a></p>
  <div class="e-content"><p>Bra skrivet! <strong>Offentlig</strong> upphandling kan driva
     innovation.</p><script>var x = 1;</script></div>
</article>
<aside class="h-entry"><a class="u-like-of" href="http://annan.example/">gilla</a></aside>
</main></body></html>"""


def test_mf2_h_entry_fields() -> None:
    fields = run(HENTRY_PAGE, page_url="https://anna.example/2013/10/svar/").fields
    assert fields is not None
    assert fields.mention_type is MentionType.REPLY
    assert fields.title == "Svar: innovationsupphandling | Annas blogg"
    assert fields.author_name == "Anna Andersson"
    assert fields.author_url == "https://anna.example/om/"
    assert fields.author_photo == "https://anna.example/anna.jpg"
    assert fields.published_at == datetime(2013, 10, 7, 7, 30, tzinfo=UTC)
    assert fields.content.startswith("Bra skrivet! Offentlig upphandling kan driva innovation.")
    assert "Som svar på Näringsbloggen" in fields.excerpt
    details = fields.to_details()
    assert details.mention_type == "in-reply-to"


@pytest.mark.parametrize(
    ("prop", "kind"),
    [
        ("u-like-of", MentionType.LIKE),
        ("u-repost-of", MentionType.REPOST),
        ("u-bookmark-of", MentionType.BOOKMARK),
        ("u-url", MentionType.MENTION),
    ],
)
def test_mf2_response_types(prop: str, kind: MentionType) -> None:
    body = html(f"<div class='h-entry'><a class='{prop}' href='{TARGET}'>x</a></div>")
    fields = run(body).fields
    assert fields is not None
    assert fields.mention_type is kind


def test_reply_to_something_else_is_a_mention() -> None:
    body = html(
        "<div class='h-entry'><a class='u-in-reply-to' href='http://annan.example/'>r</a>"
        f"<div class='e-content'>Se <a href='{TARGET}'>detta</a></div></div>"
    )
    fields = run(body).fields
    assert fields is not None
    assert fields.mention_type is MentionType.MENTION


def test_open_graph_and_meta_fallbacks() -> None:
    head = (
        "<title>T</title><meta name='author' content='Bo Ek'>"
        "<meta property='article:published_time' content='2013-10-07T12:00:00Z'>"
        "<link rel='author' href='/bo/'>"
    )
    fields = run(html(f"<a href='{TARGET}'>x</a>", head=head)).fields
    assert fields is not None
    assert (fields.author_name, fields.author_url) == ("Bo Ek", "http://blogg.example/bo/")
    assert fields.published_at == datetime(2013, 10, 7, 12, 0, tzinfo=UTC)
    assert fields.content == ""
    assert fields.mention_type is MentionType.MENTION


def test_unsafe_author_urls_are_dropped() -> None:
    body = html(
        "<div class='h-entry'><a class='p-author h-card' href='javascript:alert(1)'>Eve</a>"
        f"<a class='u-in-reply-to' href='{TARGET}'>r</a></div>"
    )
    fields = run(body).fields
    assert fields is not None
    assert fields.author_url == ""


# ---------------------------------------------------------------- never raises


CONTENT_TYPES = st.sampled_from(
    ["text/html", "application/json", "text/plain", "", "application/xhtml+xml", "image/gif"]
)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES, charset=st.none() | st.text())
def test_inspect_never_raises_on_bytes(body: bytes, content_type: str, charset: str | None) -> None:
    report = run(body, content_type=content_type, charset=charset, webmention=True)
    assert isinstance(report, LinkReport)


FRAGMENTS = st.sampled_from(
    [
        "<a href='",
        TARGET,
        "'>",
        "</a>",
        "<base href='",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "<meta http-equiv='Status' content='",
        "410",
        "<div class='h-entry'>",
        "<a class='u-in-reply-to' href='",
        "<time class='dt-published' datetime='",
        "&amp;",
        "&#0;",
        "\x00",
        "<title>",
        "</title>",
        "é",
        "\ue000",
        "<img src='",
        '"',
        "{",
        "[",
    ]
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(FRAGMENTS | st.text(max_size=20), max_size=40), ctype=CONTENT_TYPES)
def test_inspect_never_raises_on_markup_soup(parts: list[str], ctype: str) -> None:
    report = run("".join(parts), content_type=ctype, webmention=True)
    if report.fields is not None:
        assert len(report.fields.title) <= 250
        assert len(report.fields.excerpt) <= 300
        assert len(report.fields.content) <= 2000


def test_control_character_after_a_script_does_not_break_parsing() -> None:
    # found by the fuzz test: dropping <script> merged a tail holding U+001F into its parent
    body = (TARGET + "<p>x<script>var a;</script>\x1f<a href='" + TARGET + "'>y</a></p>").encode()
    report = inspect(body, content_type="text/html", charset=None,
                     page_url="http://source.example/", is_target=target_predicate(TARGET))
    assert report.found
