"""RSS 2.0 and Atom 1.0 bytes for posts and approved linkbacks, deterministic, via feedgen."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import nh3
import structlog
from feedgen.feed import FeedGenerator

from linkbridge.feeds.context import Farewell, FeedContext
from linkbridge.feeds.grammar import FeedFormat
from linkbridge.model import Linkback, LinkbackState, Post, PostKey

logger = structlog.get_logger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The date of a feed with nothing in it: deterministic, never "now"."""
GENERATOR = "linkbridge"
FAREWELL_FRAGMENT = "linkbridge-farewell"
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_TEXT_PASSES = 4
"""Each pass peels one layer of escaping; past this the text is hostile and loses <, >."""


@dataclass(frozen=True)
class BuiltFeed:
    """A rendered feed: its bytes and the newest content change (Last-Modified)."""

    body: bytes
    updated: datetime
    format: FeedFormat


@dataclass(frozen=True)
class _Item:
    guid: str
    atom_id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    creator: str
    summary: str = ""
    content_html: str = ""


# ---------------------------------------------------------------- text


def plain_text(text: str) -> str:
    """Remote or stored text as one line of plain text: tags dropped, entities decoded."""
    text = _XML_UNSAFE.sub("", text)
    for _ in range(_TEXT_PASSES):
        cleaned = _XML_UNSAFE.sub("", html.unescape(nh3.clean(text, tags=set())))
        if cleaned == text:
            break
        text = cleaned
    else:
        text = text.replace("<", "").replace(">", "")
    return " ".join(text.split())


def safe_html(fragment: str) -> str:
    """Remote HTML through nh3's allowlist (scripts, handlers and javascript: URLs gone)."""
    return nh3.clean(_XML_UNSAFE.sub("", fragment))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _web_url(url: str, fallback: str) -> str:
    return url if urlsplit(url).scheme in ("http", "https") else fallback


# ---------------------------------------------------------------- items


def _post_guid(post: Post, base: str) -> str:
    """WordPress's own guid ("http://host/blog/?p=ID"), so readers do not see items anew."""
    parts = urlsplit(post.permalink)
    root = f"{parts.scheme}://{parts.netloc}" if parts.netloc else base.rstrip("/")
    return f"{root}{post.blog}?p={post.post_id}"


def _post_item(post: Post, ctx: FeedContext) -> _Item:
    published = _utc(post.published_at or post.modified_at or EPOCH)
    updated = max(published, _utc(post.modified_at or published))
    guid = _post_guid(post, ctx.public_base_url)
    return _Item(
        guid=guid,
        atom_id=guid,
        title=plain_text(post.title) or f"#{post.post_id}",
        link=_web_url(post.permalink, ctx.html_url),
        published=published,
        updated=updated,
        creator=plain_text(post.author),
        summary=plain_text(post.excerpt),
    )


def _linkback_item(linkback: Linkback, post: Post, ctx: FeedContext, *, per_post: bool) -> _Item:
    name = plain_text(linkback.display_name) or plain_text(linkback.source_host)
    post_title = plain_text(post.title) or f"#{post.post_id}"
    title = f"By: {name}" if per_post else f"Comment on {post_title} by {name}"
    published = _utc(linkback.created_at)
    ident = f"linkbridge-linkback-{linkback.id}"
    return _Item(
        guid=ident,
        atom_id=f"{ctx.public_base_url.rstrip('/')}/#{ident}",
        title=title,
        link=_web_url(linkback.source_url, post.permalink),
        published=published,
        updated=max(published, _utc(linkback.updated_at)),
        creator=plain_text(linkback.author_name) or name,
        summary=plain_text(linkback.excerpt),
        content_html=safe_html(linkback.content) if linkback.content else "",
    )


def _farewell_item(farewell: Farewell, ctx: FeedContext) -> _Item:
    at = _utc(farewell.at)
    paragraphs = [
        f"<p>{html.escape(plain_text(t))}</p>"
        for t in (farewell.notice_sv, farewell.notice_en)
        if plain_text(t)
    ]
    links = " · ".join(
        f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
        for url in (farewell.web_url, farewell.social_url)
        if url
    )
    body = "".join(paragraphs) + (f"<p>{links}</p>" if links else "")
    ident = f"{ctx.public_base_url.rstrip('/')}/#{FAREWELL_FRAGMENT}"
    return _Item(
        guid=ident,
        atom_id=ident,
        title=plain_text(farewell.title) or ctx.site_title,
        link=farewell.web_url or ctx.html_url,
        published=at,
        updated=at,
        creator=plain_text(ctx.site_title),
        summary=" ".join(plain_text(t) for t in (farewell.notice_sv, farewell.notice_en)).strip(),
        content_html=body,
    )


