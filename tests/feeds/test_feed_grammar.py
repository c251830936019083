"""Every feed-shaped path of the feed grammar, and the paths that are not feeds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkbridge.feeds import FeedFormat, FeedRequest, FeedScope, feed_path, nearest_known
from linkbridge.feeds import parse_feed_path as parse

BLOGS = ("/innovation/", "/transport/", "/transporter-och-infrastruktur/", "/Digitalt-Forst/")
POST = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch"
RSS, ATOM = FeedFormat.RSS, FeedFormat.ATOM
S = FeedScope


def req(scope: FeedScope, blog: str = "/", fmt: FeedFormat = RSS, **kw: object) -> FeedRequest:
    return FeedRequest(scope, blog, fmt, **kw)  # type: ignore[arg-type]


TABLE: list[tuple[str, dict[str, str], FeedRequest | None]] = [
    # network posts
    ("/feed", {}, req(S.NETWORK)),
    ("/feed/", {}, req(S.NETWORK)),
    ("/feed/rss", {}, req(S.NETWORK)),
    ("/feed/rss2/", {}, req(S.NETWORK)),
    ("/feed/rdf", {}, req(S.NETWORK)),
    ("/feed/feed", {}, req(S.NETWORK)),
    ("/feed/atom", {}, req(S.NETWORK, fmt=ATOM)),
    ("/feed/atom/", {}, req(S.NETWORK, fmt=ATOM)),
    ("/FEED/ATOM/", {}, req(S.NETWORK, fmt=ATOM)),
    ("/", {"feed": "rss2"}, req(S.NETWORK)),
    ("/", {"feed": "atom"}, req(S.NETWORK, fmt=ATOM)),
    ("/", {"feed": "rdf"}, req(S.NETWORK)),
    ("", {"feed": "rss"}, req(S.NETWORK)),
    ("/wp-rss2.php", {}, req(S.NETWORK)),
    ("/wp-atom.php", {}, req(S.NETWORK, fmt=ATOM)),
    # sub-blog posts
    ("/innovation/feed", {}, req(S.BLOG, "/innovation/")),
    ("/innovation/feed/", {}, req(S.BLOG, "/innovation/")),
    ("/innovation/feed/atom", {}, req(S.BLOG, "/innovation/", ATOM)),
    ("/innovation", {"feed": "rss2"}, req(S.BLOG, "/innovation/")),
    ("/innovation/", {"feed": "atom"}, req(S.BLOG, "/innovation/", ATOM)),
    ("/digitalt-forst/feed", {}, req(S.BLOG, "/digitalt-forst/")),
    (
        "/transporter-och-infrastruktur/feed/rss2",
        {},
        req(S.BLOG, "/transporter-och-infrastruktur/"),
    ),
    ("/innovation/wp-rss2.php", {}, req(S.BLOG, "/innovation/")),
    # category and author
    (
        "/innovation/category/innovationsstrategi/feed",
        {},
        req(S.CATEGORY, "/innovation/", slug="innovationsstrategi"),
    ),
    (
        "/innovation/category/innovationsstrategi/feed/atom/",
        {},
        req(S.CATEGORY, "/innovation/", ATOM, slug="innovationsstrategi"),
    ),
    ("/innovation/category/parent/child/feed", {}, req(S.CATEGORY, "/innovation/", slug="child")),
    ("/category/allmant/feed", {}, req(S.CATEGORY, "/", slug="allmant")),
    (
        "/innovation/category/innovationsstrategi",
        {"feed": "rss2"},
        req(S.CATEGORY, "/innovation/", slug="innovationsstrategi"),
    ),
    ("/innovation/author/annieloof/feed", {}, req(S.AUTHOR, "/innovation/", slug="annieloof")),
    (
        "/innovation/author/annieloof/feed/atom",
        {},
        req(S.AUTHOR, "/innovation/", ATOM, slug="annieloof"),
    ),
    ("/author/admin/feed/", {}, req(S.AUTHOR, "/", slug="admin")),
    # comment feeds
    ("/comments/feed", {}, req(S.COMMENTS_NETWORK)),
    ("/comments/feed/atom/", {}, req(S.COMMENTS_NETWORK, fmt=ATOM)),
    ("/", {"feed": "comments-rss2"}, req(S.COMMENTS_NETWORK)),
    ("/", {"feed": "comments-atom"}, req(S.COMMENTS_NETWORK, fmt=ATOM)),
    ("/wp-commentsrss2.php", {}, req(S.COMMENTS_NETWORK)),
    ("/innovation/comments/feed", {}, req(S.COMMENTS_BLOG, "/innovation/")),
    ("/innovation/comments/feed/atom", {}, req(S.COMMENTS_BLOG, "/innovation/", ATOM)),
    ("/innovation", {"feed": "comments-rss2"}, req(S.COMMENTS_BLOG, "/innovation/")),
    ("/innovation/category/x", {"feed": "comments-rss2"}, req(S.COMMENTS_BLOG, "/innovation/")),
    # per post
    (POST + "/feed", {}, req(S.POST, "/innovation/", path=POST)),
    (POST + "/feed/", {}, req(S.POST, "/innovation/", path=POST)),
    (POST + "/feed/atom", {}, req(S.POST, "/innovation/", ATOM, path=POST)),
    (POST, {"feed": "rss2"}, req(S.POST, "/innovation/", path=POST)),
    (POST, {"feed": "comments-rss2"}, req(S.COMMENTS_POST, "/innovation/", path=POST)),
    (POST, {"feed": "comments-atom"}, req(S.COMMENTS_POST, "/innovation/", ATOM, path=POST)),
    ("/innovation", {"p": "12", "feed": "rss2"}, req(S.POST, "/innovation/", post_id=12)),
    (
        "/innovation",
        {"p": "12", "feed": "comments-atom"},
        req(S.COMMENTS_POST, "/innovation/", ATOM, post_id=12),
    ),
    ("/", {"p": "12", "feed": "rss2"}, req(S.POST, "/", post_id=12)),
    ("/om/feed", {}, req(S.POST, "/", path="/om")),
    # feed-shaped but unknown
    ("/feed/json", {}, req(S.UNKNOWN)),
    ("/innovation/feed/json/", {}, req(S.UNKNOWN, "/innovation/")),
    ("/", {"feed": "json"}, req(S.UNKNOWN)),
    ("/innovation/", {"feed": "podcast"}, req(S.UNKNOWN, "/innovation/")),
    (POST + "/feed/atom", {"feed": "nonsense"}, req(S.UNKNOWN, "/innovation/", ATOM)),
    ("/innovation", {"p": "abc", "feed": "rss2"}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation", {"p": "0", "feed": "rss2"}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation", {"p": "-3", "feed": "rss2"}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/2013/10/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/tag/logistik/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/page/2/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/category/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/author/a/b/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/author/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/innovation/search/x/feed", {}, req(S.UNKNOWN, "/innovation/")),
    ("/2013/feed/atom", {}, req(S.UNKNOWN, fmt=ATOM)),
    # not feeds
    ("/", {}, None),
    ("/innovation/", {}, None),
    (POST, {}, None),
    (POST + "/trackback", {}, None),
    ("/innovation/feed/rss2/extra", {}, None),
    ("/feeds", {}, None),
    ("/innovation/feedback", {}, None),
    ("/", {"feed": ""}, None),
    ("/", {"p": "12"}, None),
    ("/xmlrpc.php", {}, None),
]


@pytest.mark.parametrize(("path", "query", "expected"), TABLE)
def test_grammar(path: str, query: dict[str, str], expected: FeedRequest | None) -> None:
    assert parse(path, query, BLOGS) == expected


def test_trailing_slash_never_matters() -> None:
    for path, query, expected in TABLE:
        stripped = path.rstrip("/")
        assert parse(stripped + "/", query, BLOGS) == expected, path
        assert parse(stripped, query, BLOGS) == expected, path


def test_longest_configured_blog_wins() -> None:
    blogs = ("/a/", "/a/b/")
    assert parse("/a/b/feed", {}, blogs) == req(S.BLOG, "/a/b/")
    assert parse("/a/c/feed", {}, blogs) == req(S.POST, "/a/", path="/a/c")


def _key(path: str, query: dict[str, str]) -> str:
    parsed = parse(path, query, BLOGS)
    assert parsed is not None
    return parsed.key


def test_keys_equal_for_every_spelling_of_a_feed() -> None:
    spellings: list[tuple[str, dict[str, str]]] = [
        ("/innovation/feed", {}),
        ("/innovation/feed/rss2/", {}),
        ("/innovation", {"feed": "rss2"}),
        ("/innovation/feed/atom", {}),
    ]
    assert len({_key(p, q) for p, q in spellings}) == 1
    assert _key(POST + "/feed", {}) == _key(POST, {"feed": "comments-rss2"})
    assert _key("/feed", {}) != _key("/comments/feed", {})
    assert _key("/innovation/feed", {}) != _key("/transport/feed", {})


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        (req(S.NETWORK), "/feed/"),
        (req(S.NETWORK, fmt=ATOM), "/feed/atom/"),
        (req(S.BLOG, "/innovation/"), "/innovation/feed/"),
        (req(S.COMMENTS_NETWORK), "/comments/feed/"),
        (req(S.COMMENTS_BLOG, "/innovation/", ATOM), "/innovation/comments/feed/atom/"),
        (
            req(S.CATEGORY, "/innovation/", slug="innovationsstrategi"),
            "/innovation/category/innovationsstrategi/feed/",
        ),
        (req(S.AUTHOR, "/innovation/", slug="annieloof"), "/innovation/author/annieloof/feed/"),
        (req(S.POST, "/innovation/", path=POST), POST + "/feed/"),
        (
            req(S.POST, "/innovation/", path="/innovation/x/sl\u00f6jd"),
            "/innovation/x/sl%C3%B6jd/feed/",
        ),
        (
            req(S.COMMENTS_POST, "/innovation/", ATOM, post_id=12),
            "/innovation/?p=12&feed=comments-atom",
        ),
    ],
)
def test_feed_path(request_: FeedRequest, path: str) -> None:
    assert feed_path(request_) == path
    if "?" not in path:
        assert parse(path, {}, BLOGS) is not None


def test_feed_path_round_trips_through_the_grammar() -> None:
    for path, query, expected in TABLE:
        if expected is None or expected.scope is S.UNKNOWN or expected.post_id is not None:
            continue
        canonical = feed_path(expected)
        again = parse(canonical, {}, BLOGS)
        assert again is not None
        assert again.key == expected.key, (path, query)
        assert again.format is expected.format


def test_nearest_known() -> None:
    assert nearest_known(req(S.UNKNOWN, "/innovation/", ATOM)) == req(S.BLOG, "/innovation/", ATOM)
    assert nearest_known(req(S.UNKNOWN)) == req(S.NETWORK)


TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60)
SEGMENTS = st.lists(
    st.sampled_from(
        [
            "feed",
            "atom",
            "rss2",
            "rdf",
            "comments",
            "category",
            "author",
            "innovation",
            "x",
            "2013",
            "",
            "wp-rss2.php",
            "feed/",
        ]
    )
    | TEXT,
    max_size=8,
)


@given(
    segments=SEGMENTS,
    query=st.dictionaries(st.sampled_from(["feed", "p", "cat", "s"]) | TEXT, TEXT, max_size=4),
    blogs=st.lists(TEXT, max_size=3),
)
def test_fuzz_never_raises(segments: list[str], query: dict[str, str], blogs: list[str]) -> None:
    path = "/" + "/".join(segments)
    result = parse(path, query, [*BLOGS, *blogs])
    if result is not None:
        assert result.blog.startswith("/")
        assert result.blog.endswith("/")
        assert isinstance(feed_path(result), str)
        assert isinstance(result.key, str)
