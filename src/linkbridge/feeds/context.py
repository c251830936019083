"""What a feed says about itself (titles, self and HTML URLs, farewell), from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from linkbridge.feeds.grammar import FeedRequest, FeedScope, blog_key, feed_path
from linkbridge.pages.notice import farewell_title, languages, notice_text
from linkbridge.settings import Settings
from linkbridge.urls import public_url


@dataclass(frozen=True)
class Farewell:
    """The final item announcing the closure (after the instant, "farewell" mode)."""

    title: str
    notices: tuple[str, ...]
    """The notice after the instant, in each of the blog's languages."""
    web_url: str
    social_url: str
    at: datetime
    """The shutdown instant: the item's date."""


@dataclass(frozen=True)
class FeedContext:
    """Everything about one feed that is not its items. URLs come from the configured base."""

    public_base_url: str
    site_title: str
    self_url: str
    """Public URL of this feed (atom:link rel=self), never built from the request Host."""
    html_url: str
    """The HTML page the feed belongs to (RSS <link>, Atom rel=alternate)."""
    blog: str = "/"
    blog_titles: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Sub-blog path ("/innovation/") -> title; "/" is the network."""
    description: str = ""
    language: str = "en"
    """The blog's language (site.language): the feed's language and its own strings."""
    farewell: Farewell | None = None

    def blog_title(self, blog: str | None = None) -> str:
        """The title of `blog` (default: this feed's blog), else the site's."""
        return self.blog_titles.get(blog or self.blog) or self.site_title


def farewell_from(settings: Settings) -> Farewell:
    """The farewell item's settings: title, both notices, both successors, the instant."""
    return Farewell(
        title=farewell_title(settings),
        notices=tuple(notice_text(settings, lang, after=True) for lang in languages(settings)),
        web_url=settings.successors.web,
        social_url=settings.social_url,
        at=settings.site.shutdown_at,
    )


def html_path(request: FeedRequest) -> str:
    """The public path of the HTML page a feed belongs to (percent-encoded)."""
    scope = request.scope
    if scope in (FeedScope.CATEGORY, FeedScope.AUTHOR):
        return quote(f"{request.blog}{scope.value}/{request.slug}/", safe="/")
    if scope in (FeedScope.POST, FeedScope.COMMENTS_POST) and request.path:
        return quote(request.path.rstrip("/") + "/", safe="/")
    return quote(request.blog, safe="/")


def context_for(
    settings: Settings,
    request: FeedRequest,
    *,
    farewell: bool,
    html_url: str | None = None,
) -> FeedContext:
    """The context of the feed `request` names; pass a post's permalink as `html_url`."""
    base = settings.site.public_base_url
    titles = {blog_key(b.path): b.title for b in settings.site.blogs if b.title}
    if settings.site.title:
        titles["/"] = settings.site.title
    return FeedContext(
        public_base_url=base,
        site_title=settings.site.title or base,
        self_url=public_url(base, feed_path(request)),
        html_url=html_url or public_url(base, html_path(request)),
        blog=request.blog,
        blog_titles=titles,
        description=notice_text(settings, settings.site.language, after=farewell),
        language=settings.site.language,
        farewell=farewell_from(settings) if farewell else None,
    )
