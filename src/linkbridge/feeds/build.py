"""RSS 2.0 and Atom 1.0 bytes for posts and approved linkbacks, deterministic, via feedgen."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

import structlog

from linkbridge.feeds.context import Farewell, FeedContext
from linkbridge.feeds.grammar import FeedFormat
from linkbridge.model import Linkback, LinkbackProtocol, LinkbackState, Post, PostKey
from linkbridge.text import html_text, plain
from linkbridge.words import words_for

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

logger = structlog.get_logger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The date of a feed with nothing in it: deterministic, never "now"."""
PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
"""No date in a feed is earlier: validators and readers take older ones for a broken clock."""
GENERATOR = "linkbridge"
FAREWELL_FRAGMENT = "linkbridge-farewell"
_URI_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9;/?:@&=+$.\-_!~*'()%,#]*")
"""A URL made only of the characters RFC 2396 allows (feed validators check exactly these)."""
_URI_SAFE = ";/?:@&=+$,!~*'()%"


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
    """When the item's content last changed (atom:updated)."""
    creator: str
    summary: str = ""
    content_html: str = ""
    changed: datetime | None = None
    """When the stored row last changed (a moderation decision), for the feed's own date."""


# ---------------------------------------------------------------- text


def _uri(url: str) -> str:
    """`url` with only URI characters: an IRI's host in IDNA, the rest percent-encoded."""
    if _URI_CHARS.fullmatch(url):
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = quote(userinfo, safe=_URI_SAFE) + at + _uri_host(hostport)
    path, query, fragment = (quote(p, safe=_URI_SAFE) for p in parts[2:])
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _uri_host(hostport: str) -> str:
    if hostport.startswith("["):  # an IPv6 literal: urlsplit has checked its brackets
        return quote(hostport, safe="[]:")
    host, colon, port = hostport.partition(":")
    if not host.isascii():  # not a valid name: percent-encoded below (a dead, harmless link)
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return quote(host, safe="") + colon + quote(port, safe="")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _shown(moment: datetime) -> datetime:
    """A date as the feed shows it: never before PLAUSIBLE (an undated post, an empty feed)."""
    return max(moment, PLAUSIBLE)


def _web_url(url: str, fallback: str) -> str:
    """`url` as a URI if it is a well-formed http(s) URL, else `fallback`."""
    try:
        return _uri(url) if urlsplit(url).scheme in ("http", "https") else _uri(fallback)
    except ValueError:  # e.g. "http://[nonsense/": an unparsable host
        return _uri(fallback)


# ---------------------------------------------------------------- items


def _post_guid(post: Post, base: str) -> str:
    """WordPress's own guid ("http://host/blog/?p=ID"), so readers do not see items anew."""
    parts = urlsplit(post.permalink)
    root = f"{parts.scheme}://{parts.netloc}" if parts.netloc else base.rstrip("/")
    return f"{root}{post.blog}?p={post.post_id}"


def _published(post: Post) -> datetime:
    return _utc(post.published_at or post.modified_at or EPOCH)


def _post_item(post: Post, ctx: FeedContext) -> _Item:
    published = _published(post)
    updated = max(published, _utc(post.modified_at or published))
    guid = _post_guid(post, ctx.public_base_url)
    return _Item(
        guid=guid,
        atom_id=guid,
        title=plain(post.title) or f"#{post.post_id}",
        link=_web_url(post.permalink, ctx.html_url),
        published=published,
        updated=updated,
        creator=plain(post.author_name or post.author),
        summary=plain(post.excerpt),
    )


def comment_shape(linkback: Linkback) -> tuple[str, str]:
    """(author, content HTML) of a linkback as WordPress shows the comment it makes.

    TrackBack: the sender's `blog_name` (else the source host); `<strong>title</strong>` and
    the excerpt as sent. Pingback: the source page's title; the context around the link
    (`[…] text […]`). Webmention: the h-entry's author and content when present, else as a
    pingback. Everything is stored as plain text, so it is escaped here, never markup.
    """
    host = plain(linkback.source_host)
    if linkback.protocol is LinkbackProtocol.TRACKBACK:
        title, excerpt = plain(linkback.title), plain(linkback.excerpt)
        parts = [f"<p><strong>{html.escape(title, quote=False)}</strong></p>"] if title else []
        parts += [html_text(excerpt)] if excerpt else []
        return plain(linkback.blog_name) or host, "".join(parts)
    if linkback.protocol is LinkbackProtocol.WEBMENTION and (
        linkback.author_name or linkback.content
    ):
        author = plain(linkback.author_name) or plain(linkback.title) or host
        return author, html_text(plain(linkback.content) or plain(linkback.excerpt))
    return plain(linkback.title) or plain(linkback.blog_name) or host, html_text(
        plain(linkback.excerpt)
    )


