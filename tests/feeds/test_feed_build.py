"""Feeds parse cleanly in feedparser, have the required structure, and render deterministically."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import pytest
from lxml import etree

from linkbridge.feeds import (
    BuiltFeed,
    FeedContext,
    FeedFormat,
    FeedRequest,
    FeedScope,
    Representation,
    build_comments_feed,
    build_posts_feed,
    context_for,
)
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, Post
from linkbridge.settings_loader import load_settings

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
KINDS = ["posts", "comments", "post_comments"]

PostF = Callable[..., Post]
LinkbackF = Callable[..., Linkback]
ContextF = Callable[..., FeedContext]


def _render(
    kind: str,
    fmt: FeedFormat,
    ctx: FeedContext,
    posts: list[Post],
    linkbacks: list[Linkback],
    **kw: Any,
) -> BuiltFeed:
    if kind == "posts":
        return build_posts_feed(posts, ctx, fmt=fmt, **kw)
    by_key = {p.key: p for p in posts}
    post = posts[0] if kind == "post_comments" else None
    return build_comments_feed(linkbacks, by_key, ctx, fmt=fmt, post=post, **kw)


@pytest.fixture
def content(post_factory: PostF, linkback_factory: LinkbackF) -> tuple[list[Post], list[Linkback]]:
    posts = [
        post_factory(12),
        post_factory(
            13,
            title="Logistik & <em>innovation</em>",
            permalink="http://www.naringsbloggen.se/innovation/logistik/logistik/",
            path="/innovation/logistik/logistik",
            published_at=datetime(2013, 11, 5, 10, 0, tzinfo=UTC),
            modified_at=datetime(2013, 11, 6, 10, 0, tzinfo=UTC),
        ),
    ]
    linkbacks = [linkback_factory(1), linkback_factory(2, title="", blog_name="Logistikfokus")]
    return posts, linkbacks


@pytest.mark.parametrize("farewell", [False, True])
@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize("kind", KINDS)
def test_feedparser_accepts_every_feed(
    kind: str,
    fmt: FeedFormat,
    farewell: bool,
    content: tuple[list[Post], list[Linkback]],
    context_factory: ContextF,
) -> None:
    posts, linkbacks = content
    feed = _render(kind, fmt, context_factory(farewell=farewell), posts, linkbacks)
    parsed = feedparser.parse(feed.body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if fmt is FeedFormat.ATOM else "rss20")
    assert len(parsed.entries) == 2 + (1 if farewell else 0)
    if farewell:
        first = parsed.entries[0]
        assert first.id == "http://www.naringsbloggen.se/#linkbridge-farewell"
        text = first.get("content", [{}])[0].get("value", "") or first.summary
        assert "https://www.regeringen.se/sveriges-regering/naringsdepartementet/" in text
        assert "https://x.com/naringsdep" in text


def _check_rss(root: etree._Element, self_url: str, html_url: str) -> None:
    channel = root.find("channel")
    assert channel is not None
    for name in ("title", "link", "description", "lastBuildDate"):
        assert (channel.findtext(name) or "").strip(), name
    assert channel.findtext("link") == html_url
    self_links = [el for el in channel.findall(f"{ATOM}link") if el.get("rel") == "self"]
    assert [el.get("href") for el in self_links] == [self_url]
    assert parsedate_to_datetime(channel.findtext("lastBuildDate") or "").tzinfo is not None
    for item in channel.findall("item"):
        assert (item.findtext("guid") or "").strip()
        assert parsedate_to_datetime(item.findtext("pubDate") or "").tzinfo is not None
        assert item.find("guid").get("isPermaLink") == "false"


def _check_atom(root: etree._Element, self_url: str, html_url: str) -> None:
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{name}") or "").strip(), name
    links = root.findall(f"{ATOM}link")
    assert [el.get("href") for el in links if el.get("rel") == "self"] == [self_url]
    assert [el.get("href") for el in links if el.get("rel") == "alternate"] == [html_url]
    for entry in root.findall(f"{ATOM}entry"):
        assert (entry.findtext(f"{ATOM}id") or "").strip()
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "").tzinfo is not None


@pytest.mark.parametrize("farewell", [False, True])
@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize("kind", KINDS)
def test_structure(
    kind: str,
    fmt: FeedFormat,
    farewell: bool,
    content: tuple[list[Post], list[Linkback]],
    context_factory: ContextF,
) -> None:
    posts, linkbacks = content
    ctx = context_factory(farewell=farewell)
    root = etree.fromstring(_render(kind, fmt, ctx, posts, linkbacks).body)
    if fmt is FeedFormat.RSS:
        assert root.tag == "rss"
        assert root.get("version") == "2.0"
        _check_rss(root, ctx.self_url, ctx.html_url)
    else:
        assert root.tag == f"{ATOM}feed"
        _check_atom(root, ctx.self_url, ctx.html_url)


def _rss_items(feed: BuiltFeed) -> list[etree._Element]:
    return etree.fromstring(feed.body).findall("channel/item")


def test_comment_feeds_are_shaped_like_wordpress(
    content: tuple[list[Post], list[Linkback]], context_factory: ContextF
) -> None:
    posts, linkbacks = content
    ctx = context_factory()
    blog = _render("comments", FeedFormat.RSS, ctx, posts, linkbacks)
    channel = etree.fromstring(blog.body).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Comments for Innovationsbloggen"
    items = _rss_items(blog)
    titles = [i.findtext("title") for i in items]
    assert titles == [
        "Comment on Innovationsupphandling på frammarsch by Logistikfokus",
        "Comment on Innovationsupphandling på frammarsch by Omvärldsspaning oktober 2013",
    ]
    assert [i.findtext("guid") for i in items] == ["linkbridge-linkback-2", "linkbridge-linkback-1"]
    assert items[0].findtext(f"{DC}creator") == "Logistikfokus"
    assert items[0].findtext("description") == "[…] innovationsupphandling på frammarsch […]"
    per_post = _render("post_comments", FeedFormat.RSS, ctx, posts, linkbacks)
    channel = etree.fromstring(per_post.body).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Comments on: Innovationsupphandling på frammarsch"
    assert [i.findtext("title") for i in _rss_items(per_post)] == [
        "By: Logistikfokus",
        "By: Omvärldsspaning oktober 2013",
    ]


def test_posts_feed_newest_first_with_wordpress_guids(
    content: tuple[list[Post], list[Linkback]], context_factory: ContextF
) -> None:
    posts, _ = content
    items = _rss_items(build_posts_feed(posts, context_factory(), fmt=FeedFormat.RSS))
    assert [i.findtext("guid") for i in items] == [
        "http://www.naringsbloggen.se/innovation/?p=13",
        "http://www.naringsbloggen.se/innovation/?p=12",
    ]
    assert items[0].findtext("title") == "Logistik & innovation"
    assert items[1].findtext("link", "").endswith("/innovationsupphandling-pa-frammarsch/")
    assert items[1].findtext("pubDate") == "Tue, 01 Oct 2013 08:30:00 +0000"


def test_posts_feed_skips_tombstones_drafts_and_pages(
    post_factory: PostF, context_factory: ContextF
) -> None:
    posts = [
        post_factory(1),
        post_factory(2, tombstone=True),
        post_factory(3, status="draft"),
        post_factory(4, post_type="page"),
    ]
    items = _rss_items(build_posts_feed(posts, context_factory(), fmt=FeedFormat.RSS))
    assert [i.findtext("guid") for i in items] == ["http://www.naringsbloggen.se/innovation/?p=1"]


def test_limit_at_its_edge(post_factory: PostF, context_factory: ContextF) -> None:
    posts = [post_factory(n, published_at=datetime(2013, 1, n, tzinfo=UTC)) for n in range(1, 6)]
    ctx = context_factory(farewell=True)
    for limit, expected in ((5, 5), (4, 4), (0, 0), (6, 5)):
        items = _rss_items(build_posts_feed(posts, ctx, fmt=FeedFormat.RSS, limit=limit))
        assert len(items) == expected + 1  # the farewell item is not counted


def test_only_approved_linkbacks_appear(
    content: tuple[list[Post], list[Linkback]],
    linkback_factory: LinkbackF,
    context_factory: ContextF,
) -> None:
    posts, _ = content
    linkbacks = [linkback_factory(1)] + [
        linkback_factory(n + 2, state=state)
        for n, state in enumerate(s for s in LinkbackState if s is not LinkbackState.APPROVED)
    ]
    for kind in ("comments", "post_comments"):
        items = _rss_items(_render(kind, FeedFormat.RSS, context_factory(), posts, linkbacks))
        assert [i.findtext("guid") for i in items] == ["linkbridge-linkback-1"]


def test_linkbacks_on_missing_or_other_posts_are_left_out(
    content: tuple[list[Post], list[Linkback]],
    linkback_factory: LinkbackF,
    context_factory: ContextF,
) -> None:
    posts, _ = content
    linkbacks = [
        linkback_factory(1),
        linkback_factory(2, post_id=13),
        linkback_factory(3, post_id=99),
    ]
    blog = _rss_items(_render("comments", FeedFormat.RSS, context_factory(), posts, linkbacks))
    assert sorted(i.findtext("guid") or "" for i in blog) == [
        "linkbridge-linkback-1",
        "linkbridge-linkback-2",
    ]
    one = _rss_items(_render("post_comments", FeedFormat.RSS, context_factory(), posts, linkbacks))
    assert [i.findtext("guid") for i in one] == ["linkbridge-linkback-1"]


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize("kind", KINDS)
def test_same_content_same_bytes_and_etag(
    kind: str,
    fmt: FeedFormat,
    content: tuple[list[Post], list[Linkback]],
    context_factory: ContextF,
) -> None:
    posts, linkbacks = content
    first = _render(kind, fmt, context_factory(farewell=True), posts, linkbacks)
    second = _render(kind, fmt, context_factory(farewell=True), list(posts), list(linkbacks))
    assert first == second
    rep_a, rep_b = Representation.of_feed(first), Representation.of_feed(second)
    assert (rep_a.etag, rep_a.gzip_etag, rep_a.gzip_body) == (
        rep_b.etag,
        rep_b.gzip_etag,
        rep_b.gzip_body,
    )


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_a_newly_approved_linkback_changes_the_etag_and_appears(
    fmt: FeedFormat,
    content: tuple[list[Post], list[Linkback]],
    linkback_factory: LinkbackF,
    context_factory: ContextF,
) -> None:
    posts, linkbacks = content
    before = _render("comments", fmt, context_factory(), posts, linkbacks)
    fresh = linkback_factory(3, title="Ny länk")
    after = _render("comments", fmt, context_factory(), posts, [*linkbacks, fresh])
    assert Representation.of_feed(before).etag != Representation.of_feed(after).etag
    assert after.updated > before.updated
    assert "Ny länk" in feedparser.parse(after.body).entries[0].title


def test_last_build_date_is_the_newest_change_not_now(
    content: tuple[list[Post], list[Linkback]], context_factory: ContextF
) -> None:
    posts, linkbacks = content
    newest = max(lb.updated_at for lb in linkbacks)
    feed = _render("comments", FeedFormat.RSS, context_factory(), posts, linkbacks)
    assert feed.updated == newest
    decided = newest + timedelta(days=30)
    later = _render(
        "comments", FeedFormat.RSS, context_factory(), posts, linkbacks, changed_at=decided
    )
    channel = etree.fromstring(later.body).find("channel")
    assert channel is not None
    assert parsedate_to_datetime(channel.findtext("lastBuildDate") or "") == decided
    empty = build_comments_feed([], {}, context_factory(), fmt=FeedFormat.ATOM)
    assert empty.updated == datetime(1970, 1, 1, tzinfo=UTC)
    with_farewell = build_comments_feed([], {}, context_factory(farewell=True), fmt=FeedFormat.RSS)
    assert with_farewell.updated == datetime(2018, 1, 31, 23, 0, tzinfo=UTC)


HOSTILE = [
    "<script>alert(1)</script>Omvärldsspaning",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;alert(1)",
    "<img src=x onerror=alert(1)>Bild",
    "Titel\x00med\x1bkontroll<",
]


@pytest.mark.parametrize("title", HOSTILE)
@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_script_in_a_source_title_comes_out_inert(
    title: str,
    fmt: FeedFormat,
    content: tuple[list[Post], list[Linkback]],
    linkback_factory: LinkbackF,
    context_factory: ContextF,
) -> None:
    posts, _ = content
    hostile = linkback_factory(
        9,
        title=title,
        author_name=title,
        excerpt=title,
        content=f"<p>ok</p>{title}<a href='javascript:alert(1)'>x</a>",
    )
    feed = _render("comments", fmt, context_factory(), posts, [hostile])
    assert b"<script" not in feed.body.lower()
    assert b"javascript:" not in feed.body.lower()
    parsed = feedparser.parse(feed.body)
    assert parsed.bozo == 0
    root = etree.fromstring(feed.body)
    texts = [el.text or "" for el in root.iter() if isinstance(el.tag, str)]
    for text in texts:
        low = text.lower()
        assert "<script" not in low
        assert "onerror" not in low
        assert "javascript:" not in low


def test_context_from_settings_uses_the_configured_base() -> None:
    settings = load_settings([])
    request = FeedRequest(FeedScope.COMMENTS_BLOG, "/innovation/", FeedFormat.ATOM)
    ctx = context_for(settings, request, farewell=True)
    assert ctx.self_url == "http://www.naringsbloggen.se/innovation/comments/feed/atom/"
    assert ctx.html_url == "http://www.naringsbloggen.se/innovation/"
    assert ctx.blog_title() == "Innovationsbloggen"
    assert ctx.farewell is not None
    assert ctx.farewell.social_url == "https://x.com/naringsdep"
    network = context_for(settings, FeedRequest(FeedScope.NETWORK, "/"), farewell=False)
    assert network.self_url == "http://www.naringsbloggen.se/feed/"
    assert network.blog_title() == "Näringsbloggen"
    feed = build_comments_feed([], {}, ctx, fmt=FeedFormat.ATOM)
    assert feedparser.parse(feed.body).bozo == 0


def test_naive_dates_are_taken_as_utc(post_factory: PostF, context_factory: ContextF) -> None:
    post = post_factory(1, published_at=datetime(2013, 5, 1, 12, 0))
    feed = build_posts_feed([post], context_factory(), fmt=FeedFormat.RSS)
    assert _rss_items(feed)[0].findtext("pubDate") == "Wed, 01 May 2013 12:00:00 +0000"
    assert dataclasses.replace(post, published_at=None).published_at is None


def test_post_creator_is_the_display_name_when_the_export_has_one() -> None:
    from lxml import etree

    from linkbridge.feeds.build import build_posts_feed
    from linkbridge.feeds.grammar import FeedFormat
    from tests.feeds.conftest import make_context, make_post

    posts = [make_post(1, author="annieloof", author_name="Annie Lööf"),
             make_post(2, author="redaktionen")]
    root = etree.fromstring(build_posts_feed(posts, make_context(), fmt=FeedFormat.RSS).body)
    creators = root.findall(".//{http://purl.org/dc/elements/1.1/}creator")
    assert sorted(c.text or "" for c in creators) == ["Annie Lööf", "redaktionen"]


def test_each_protocol_is_shown_as_wordpress_shows_its_comment(
    post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF
) -> None:
    posts = [post_factory(12)]
    linkbacks = [
        linkback_factory(1, protocol=LinkbackProtocol.TRACKBACK, title="Omvärldsspaning",
                         excerpt="Vi skrev om upphandling…", blog_name="Logistikfokus"),
        linkback_factory(2, protocol=LinkbackProtocol.TRACKBACK, title="Utan namn",
                         excerpt="Ingen blog_name skickad.", blog_name=""),
        linkback_factory(3, protocol=LinkbackProtocol.PINGBACK, title="Karins logg",
                         excerpt="[…] innovationsupphandling […]", blog_name=""),
        linkback_factory(4, protocol=LinkbackProtocol.WEBMENTION, title="Svar",
                         author_name="Karin Berg", content="Tack för ett bra inlägg."),
        linkback_factory(5, protocol=LinkbackProtocol.WEBMENTION, title="Ett omnämnande",
                         excerpt="[…] frammarsch […]", blog_name=""),
    ]
    feed = _render("post_comments", FeedFormat.RSS, context_factory(), posts, linkbacks)
    items = {i.findtext("guid"): i for i in _rss_items(feed)}
    content = "{http://purl.org/rss/1.0/modules/content/}encoded"
    shapes = {
        guid.removeprefix("linkbridge-linkback-"): (
            item.findtext("title"), item.findtext(f"{DC}creator"), item.findtext(content)
        )
        for guid, item in items.items()
    }
    assert shapes == {
        "1": ("By: Logistikfokus", "Logistikfokus",
              "<p><strong>Omvärldsspaning</strong></p><p>Vi skrev om upphandling…</p>"),
        "2": ("By: logistikfokus.se", "logistikfokus.se",
              "<p><strong>Utan namn</strong></p><p>Ingen blog_name skickad.</p>"),
        "3": ("By: Karins logg", "Karins logg", "<p>[…] innovationsupphandling […]</p>"),
        "4": ("By: Karin Berg", "Karin Berg", "<p>Tack för ett bra inlägg.</p>"),
        "5": ("By: Ett omnämnande", "Ett omnämnande", "<p>[…] frammarsch […]</p>"),
    }


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM])
def test_a_trackback_with_a_title_only_carries_its_content(
    post_factory: PostF, linkback_factory: LinkbackF, context_factory: ContextF, fmt: FeedFormat
) -> None:
    """WordPress's comment is `<strong>title</strong>` even with no excerpt: the item carries it
    as content (RSS content:encoded, Atom content) and its text as description / summary, as
    WordPress's description is the comment's text."""
    posts = [post_factory(12)]
    linkbacks = [
        linkback_factory(1, protocol=LinkbackProtocol.TRACKBACK, title="Bara 3 < 4 & så",
                         excerpt="", blog_name="Logistikfokus"),
        linkback_factory(2, protocol=LinkbackProtocol.TRACKBACK, title="Rubrik",
                         excerpt="Utdraget.", blog_name="Logistikfokus"),
    ]
    feed = _render("post_comments", fmt, context_factory(), posts, linkbacks)
    parsed = feedparser.parse(feed.body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    by_id = {e.id.rpartition("-")[2]: e for e in parsed.entries}
    title_only, with_excerpt = by_id["1"], by_id["2"]
    assert [c.value for c in title_only.content] == [
        "<p><strong>Bara 3 &lt; 4 &amp; så</strong></p>"
    ]
    assert title_only.summary == "Bara 3 < 4 & så"
    assert [c.value for c in with_excerpt.content] == [
        "<p><strong>Rubrik</strong></p><p>Utdraget.</p>"
    ]
    assert with_excerpt.summary == "Rubrik Utdraget."  # the comment's text, title included
    if fmt is FeedFormat.RSS:  # description is text, content:encoded the HTML
        item = _rss_items(feed)[1]
        assert item.findtext("guid") == "linkbridge-linkback-1"
        assert item.findtext("description") == "Bara 3 < 4 & så"
        assert item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") == (
            "<p><strong>Bara 3 &lt; 4 &amp; så</strong></p>"
        )
