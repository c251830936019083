"""What the W3C feed validator flagged in our feeds stays fixed (checked structurally here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree, html

from linkbridge.feeds import (
    BuiltFeed,
    Farewell,
    FeedContext,
    FeedFormat,
    build_comments_feed,
    build_posts_feed,
)
from linkbridge.model import Linkback, LinkbackProtocol, Post
from tests.feeds.conftest import make_context, make_linkback, make_post

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9;/?:@&=+$.\-_!~*'()%,#]*")
"""The characters RFC 2396 allows in a URI: what the validator checks links against."""
PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)

PostF = Callable[..., Post]
LinkbackF = Callable[..., Linkback]
ContextF = Callable[..., FeedContext]
FORMATS = list(FeedFormat)


def _links(feed: BuiltFeed) -> list[str]:
    """Every link and self/alternate href of the feed and its items."""
    root = etree.fromstring(feed.body)
    if feed.format is FeedFormat.RSS:
        links = [el.text or "" for el in root.iter("link")]
        return links + [el.get("href", "") for el in root.iter(f"{ATOM}link")]
    return [el.get("href", "") for el in root.iter(f"{ATOM}link")]


def _dates(feed: BuiltFeed) -> list[datetime]:
    root = etree.fromstring(feed.body)
    if feed.format is FeedFormat.RSS:
        return [
            parsedate_to_datetime(el.text or "")
            for name in ("lastBuildDate", "pubDate")
            for el in root.iter(name)
        ]
    return [
        datetime.fromisoformat(el.text or "")
        for name in ("updated", "published")
        for el in root.iter(f"{ATOM}{name}")
    ]


def _html_parts(feed: BuiltFeed) -> list[str]:
    root = etree.fromstring(feed.body)
    if feed.format is FeedFormat.RSS:
        return [el.text or "" for el in root.iter(CONTENT)]
    return [el.text or "" for el in root.iter(f"{ATOM}content")]


# ---------------------------------------------------------------- links are URIs


@pytest.mark.parametrize("fmt", FORMATS)
def test_iri_links_come_out_as_uris(
    fmt: FeedFormat, post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    iri = "https://blogg.example.se/åäö sida/?q=ä&x=1"
    post = post_factory(2187, permalink="http://www.naringsbloggen.se/innovation/åäö/")
    idn = linkback_factory(1, post_id=2187, source_url="https://räksmörgås.example/inlägg/")
    spaced = linkback_factory(2, post_id=2187, source_url=iri)
    ctx = context_factory(html_url="http://www.naringsbloggen.se/innovation/category/åäö/")
    for feed in (
        build_posts_feed([post], ctx, fmt=fmt),
        build_comments_feed([idn, spaced], {post.key: post}, ctx, fmt=fmt),
    ):
        links = _links(feed)
        assert links
        assert [u for u in links if not URI.fullmatch(u)] == []
    comments = build_comments_feed([idn, spaced], {post.key: post}, ctx, fmt=fmt)
    entries = feedparser.parse(comments.body).entries
    hosts = {urlsplit(e.link).hostname for e in entries}
    assert hosts == {"xn--rksmrgs-5wao1o.example", "blogg.example.se"}
    assert unquote(next(e.link for e in entries if "blogg" in e.link)) == iri


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_uris_are_left_exactly_as_they_are(
    fmt: FeedFormat, post_factory: PostF, context_factory: ContextF
) -> None:
    url = "http://www.naringsbloggen.se/innovation/a%20b/?p=1&x=(y)"
    feed = build_posts_feed([post_factory(1, permalink=url)], context_factory(), fmt=fmt)
    assert url in _links(feed)


@given(st.text(max_size=20), st.text(max_size=40))
def test_any_source_url_text_becomes_a_uri(host: str, path: str) -> None:
    post = make_post(12)
    lb = make_linkback(1, source_url=f"https://{host}/{path}")
    for fmt in FORMATS:
        feed = build_comments_feed([lb], {post.key: post}, make_context(), fmt=fmt)
        assert [u for u in _links(feed) if not URI.fullmatch(u)] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unparsable_source_url_falls_back_to_the_post(fmt: FeedFormat) -> None:
    post = make_post(12)
    lb = make_linkback(1, source_url="http://[nonsense/x")
    feed = build_comments_feed([lb], {post.key: post}, make_context(), fmt=fmt)
    assert feedparser.parse(feed.body).entries[0].link == post.permalink


# ---------------------------------------------------------------- content HTML


@pytest.mark.parametrize("fmt", FORMATS)
def test_linkback_content_is_text_and_never_becomes_markup(
    fmt: FeedFormat, post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    """Content is stored as text; a feed escapes it, so no markup in it reaches a reader."""
    post = post_factory(12)
    lb = linkback_factory(
        1,
        protocol=LinkbackProtocol.WEBMENTION,
        source_url="https://ake.example/notes/1",
        content='<p><a href="/om/">om</a> <img src="https://tracker.example/t.gif"> svar'
        ' <a href="javascript:alert(1)">js</a> 1 < 2 & 3</p>',
    )
    feed = build_comments_feed([lb], {post.key: post}, context_factory(), fmt=fmt)
    [fragment] = _html_parts(feed)
    doc = html.fragment_fromstring(fragment, create_parent="div")
    assert [el.tag for el in doc.iter()] == ["div", "p"]
    assert doc.text_content() == "om svar js 1 < 2 & 3"
    assert "javascript:" not in fragment


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_feeds_and_undated_posts_show_plausible_dates(
    fmt: FeedFormat, post_factory: PostF, context_factory: ContextF
) -> None:
    ctx = context_factory()
    undated = post_factory(1, published_at=None, modified_at=None)
    for feed in (
        build_posts_feed([], ctx, fmt=fmt),
        build_comments_feed([], {}, ctx, fmt=fmt),
        build_posts_feed([undated], ctx, fmt=fmt),
    ):
        dates = _dates(feed)
        assert dates
        assert min(dates) == PLAUSIBLE
        assert feed.updated == datetime(1970, 1, 1, tzinfo=UTC)  # Last-Modified: never changed


def test_an_old_but_plausible_date_is_shown_as_it_is(
    post_factory: PostF, context_factory: ContextF
) -> None:
    post = post_factory(1, published_at=datetime(1990, 1, 1, 0, 0, 1, tzinfo=UTC))
    feed = build_posts_feed([post], context_factory(), fmt=FeedFormat.ATOM)
    assert min(_dates(feed)) == datetime(1990, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_linkback_entries_are_dated_by_content_not_by_moderation(
    post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    post = post_factory(12)
    imported_at = datetime(2017, 12, 1, 11, 0, tzinfo=UTC)
    created = [datetime(2013, 11, 4, 7, 15, tzinfo=UTC) + timedelta(days=i) for i in range(3)]
    resent = created[2] + timedelta(days=40)
    lbs = [
        linkback_factory(1, created_at=created[0], updated_at=imported_at),
        linkback_factory(2, created_at=created[1], updated_at=imported_at, verified_at=created[1]),
        linkback_factory(3, created_at=created[2], updated_at=imported_at, verified_at=resent),
    ]
    feed = build_comments_feed(lbs, {post.key: post}, context_factory(), fmt=FeedFormat.ATOM)
    root = etree.fromstring(feed.body)
    updated = {
        (entry.findtext(f"{ATOM}id") or "").rsplit("-", 1)[1]: entry.findtext(f"{ATOM}updated")
        for entry in root.iter(f"{ATOM}entry")
    }
    assert updated == {
        "1": "2013-11-04T07:15:00+00:00",
        "2": "2013-11-05T07:15:00+00:00",
        "3": "2013-12-16T07:15:00+00:00",
    }
    assert len(set(updated.values())) == len(updated)
    assert feed.updated == imported_at  # the feed itself did change when they were approved
    assert root.findtext(f"{ATOM}updated") == "2017-12-01T11:00:00+00:00"


# ---------------------------------------------------------------- required text


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_atom_entry_has_text_and_every_item_a_description(
    fmt: FeedFormat, post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    post = post_factory(12, excerpt="")
    bare = linkback_factory(1, title="", blog_name="", excerpt="", content="")
    silent = Farewell("", (), "", "", datetime(2018, 2, 1, tzinfo=UTC))
    ctx = context_factory(farewell=False)
    ctx = FeedContext(**{**ctx.__dict__, "farewell": silent})
    for feed in (
        build_posts_feed([post], ctx, fmt=fmt),
        build_comments_feed([bare], {post.key: post}, ctx, fmt=fmt),
    ):
        root = etree.fromstring(feed.body)
        if fmt is FeedFormat.ATOM:
            entries = list(root.iter(f"{ATOM}entry"))
            texts = [
                (e.findtext(f"{ATOM}summary") or "") + (e.findtext(f"{ATOM}content") or "")
                for e in entries
            ]
        else:
            entries = list(root.iter("item"))
            texts = [e.findtext("description") or "" for e in entries]
        assert len(entries) == 2
        assert all(t.strip() for t in texts), texts


@pytest.mark.parametrize("fmt", FORMATS)
def test_untitled_site_still_gives_titles_and_an_author(
    fmt: FeedFormat, context_factory: ContextF
) -> None:
    ctx = context_factory(site_title="", blog_titles={})
    silent = Farewell("", (), "", "", datetime(2018, 2, 1, tzinfo=UTC))
    ctx = FeedContext(**{**ctx.__dict__, "farewell": silent})
    parsed = feedparser.parse(build_posts_feed([], ctx, fmt=fmt).body)
    assert parsed.bozo == 0
    assert parsed.feed.title == "http://www.naringsbloggen.se/"
    assert parsed.entries[0].title == "http://www.naringsbloggen.se/"
    if fmt is FeedFormat.ATOM:
        assert parsed.feed.author == "http://www.naringsbloggen.se/"


# ---------------------------------------------------------------- titles with markup


@pytest.mark.parametrize("fmt", FORMATS)
def test_markup_ampersands_and_swedish_letters_in_a_linkback_title(
    fmt: FeedFormat, post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    post = post_factory(12)
    lb = linkback_factory(
        1,
        title='<b>Åsa &amp; Örjan\'s</b> "blogg" &#8211; AT&amp;amp;T <i>&lt;ärligt&gt;</i>',
        source_url="https://blogg.example.se/a?x=1&y=2",
    )
    feed = build_comments_feed([lb], {post.key: post}, context_factory(), fmt=fmt, post=post)
    root = etree.fromstring(feed.body)
    tag = "item" if fmt is FeedFormat.RSS else f"{ATOM}entry"
    [entry] = root.iter(tag)
    title = entry.findtext("title" if fmt is FeedFormat.RSS else f"{ATOM}title")
    assert title == 'By: Åsa & Örjan\'s "blogg" – AT&T <ärligt>'  # text, not a tag
    assert b"&amp;amp;" not in feed.body
    assert "By: Åsa & Örjan's" in feedparser.parse(feed.body).entries[0].title