def _linkback_item(linkback: Linkback, post: Post, ctx: FeedContext, *, per_post: bool) -> _Item:
    name, content = comment_shape(linkback)
    post_title = plain(post.title) or f"#{post.post_id}"
    t = words_for(ctx.language)
    title = t("feed.by", name=name) if per_post else t(
        "feed.comment_by", title=post_title, name=name
    )
    published = _utc(linkback.created_at)
    verified = _utc(linkback.verified_at) if linkback.verified_at else published
    ident = f"linkbridge-linkback-{linkback.id}"
    link = _web_url(linkback.source_url, post.permalink)
    return _Item(
        guid=ident,
        atom_id=f"{ctx.public_base_url.rstrip('/')}/#{ident}",
        title=title,
        link=link,
        published=published,
        updated=max(published, verified),  # a re-send re-verifies; a decision is no edit
        creator=name,
        # The comment's text, as WordPress's description is its comment text: the same words
        # as the content (a title-only trackback too), so RSS carries both description and
        # content:encoded, Atom both summary and content.
        summary=plain(content) or plain(linkback.excerpt),
        content_html=content,  # stored as text: escaped, never markup
        changed=_utc(linkback.updated_at),
    )


def _farewell_item(farewell: Farewell, ctx: FeedContext) -> _Item:
    at = _utc(farewell.at)
    paragraphs = [
        f"<p>{html.escape(plain(t))}</p>"
        for t in farewell.notices
        if plain(t)
    ]
    links = " · ".join(
        f'<a href="{html.escape(_uri(url))}">{html.escape(url)}</a>'
        for url in (farewell.web_url, farewell.social_url)
        if url
    )
    body = "".join(paragraphs) + (f"<p>{links}</p>" if links else "")
    ident = f"{ctx.public_base_url.rstrip('/')}/#{FAREWELL_FRAGMENT}"
    return _Item(
        guid=ident,
        atom_id=ident,
        title=plain(farewell.title) or _site_name(ctx),
        link=_web_url(farewell.web_url, ctx.html_url),
        published=at,
        updated=at,
        creator=_site_name(ctx),
        summary=" ".join(plain(t) for t in farewell.notices).strip(),
        content_html=body,
    )


def _site_name(ctx: FeedContext) -> str:
    """The site's title as plain text, never empty (RSS and Atom both require titles)."""
    return plain(ctx.site_title) or ctx.public_base_url


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
    # ranked on the publication date alone, so only the posts shown become items (a
    # listing of thousands of posts cleans the text of `limit` of them, not of all)
    chosen = sorted(
        ((_published(post), f"{post.blog}|{post.post_id:012d}", post)
         for post in posts if _is_live(post)),
        key=lambda t: (t[0], t[1]), reverse=True,
    )
    ranked = [_post_item(post, ctx) for _, _, post in
              (chosen[:limit] if limit is not None else chosen)]
    title = ctx.blog_title() + (f" » {plain(qualifier)}" if qualifier else "")
    return _render(ctx, title, ranked, fmt, changed_at)


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
        title = words_for(ctx.language)("feed.comments_on", title=plain(post.title) or post.post_id)
    else:
        title = words_for(ctx.language)("feed.comments_for", title=ctx.blog_title())
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
    moments = [m for i in items for m in (i.updated, i.published, i.changed) if m is not None]
    if changed_at is not None:
        moments.append(_utc(changed_at))
    updated = max(moments, default=EPOCH)
    from feedgen.feed import FeedGenerator  # here, not at start-up: it loads dateutil

    fg = FeedGenerator()
    fg.load_extension("dc", atom=True, rss=True)
    title = title.strip() or _site_name(ctx)
    self_url, html_url = _uri(ctx.self_url), _uri(ctx.html_url)
    fg.id(self_url)
    fg.title(title)
    fg.description(plain(ctx.description) or title)
    mime = "application/atom+xml" if fmt is FeedFormat.ATOM else "application/rss+xml"
    fg.link(href=self_url, rel="self", type=mime)
    fg.link(href=html_url, rel="alternate", type="text/html")  # last one is RSS <link>
    fg.language(ctx.language)
    fg.generator(GENERATOR)
    fg.author(name=_site_name(ctx))  # Atom: every entry inherits it
    fg.lastBuildDate(_shown(updated))  # also atom:updated; feedgen's default would be "now"
    for item in items:
        _add_entry(fg, item, fmt)
    body = fg.atom_str(pretty=False) if fmt is FeedFormat.ATOM else fg.rss_str(pretty=False)
    return BuiltFeed(bytes(body), updated, fmt)


def _add_entry(fg: FeedGenerator, item: _Item, fmt: FeedFormat) -> None:
    entry = fg.add_entry(order="append")
    entry.title(item.title)
    entry.link(href=item.link, rel="alternate")
    entry.published(_shown(item.published))
    entry.updated(_shown(item.updated))  # feedgen's default would be "now"
    if item.creator:
        entry.dc.dc_creator(item.creator)
    if fmt is FeedFormat.ATOM:
        entry.id(item.atom_id)
        if item.creator:
            entry.author(name=item.creator)
        if item.summary or not item.content_html:  # an entry without content needs a summary
            entry.summary(item.summary or item.title)
        if item.content_html:
            entry.content(item.content_html, type="html")
        return
    entry.guid(item.guid, permalink=False)
    if item.summary or not item.content_html:
        entry.description(item.summary or item.title)
    if item.content_html:
        entry.content(item.content_html)
