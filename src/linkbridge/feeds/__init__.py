"""Feeds: the feed grammar, feedgen builders, and the version-keyed cache with conditional GET."""

from linkbridge.feeds.build import BuiltFeed, build_comments_feed, build_posts_feed
from linkbridge.feeds.context import Farewell, FeedContext, context_for, farewell_from
from linkbridge.feeds.grammar import (
    FeedFormat,
    FeedRequest,
    FeedScope,
    feed_path,
    nearest_known,
    parse_feed_path,
)
from linkbridge.feeds.serve import (
    FeedCache,
    Representation,
    conditional_response,
    content_type,
)

__all__ = [
    "BuiltFeed",
    "Farewell",
    "FeedCache",
    "FeedContext",
    "FeedFormat",
    "FeedRequest",
    "FeedScope",
    "Representation",
    "build_comments_feed",
    "build_posts_feed",
    "conditional_response",
    "content_type",
    "context_for",
    "farewell_from",
    "feed_path",
    "nearest_known",
    "parse_feed_path",
]