def _is_live(post: Post) -> bool:
    return not post.tombstone and post.status == "publish" and post.post_type == "post"


def _newest_first(items: Iterable[tuple[datetime, str, _Item]]) -> list[_Item]:
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]), reverse=True)]


# ---------------------------------------------------------------- feeds


def build_posts_feed(
    posts: Sequence[Post],
    ctx: FeedContext,
    *,
    fmt: FeedFormat,
    qualifier: str = "",
    limit: int | None = None,
    changed_at: datetime | None = None,
) -> BuiltFeed:
    """A posts feed: the blog's title (plus " » qualifier" for a category or author)."""
    ranked = _newest_first(
        (item.published, f"{post.blog}|{post.post_id:012d}", item)
        for post in posts
        if _is_live(post)
        for item in (_post_item(post, ctx),)
    )
    title = ctx.blog_title() + (f" » {plain_text(qualifier)}" if qualifier else "")
    return _render(ctx, title, ranked[:limit] if limit is not None else ranked, fmt, changed_at)


def build_comments_feed(
    linkbacks: Sequence[Linkback],
    posts: Mapping[PostKey, Post],
    ctx: FeedContext,
    *,
    fmt: FeedFormat,
    post: Post | None = None,
    limit: int | None = None,
    changed_at: datetime | None = None,
) -> BuiltFeed:
    """Approved linkbacks, shaped like WordPress comment feeds; `post` makes it per-post."""
    entries: list[tuple[datetime, str, _Item]] = []
    for linkback in linkbacks:
        if linkback.state is not LinkbackState.APPROVED:
            logger.warning("feed_linkback_skipped", linkback_id=linkback.id, state=linkback.state)
            continue
        if post is not None and linkback.post_key != post.key:
            continue
        target = post or posts.get(linkback.post_key)
        if target is None or target.tombstone:
            continue
        item = _linkback_item(linkback, target, ctx, per_post=post is not None)
        entries.append((item.published, f"{linkback.id:012d}", item))
    ranked = _newest_first(entries)
    if post is not None:
        title = f"Comments on: {plain_text(post.title) or post.post_id}"
    else:
        title = f"Comments for {ctx.blog_title()}"
    return _render(ctx, title, ranked[:limit] if limit is not None else ranked, fmt, changed_at)


def _render(
    ctx: FeedContext,
    title: str,
    items: list[_Item],
    fmt: FeedFormat,
    changed_at: datetime | None,
) -> BuiltFeed:
    if ctx.farewell is not None:
        items = [_farewell_item(ctx.farewell, ctx), *items]
    moments = [i.updated for i in items] + [i.published for i in items]
    if changed_at is not None:
        moments.append(_utc(changed_at))
    updated = max(moments, default=EPOCH)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=True, rss=True)
    fg.id(ctx.self_url)
    fg.title(title)
    fg.description(plain_text(ctx.description) or title)
    mime = "application/atom+xml" if fmt is FeedFormat.ATOM else "application/rss+xml"
    fg.link(href=ctx.self_url, rel="self", type=mime)
    fg.link(href=ctx.html_url, rel="alternate", type="text/html")  # last one is RSS <link>
    fg.language(ctx.language)
    fg.generator(GENERATOR)
    fg.author(name=plain_text(ctx.site_title) or GENERATOR)
    fg.lastBuildDate(updated)  # also atom:updated; feedgen's default would be "now"
    for item in items:
        _add_entry(fg, item, fmt)
    body = fg.atom_str(pretty=False) if fmt is FeedFormat.ATOM else fg.rss_str(pretty=False)
    return BuiltFeed(bytes(body), updated, fmt)


def _add_entry(fg: FeedGenerator, item: _Item, fmt: FeedFormat) -> None:
    entry = fg.add_entry(order="append")
    entry.title(item.title)
    entry.link(href=item.link, rel="alternate")
    entry.published(item.published)
    entry.updated(item.updated)  # feedgen's default would be "now"
    if item.creator:
        entry.dc.dc_creator(item.creator)
    if fmt is FeedFormat.ATOM:
        entry.id(item.atom_id)
        if item.creator:
            entry.author(name=item.creator)
        if item.summary:
            entry.summary(item.summary)
        if item.content_html:
            entry.content(item.content_html, type="html")
        return
    entry.guid(item.guid, permalink=False)
    if item.summary or not item.content_html:
        entry.description(item.summary or item.title)
    if item.content_html:
        entry.content(item.content_html)
