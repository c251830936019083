"""What a feed shows and its bytes, from settings, the post registry and the store: one code
path for linkbridge's own answers (web/feeds.py) and the files `export nginx` writes, so both
carry the same body and ETag."""

from __future__ import annotations

from linkbridge.feeds.build import BuiltFeed, build_comments_feed, build_posts_feed
from linkbridge.feeds.context import context_for
from linkbridge.feeds.grammar import (
    COMMENT_SCOPES,
    FeedRequest,
    FeedScope,
    feed_path,
    nearest_known,
)
from linkbridge.feeds.serve import Representation
from linkbridge.model import LinkbackState, Post, PostKey
from linkbridge.phase import Phase
from linkbridge.posts.registry import PostRegistry
from linkbridge.settings import Settings
from linkbridge.store import Store
from linkbridge.urls import public_url

Plan = tuple[FeedRequest, Post | None, list[Post], str]
"""What to build: the feed, its post (post scopes), the posts it lists, the title qualifier."""


def find_post(settings: Settings, registry: PostRegistry, feed: FeedRequest) -> Post | None:
    """The live post a post feed names, or None."""
    if feed.post_id is not None:
        post = registry.get(PostKey(feed.blog, feed.post_id))
    else:
        found = registry.resolve(public_url(settings.site.public_base_url, feed.path + "/"))
        post = found.post
    return None if post is None or post.tombstone else post


def posts_for(registry: PostRegistry, feed: FeedRequest) -> tuple[list[Post], str]:
    """The posts a posts feed lists, and the title qualifier (category or author)."""
    posts = [
        p
        for p in registry.posts(None if feed.blog == "/" else feed.blog)
        if p.post_type == "post" and not p.tombstone
    ]
    if feed.scope == FeedScope.CATEGORY:
        posts = [p for p in posts if any(c.slug.casefold() == feed.slug for c in p.categories)]
        names = {c.name for p in posts for c in p.categories if c.slug.casefold() == feed.slug}
        return posts, next(iter(names), feed.slug)
    if feed.scope == FeedScope.AUTHOR:
        posts = [p for p in posts if p.author.casefold() == feed.slug]
        # titled as WordPress does: the author's display name from the export, not the login
        return posts, next((p.author_name for p in posts if p.author_name), feed.slug)
    return posts, ""


def plan_feed(
    settings: Settings, registry: PostRegistry, feed: FeedRequest, phase: Phase
) -> Plan | str:
    """What a feed shows, or (before the instant) the URL of the nearest known feed to
    redirect to."""
    post: Post | None = None
    if feed.scope in (FeedScope.POST, FeedScope.COMMENTS_POST):
        post = find_post(settings, registry, feed)
    qualifier = ""
    posts: list[Post] = []
    if feed.scope not in COMMENT_SCOPES and feed.scope != FeedScope.UNKNOWN:
        posts, qualifier = posts_for(registry, feed)
    known = (
        feed.scope != FeedScope.UNKNOWN
        and (post is not None or feed.scope not in (FeedScope.POST, FeedScope.COMMENTS_POST))
        and (feed.scope not in (FeedScope.CATEGORY, FeedScope.AUTHOR) or posts)
    )
    if not known and phase == Phase.BEFORE:
        return public_url(settings.site.public_base_url, feed_path(nearest_known(feed)))
    if not known:  # after the instant: the nearest feed's farewell, no hop to a retired URL
        feed, post = nearest_known(feed), None
        posts, qualifier = posts_for(registry, feed)
    return feed, post, posts, qualifier


async def build_representation(
    settings: Settings, registry: PostRegistry, store: Store, plan: Plan, phase: Phase
) -> Representation:
    """The feed's bytes (identity and gzip) with their validators."""
    feed, post, posts, qualifier = plan
    ctx = context_for(
        settings, feed, farewell=phase == Phase.AFTER, html_url=post.permalink if post else None
    )
    limit = settings.feeds.items
    built: BuiltFeed
    if feed.scope in COMMENT_SCOPES:
        blog = (
            post.blog if post else (None if feed.scope == FeedScope.COMMENTS_NETWORK else feed.blog)
        )
        post_id = post.post_id if post else None
        linkbacks = await store.list_linkbacks(
            states=[LinkbackState.APPROVED], blog=blog, post_id=post_id, limit=limit
        )
        # only the posts these linkbacks name: a dict of every post per build would cost
        # O(posts) for each of a big blog's thousands of post feeds
        posts_by_key = {
            lb.post_key: found for lb in linkbacks if (found := registry.get(lb.post_key))
        }
        built = build_comments_feed(
            linkbacks,
            posts_by_key,
            ctx,
            fmt=feed.format,
            post=post,
            limit=limit,
            changed_at=await store.last_change(blog=blog, post_id=post_id),
        )
    else:
        built = build_posts_feed(posts, ctx, fmt=feed.format, qualifier=qualifier, limit=limit)
    return Representation.of_feed(built)
