"""WXR import: every field of a realistic multi-blog export, and refusal of broken files."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.errors import RejectedImport
from linkbridge.model import Category, LinkbackProtocol, LinkbackState, Post
from linkbridge.posts.wxr import (
    EXCERPT_WORDS,
    ImportedLinkback,
    WxrExport,
    make_excerpt,
    parse_wxr,
    plain_text,
    read_wxr,
)
from linkbridge.urls import Canonicaliser
from tests.support import EXAMPLE_WXR, FIXTURES, SEED_POST

MULTIBLOG = FIXTURES / "multiblog"
INNOVATION = MULTIBLOG / "innovation.wxr"
TRANSPORT = MULTIBLOG / "transporter-och-infrastruktur.wxr"
SHIPPED = EXAMPLE_WXR
SITE = "http://www.naringsbloggen.se"
SEED = SEED_POST
CANON = Canonicaliser.for_site(
    "http://www.naringsbloggen.se/",
    ["naringsbloggen.se"],
    ["p", "page_id", "cat", "m", "feed", "s"],
)


def gmt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def by_id(export: WxrExport) -> dict[int, Post]:
    return {p.post_id: p for p in export.posts}


def wxr(items: str = "", *, version: str = "1.2", base: str = f"{SITE}/innovation") -> bytes:
    """A minimal export around `items`."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/{version}/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/{version}/">
<channel>
<title>Test</title>
<wp:wxr_version>{version}</wp:wxr_version>
<wp:base_site_url>{SITE}</wp:base_site_url>
<wp:base_blog_url>{base}</wp:base_blog_url>
{items}
</channel>
</rss>
""".encode()


def item(post_id: str = "1", *, extra: str = "", status: str = "publish", link: str = "") -> str:
    link = link or f"{SITE}/innovation/kat/inlagg-{post_id}/"
    return f"""<item><title>Inlägg</title><link>{link}</link>
