"""The cheap "could this be a feed?" pre-check never hides a feed, and parsing is memoised."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from linkbridge.feeds.grammar import FeedScope, could_be_feed, parse_feed_path

BLOGS = ("/innovation/", "/transport/")
WORDS = [
    "feed",
    "FEED",
    "Feed",
    "atom",
    "rss2",
    "comments",
    "wp-rss2.php",
    "WP-ATOM.PHP",
    "wp-commentsrss2.php",
    "innovation",
    "transport",
    "category",
    "ﬀeed",
    "ſeed",
    "x",
]


@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=6), st.booleans())
@example(["innovation", "feed"], True)
@example(["wp-rss.php"], False)
@example(["FEED", "ATOM"], True)
def test_precheck_false_means_not_feed_shaped(segments: list[str], slash: bool) -> None:
    path = "/" + "/".join(segments) + ("/" if slash else "")
    if not could_be_feed(path):
        assert parse_feed_path(path, {}, BLOGS) is None


def test_precheck_is_false_for_ordinary_posts() -> None:
    assert not could_be_feed("/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch")
    assert not could_be_feed("/")
    assert could_be_feed("/innovation/feed")
    assert could_be_feed("/wp-atom.php")


def test_memoised_parse_tells_queries_apart() -> None:
    first = parse_feed_path("/innovation/", {"p": "12", "feed": "rss2"}, BLOGS)
    again = parse_feed_path("/innovation/", {"p": "12", "feed": "rss2"}, BLOGS)
    other = parse_feed_path("/innovation/", {"p": "13", "feed": "rss2"}, BLOGS)
    comments = parse_feed_path("/innovation/", {"p": "12", "feed": "comments-rss2"}, BLOGS)
    assert first is not None
    assert other is not None
    assert comments is not None
    assert first == again
    assert (first.post_id, other.post_id) == (12, 13)
    assert (first.scope, comments.scope) == (FeedScope.POST, FeedScope.COMMENTS_POST)
    assert parse_feed_path("/innovation/", {}, BLOGS) is None
    assert parse_feed_path("/innovation/", {"p": "12"}, BLOGS) is None
    other_blogs = parse_feed_path("/transport/feed", {}, ("/innovation/",))
    assert other_blogs is not None
    assert other_blogs.blog == "/"