<wp:post_id>{post_id}</wp:post_id><wp:post_name>inlagg-{post_id}</wp:post_name>
<wp:status>{status}</wp:status><wp:post_type>post</wp:post_type>{extra}</item>"""


# --- the realistic exports --------------------------------------------------------------


def test_innovation_export_channel() -> None:
    export = read_wxr(INNOVATION)
    assert export.blog == "/innovation/"
    assert export.base_blog_url == "http://www.naringsbloggen.se/innovation"
    assert export.title == "Innovationsbloggen"
    assert export.wxr_version == "1.2"
    # attachment 2188 and nav_menu_item 30 are skipped
    assert [p.post_id for p in export.posts] == [2187, 2101, 2050, 2055, 2301, 5, 2400, 12]


def test_innovation_seed_post_every_field() -> None:
    post = by_id(read_wxr(INNOVATION))[2187]
    assert post == Post(
        blog="/innovation/",
        post_id=2187,
        permalink=SEED,
        path="/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch",
        slug="innovationsupphandling-pa-frammarsch",
        title="Innovationsupphandling på frammarsch!",
        # no hand-written excerpt: the content without the [caption] shortcode, as plain text
        excerpt=(
            "Idag deltog jag på seminariet Innovationer på beställning som anordnas av Vinnova."
        ),
        author="annieloof",
        author_name="Annie Lööf",
        published_at=gmt("2013-10-08 13:41:00"),
        modified_at=gmt("2013-10-09 08:12:00"),
        status="publish",
        comment_status="open",
        ping_status="open",
        post_type="post",
        categories=(Category("innovationsstrategi", "Innovationsstrategi"),),  # tags left out
        human_comments=3,  # approved, type "" or "comment"; held and spam ones not counted
        tombstone=False,
    )


def test_innovation_other_posts() -> None:
    posts = by_id(read_wxr(INNOVATION))
    dash = posts[2101]
    assert dash.permalink.endswith("/vinnova-%e2%80%93-tio-ar-av-innovation/")
    assert dash.path == "/innovation/innovationsstrategi/vinnova-–-tio-ar-av-innovation"
    assert dash.slug == "vinnova-%e2%80%93-tio-ar-av-innovation"
    assert dash.title == "Vinnova – tio år av innovation"
    assert dash.excerpt == "Vinnova fyller tio år & firar med seminarier."  # hand-written
    assert (dash.comment_status, dash.ping_status) == ("closed", "open")
    assert dash.author == "redaktionen"
    assert posts[2050].excerpt == (
        "Idag presenterar regeringen den nationella innovationsstrategin. Läs mer på regeringen.se."
    )
    assert posts[2050].modified_at is None  # no wp:post_modified_gmt
    assert posts[2055].slug == "nationella-innovationsstrategin-2"
    assert posts[2055].ping_status == "closed"
    assert posts[2055].categories == (
        Category("forskning-och-utveckling", "Forskning och utveckling"),
    )
    assert (
        posts[2301].path == "/innovation/smaforetag/sa-framjar-vi-tjansteinnovation-i-sma-foretag"
    )
    assert posts[2301].categories == (
        Category("smaforetag", "Småföretag"),
        Category("innovationsstrategi", "Innovationsstrategi"),
    )
    page = posts[12]
    assert (page.post_type, page.path, page.slug, page.title) == (
        "page",
        "/innovation/om",
        "om",
        "Om bloggen",
    )
    assert not page.tombstone


def test_trashed_and_drafted_posts_are_tombstones() -> None:
    posts = by_id(read_wxr(INNOVATION))
    trashed = posts[5]
    assert (trashed.status, trashed.tombstone, trashed.slug) == (
        "trash",
        True,
        "testinlagg__trashed",
    )
    draft = posts[2400]
    assert (draft.status, draft.tombstone, draft.slug) == ("draft", True, "")
    assert draft.permalink == f"{SITE}/innovation/?p=2400"
    assert draft.published_at is None  # 0000-00-00 00:00:00
    live = [p.post_id for p in posts.values() if not p.tombstone]
    assert live == [2187, 2101, 2050, 2055, 2301, 12]


def test_innovation_linkbacks() -> None:
    export = read_wxr(INNOVATION)
    assert export.linkbacks == (
        ImportedLinkback(
            blog="/innovation/",
            post_id=2187,
            source_url="http://www.logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/",
            protocol=LinkbackProtocol.PINGBACK,
            state=LinkbackState.APPROVED,
            title=(
                "Omvärldsspaning oktober 2013 | Logistikfokus | "
                "En blogg om logistik, transport och Supply Chain Management"
            ),
            excerpt="[…] Innovationsupphandling på frammarsch! […]",
            target_url=SEED,
            created_at=gmt("2013-11-04 07:15:22"),
            comment_id=5304,
        ),
        ImportedLinkback(
            blog="/innovation/",
            post_id=2187,
            source_url="http://innovationsradet.example.se/2013/10/upphandling-som-motor/",
            protocol=LinkbackProtocol.TRACKBACK,
            state=LinkbackState.HELD,
            title="Upphandling som innovationsmotor",
            blog_name="Innovationsrådets blogg",
            excerpt=(
                'Näringsministern skriver om "Innovationer på beställning" '
                "och det samlade upphandlingsstödet…"
            ),
            target_url=SEED,
            created_at=gmt("2013-10-22 10:30:00"),
            comment_id=5307,
        ),
        ImportedLinkback(
            blog="/innovation/",
            post_id=2187,
            source_url="http://pills.example.net/?p=77",
            protocol=LinkbackProtocol.PINGBACK,
            state=LinkbackState.SPAM,
            title="Buy pills online",
            excerpt="[…] pills […]",
            target_url=SEED,
            created_at=gmt("2013-10-23 00:00:00"),
            comment_id=5308,
        ),
        # a pingback of a trashed post is still imported (the post is a tombstone)
        ImportedLinkback(
            blog="/innovation/",
            post_id=5,
            source_url="http://gammal.example.org/2011/09/test/",
            protocol=LinkbackProtocol.PINGBACK,
            state=LinkbackState.APPROVED,
            title="En gammal länk",
            excerpt="[…] test […]",
            target_url=f"{SITE}/innovation/okategoriserade/testinlagg__trashed/",
            created_at=gmt("2011-09-03 12:00:00"),
            comment_id=40,
        ),
    )
    # the trashed pingback (5309) is left out; the one without a URL (5310) is counted
    assert export.skipped_linkbacks == 1


def test_transport_export_is_wxr_1_1() -> None:
    export = read_wxr(TRANSPORT)
    assert (export.blog, export.wxr_version) == ("/transporter-och-infrastruktur/", "1.1")
    assert export.title == "Transporter och infrastruktur"
    posts = by_id(export)
    sea = posts[2187]  # the same id as the innovation seed post: ids are per sub-blog
    assert sea.blog == "/transporter-och-infrastruktur/"
    assert sea.path == "/transporter-och-infrastruktur/sjofart/sjofartens-betydelse-for-sverige"
    assert sea.excerpt == "Om den maritima strategin."  # the 1.1 excerpt namespace
    assert sea.author == "anna.johansson"
    assert sea.published_at == gmt("2015-06-16 07:00:00")
    assert sea.categories == (Category("sjofart", "Sjöfart"),)
    assert sea.human_comments == 2
    rail = posts[31]
    assert rail.slug == "h%c3%b6ghastighetsbanan"
    assert rail.path == "/transporter-och-infrastruktur/jarnvag/höghastighetsbanan"
    assert (posts[40].status, posts[40].tombstone, posts[40].published_at) == (
        "pending",
        True,
        None,
    )
    assert (posts[41].status, posts[41].tombstone) == ("private", True)
    assert posts[2].post_type == "page"
    states = [(lb.post_id, lb.protocol, lb.state, lb.comment_id) for lb in export.linkbacks]
    assert states == [
        (2187, LinkbackProtocol.TRACKBACK, LinkbackState.APPROVED, 12),
        (2187, LinkbackProtocol.PINGBACK, LinkbackState.HELD, 13),
        (31, LinkbackProtocol.TRACKBACK, LinkbackState.SPAM, 20),
    ]
    trackback = export.linkbacks[0]
    assert (trackback.title, trackback.blog_name, trackback.excerpt) == (
        "Regeringen tar fram en maritim strategi",
        "Sjöfartstidningen",
        "Näringsdepartementet bloggar om sjöfartens betydelse.",
    )
    assert export.linkbacks[2].title == ""  # a trackback body without <strong>


def test_shipped_example_export() -> None:
    export = read_wxr(SHIPPED)
    assert (export.blog, export.title, export.wxr_version) == (
        "/innovation/",
        "Innovationsbloggen",
        "1.2",
    )
    posts = by_id(export)
    seed = posts[2187]
    assert seed.permalink == SEED
    assert seed.title == "Innovationsupphandling på frammarsch!"
    assert seed.categories == (Category("innovationsstrategi", "Innovationsstrategi"),)
    assert (seed.comment_status, seed.ping_status, seed.human_comments) == ("open", "open", 3)
    assert seed.excerpt.startswith("Idag deltog jag på seminariet Innovationer på beställning")
    assert seed.excerpt.endswith(" […]")
    assert len(seed.excerpt.split()) == EXCERPT_WORDS + 1
    assert posts[12].path == "/innovation/om"
    (ping,) = export.linkbacks
    assert ping.protocol is LinkbackProtocol.PINGBACK
    assert ping.state is LinkbackState.APPROVED
    assert ping.title.startswith("Omvärldsspaning oktober 2013 | Logistikfokus")
    assert ping.source_url.startswith("http://www.logistikfokus.se/")


def test_imported_linkback_draft() -> None:
    ping = read_wxr(SHIPPED).linkbacks[0]
    draft = ping.draft(CANON)
    assert draft.source_canonical == "logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/"
    assert draft.source_host == "logistikfokus.se"
    assert (draft.blog, draft.post_id, draft.state) == (
        "/innovation/",
        2187,
        LinkbackState.APPROVED,
    )
    assert (draft.target_url, draft.title, draft.created_at) == (SEED, ping.title, ping.created_at)


# --- shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "blog"),
    [
        (f"{SITE}/innovation", "/innovation/"),
        (f"{SITE}/innovation/", "/innovation/"),
        (f"{SITE}/Innovation", "/innovation/"),
        (SITE, "/"),
        (f"{SITE}/", "/"),
        (
            "https://naringsbloggen.se/transporter-och-infrastruktur",
            "/transporter-och-infrastruktur/",
        ),
    ],
)
def test_sub_blog_from_base_blog_url(base: str, blog: str) -> None:
    assert parse_wxr(wxr(base=base)).blog == blog


def test_both_versions_read_the_same() -> None:
    extra = "<excerpt:encoded><![CDATA[Kort.]]></excerpt:encoded>"
    for version in ("1.1", "1.2"):
        export = parse_wxr(wxr(item(extra=extra), version=version))
        assert export.wxr_version == version
        assert export.posts[0].excerpt == "Kort."


def test_empty_channel_is_an_empty_export() -> None:
    export = parse_wxr(wxr())
    assert (export.posts, export.linkbacks) == ((), ())


def test_missing_optional_fields_take_wordpress_defaults() -> None:
    data = wxr(f"<item><link>{SITE}/innovation/x/</link><wp:post_id>9</wp:post_id></item>")
    (post,) = parse_wxr(data).posts
    assert (post.status, post.post_type, post.comment_status, post.ping_status) == (
        "publish",
        "post",
        "open",
        "open",
    )
    assert (post.title, post.slug, post.author, post.excerpt) == ("", "", "", "")
    assert not post.tombstone


def test_item_without_link_gets_the_p_url() -> None:
    (post,) = parse_wxr(wxr("<item><wp:post_id>9</wp:post_id></item>")).posts
    assert post.permalink == f"{SITE}/innovation/?p=9"


def test_excerpt_takes_55_words() -> None:
    words = [f"ord{i}" for i in range(EXCERPT_WORDS + 5)]
    assert make_excerpt("", " ".join(words)) == " ".join(words[:EXCERPT_WORDS]) + " […]"
    exact = " ".join(words[:EXCERPT_WORDS])
    assert make_excerpt("", f"<p>{exact}</p>") == exact
    assert make_excerpt("<p>Eget utdrag</p>", exact) == "Eget utdrag"
    assert make_excerpt("  ", "[gallery ids=1,2] Text [embed]http://x/[/embed]") == "Text"
    assert make_excerpt("", "[Uppdaterat] [1] Text [youtube x]") == "[Uppdaterat] [1] Text"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("Ren text", "Ren text"),
        ("<p>Ett</p><p>Två</p>", "Ett Två"),
        ("rad<br/>rad", "rad rad"),
        ("<em>ord</em>et", "ordet"),
        ("A &amp; B &#8211; C &hellip;", "A & B – C …"),
        ("a < b", "a < b"),
        ("<script>alert(1)</script>Synligt<style>p{}</style>", "Synligt"),
        ("<!-- dold -->Synligt", "Synligt"),
        ("  många \n\n mellanslag ", "många mellanslag"),
    ],
)
def test_plain_text(html: str, text: str) -> None:
    assert plain_text(html) == text


# --- refusals ---------------------------------------------------------------------------


def rejected(data: bytes, name: str = "test.wxr") -> str:
    with pytest.raises(RejectedImport) as caught:
        parse_wxr(data, source_name=name)
    assert caught.value.reason == "import_failed"
    return caught.value.message


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file_names_the_line(cut: float) -> None:
    data = INNOVATION.read_bytes()
    truncated = data[: int(len(data) * cut)]
    message = rejected(truncated, "innovation.wxr")
    match = re.match(r"wxr: innovation\.wxr: line (\d+): ", message)
    assert match, message
    assert int(match.group(1)) == truncated.count(b"\n") + 1


def test_unnamed_source() -> None:
    assert rejected(b"", name="").startswith("wxr: <wxr>: line ")


@pytest.mark.parametrize(
    ("data", "where", "why"),
    [
        (b"", 1, "Document is empty"),
        (b"\xff\xfe\x00", 1, ""),
        (b"<html><body>not a feed</body></html>", 1, "not a WXR export"),
        (b"<rss><channel><title>x</title></channel></rss>", 1, "missing wp:wxr_version"),
        (wxr(version="1.0"), 7, "unsupported WXR version '1.0'"),
        (wxr(version="1.3"), 7, "unsupported WXR version '1.3'"),
        (wxr(base=""), 9, "missing wp:base_blog_url"),
        (wxr(base="/innovation"), 9, "not an http(s) URL"),
        (wxr(base="http://x/%FF"), 9, "bad wp:base_blog_url"),
        (wxr("<item><wp:post_id>abc</wp:post_id></item>"), 10, "post_id is not a number: 'abc'"),
        (wxr("<item><title>x</title></item>"), 10, "post_id is not a number: ''"),
        (wxr(item("1") + "\n" + item("1")), 13, "duplicate post id 1"),
        (wxr(item(link="http://[broken/")), 10, "bad permalink"),
        (wxr(item(link=f"{SITE}/innovation/%FF/")), 10, "bad permalink"),
        (
            wxr(item(extra="<wp:post_date_gmt>2013-13-45 99:00:00</wp:post_date_gmt>")),
            10,
            "bad date '2013-13-45 99:00:00'",
        ),
        (
            wxr(item(extra="<wp:comment><wp:comment_id>x</wp:comment_id></wp:comment>")),
            12,
            "comment_id is not a number",
        ),
        (wxr("<item><title>&nbsp;</title></item>"), 10, "Entity 'nbsp' not defined"),
        (wxr("<item><title>a</titel></item>"), 10, "mismatch"),
    ],
)
def test_malformed_file_is_refused_whole(data: bytes, where: int, why: str) -> None:
    message = rejected(data)
    assert message.startswith(f"wxr: test.wxr: line {where}: "), message
    assert why in message


def test_good_items_before_a_broken_one_are_not_returned() -> None:
    data = wxr(item("1") + item("2") + item("x"))
    with pytest.raises(RejectedImport):
        parse_wxr(data)


DOCTYPES = [
    b'<?xml version="1.0"?>\n<!DOCTYPE rss>\n<rss/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">\n<rss/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b"<rss><channel><title>&x;</title></channel></rss>",
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(9)
    )
    + b"]>\n<rss>&j;</rss>",
]


@pytest.mark.parametrize("data", DOCTYPES, ids=["bare", "external", "xxe", "laughs"])
def test_doctype_and_entities_are_refused(data: bytes) -> None:
    message = rejected(data)
    assert message == "wxr: test.wxr: line 2: DOCTYPE declarations are refused"


def test_doctype_in_utf16_is_refused_after_parsing() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE rss>\n<rss/>'.encode("utf-16")
    assert "DOCTYPE declarations are refused" in rejected(data)


def test_absent_base_blog_url_names_the_channel() -> None:
    data = wxr().replace(f"<wp:base_blog_url>{SITE}/innovation</wp:base_blog_url>".encode(), b"")
    assert rejected(data) == "wxr: test.wxr: line 5: missing wp:base_blog_url"


def test_doctype_before_a_real_export_is_refused() -> None:
    data = INNOVATION.read_bytes().replace(b"<rss ", b"<!DOCTYPE rss>\n<rss ", 1)
    assert "DOCTYPE" in rejected(data)


def test_read_wxr_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RejectedImport, match=r"^wxr: .*nope\.wxr: cannot read"):
        read_wxr(tmp_path / "nope.wxr")


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_raise_rejected_import(data: bytes) -> None:
    with contextlib.suppress(RejectedImport):
        parse_wxr(data)


FIXTURE_BYTES = INNOVATION.read_bytes()


@settings(max_examples=200)
@given(
    st.integers(0, len(FIXTURE_BYTES)),
    st.integers(0, len(FIXTURE_BYTES) - 1),
    st.binary(min_size=1, max_size=8),
)
def test_damaged_export_only_raises_rejected_import(cut: int, at: int, junk: bytes) -> None:
    for data in (FIXTURE_BYTES[:cut], FIXTURE_BYTES[:at] + junk + FIXTURE_BYTES[at + 1 :]):
        try:
            export = parse_wxr(data)
        except RejectedImport:
            continue
        assert isinstance(export, WxrExport)


def test_author_display_names_come_from_wp_author() -> None:
    from linkbridge.posts.wxr import read_wxr
    from linkbridge.settings_loader import DEFAULT_CONFIG

    export = read_wxr(DEFAULT_CONFIG.parent / "naringsbloggen-innovation.wxr")
    seed = next(p for p in export.posts if p.post_id == 2187)
    assert seed.author == "annieloof"
    assert seed.author_name == "Annie Lööf"
