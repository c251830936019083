"""WordPress WXR 1.1/1.2 exports read into posts and imported linkbacks, all or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from linkbridge.errors import LinkbridgeError, RejectedImport
from linkbridge.model import Category, LinkbackDraft, LinkbackProtocol, LinkbackState, Post
from linkbridge.text import plain
from linkbridge.urls import Canonicaliser, canonical_path

WXR_VERSIONS = frozenset({"1.1", "1.2"})
WP_NS_PREFIX = "http://wordpress.org/export/"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_DC = "http://purl.org/dc/elements/1.1/"
POST_TYPES = frozenset({"post", "page"})
LIVE_STATUS = "publish"
ZERO_DATE = "0000-00-00 00:00:00"
EXCERPT_WORDS = 55
HUMAN_COMMENT_TYPES = frozenset({"", "comment"})
LINKBACK_STATES = {
    "1": LinkbackState.APPROVED,
    "0": LinkbackState.HELD,
    "spam": LinkbackState.SPAM,
}
"""comment_approved -> state; anything else (trash, post-trashed) is not imported."""

_PROLOG_DOCTYPE = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?(?:[^?]|\?(?!>))*\?>\s*|<!--(?:[^-]|-(?!->))*-->\s*)*<!DOCTYPE"
)
"""A DOCTYPE in the prolog of a UTF-8/ASCII file (other encodings: docinfo checks after)."""
_LOCATION = re.compile(r",\s*line \d+, column \d+\s*$")
_SHORTCODES = (
    r"caption|wp_caption|gallery|embed|audio|video|playlist|youtube|vimeo|slideshare|scribd"
    r"|flickr|issuu|googlemaps|contact-form-7|contact-form"
)
"""WordPress core and common plugin shortcodes; other [bracketed text] is kept."""
_ENCLOSING_SHORTCODE = re.compile(rf"\[({_SHORTCODES})\b[^\]]*\].*?\[/\1\]", re.S | re.I)
_SHORTCODE = re.compile(rf"\[/?(?:{_SHORTCODES})\b[^\]]*\]", re.I)
_TRACKBACK_BODY = re.compile(r"\s*<strong>(.*?)</strong>(.*)", re.S | re.I)
_PROBE = Canonicaliser((), ())
"""Knows no hosts: splitting with it checks that a foreign URL decodes."""


@dataclass(frozen=True)
class ImportedLinkback:
    """A pingback or trackback the old blog had stored as a comment."""

    blog: str
    post_id: int
    source_url: str
    protocol: LinkbackProtocol
    state: LinkbackState
    title: str = ""
    """Pingback: the source page's title (comment_author); trackback: its <strong> title."""
    blog_name: str = ""
    """Trackback: the sending blog's name (comment_author)."""
    excerpt: str = ""
    target_url: str = ""
    """The post's permalink."""
    created_at: datetime | None = None
    comment_id: int = 0

    def draft(self, canonicaliser: Canonicaliser) -> LinkbackDraft:
        """The store's form of this linkback (source canonicalised, host folded)."""
        return LinkbackDraft(
            blog=self.blog,
            post_id=self.post_id,
            source_url=self.source_url,
            source_canonical=canonicaliser.source_key(self.source_url),
            source_host=canonicaliser.split(self.source_url).host,
            protocol=self.protocol,
            target_url=self.target_url,
            title=self.title,
            excerpt=self.excerpt,
            blog_name=self.blog_name,
            state=self.state,
            created_at=self.created_at,
        )


@dataclass(frozen=True)
class WxrExport:
    """One sub-blog's export: its posts (tombstones included) and imported linkbacks."""

    blog: str
    base_blog_url: str
    title: str
    posts: tuple[Post, ...]
    linkbacks: tuple[ImportedLinkback, ...]
    wxr_version: str = ""
    skipped_linkbacks: int = 0
    """Pingbacks/trackbacks left out because their source URL was not a usable http(s) URL."""
    base_site_url: str = ""
    """The exporting site (the network's root on a multisite); empty when the export has none."""


class _ParseError(Exception):
    """Where and why the file broke; parse_wxr turns it into RejectedImport."""

    def __init__(self, line: int | None, message: str) -> None:  # lxml may not know the line
        super().__init__(message)
        self.line = line or 0
        self.message = message


def read_wxr(path: Path) -> WxrExport:
    """Read and parse one export file; every failure is a RejectedImport."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RejectedImport(f"wxr: {path}: cannot read: {exc.strerror or exc}") from None
    return parse_wxr(data, source_name=str(path))


def parse_wxr(data: bytes, *, source_name: str = "") -> WxrExport:
    """Parse a whole export or raise RejectedImport ("wxr: <name>: line N: ...")."""
    try:
        return _read_channel(_parse_xml(data))
    except _ParseError as exc:
        raise RejectedImport(
            f"wxr: {source_name or '<wxr>'}: line {exc.line}: {exc.message}"
        ) from None


def _parse_xml(data: bytes) -> etree._Element:
    doctype = _PROLOG_DOCTYPE.match(data)
    if doctype:  # refused before libxml2 reads any declaration
        raise _ParseError(
            data[: doctype.end()].count(b"\n") + 1, "DOCTYPE declarations are refused"
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _ParseError(exc.lineno, _LOCATION.sub("", exc.msg or "not well-formed")) from None
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise _ParseError(0, f"unreadable XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        line = data[: max(data.find(b"<!DOCTYPE"), 0)].count(b"\n") + 1
        raise _ParseError(line, "DOCTYPE declarations are refused")
    return root


def _namespace(channel: etree._Element) -> tuple[str, str]:
    """The wp: namespace and WXR version, from <wp:wxr_version>."""
    for child in channel:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith("{" + WP_NS_PREFIX):
            namespace, local = tag[1:].split("}", 1)
            if local == "wxr_version":
                version = (child.text or "").strip()
                if version not in WXR_VERSIONS or namespace != f"{WP_NS_PREFIX}{version}/":
                    raise _ParseError(_line(child), f"unsupported WXR version {version!r}")
                return namespace, version
    raise _ParseError(_line(channel), "missing wp:wxr_version: not a WordPress export")


def _line(element: etree._Element) -> int:
    line = element.sourceline
    return line if isinstance(line, int) else 0


def _all_text(element: etree._Element) -> str:
    return "".join(t for t in element.itertext() if isinstance(t, str))


def _text(parent: etree._Element, tag: str) -> str:
    child = parent.find(tag)
    return "" if child is None else _all_text(child)


def _int(parent: etree._Element, tag: str, *, required: bool) -> int:
    text = _text(parent, tag).strip()
    if not text and not required:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise _ParseError(_line(parent), f"{tag.rpartition('}')[2]} is not a number: {text!r}")
    return int(text)


def _gmt(parent: etree._Element, tag: str) -> datetime | None:
    text = _text(parent, tag).strip()
    if not text or text == ZERO_DATE:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise _ParseError(_line(parent), f"bad date {text!r}") from None


def _authors(channel: etree._Element, ns: str) -> dict[str, str]:
    """The export's authors: login -> display name (empty names left out)."""
    found = {}
    for author in channel.iterfind(f"{{{ns}}}author"):
        login = _text(author, f"{{{ns}}}author_login").strip()
        name = plain_text(_text(author, f"{{{ns}}}author_display_name"))
        if login and name:
            found[login] = name
    return found


def _blog_path(base_blog_url: str, line: int) -> str:
    """ "http://host/innovation" -> "/innovation/"; the network root -> "/"."""
    try:
        parts = urlsplit(base_blog_url)
        path = canonical_path(parts.path)
    except (ValueError, LinkbridgeError):
        raise _ParseError(line, f"bad wp:base_blog_url {base_blog_url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _ParseError(line, f"wp:base_blog_url is not an http(s) URL: {base_blog_url!r}")
    return path if path == "/" else path + "/"


def _read_channel(root: etree._Element) -> WxrExport:
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise _ParseError(_line(root), "not a WXR export: expected <rss><channel>")
    ns, version = _namespace(channel)
    base = channel.find(f"{{{ns}}}base_blog_url")
    base_blog_url = "" if base is None else _all_text(base).strip()
    if base is None or not base_blog_url:
        raise _ParseError(_line(channel if base is None else base), "missing wp:base_blog_url")
    reader = _ItemReader(ns, _blog_path(base_blog_url, _line(base)), base_blog_url)
    reader.authors = _authors(channel, ns)
    for item in channel.iterfind("item"):
        reader.read(item)
    return WxrExport(
        blog=reader.blog,
        base_blog_url=base_blog_url,
        title=_text(channel, "title").strip(),
        posts=tuple(reader.posts),
        linkbacks=tuple(reader.linkbacks),
        wxr_version=version,
        skipped_linkbacks=reader.skipped,
        base_site_url=_text(channel, f"{{{ns}}}base_site_url").strip(),
    )


class _ItemReader:
    """Turns <item> elements into posts and linkbacks, collecting them."""

    def __init__(self, ns: str, blog: str, base_blog_url: str) -> None:
        self.ns = ns
        self.blog = blog
        self.base_blog_url = base_blog_url
        self.posts: list[Post] = []
        self.linkbacks: list[ImportedLinkback] = []
        self.skipped = 0
        self.authors: dict[str, str] = {}
        """Author login -> display name (wp:author), for what readers see."""
        self._ids: set[int] = set()

    def wp(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def read(self, item: etree._Element) -> None:
        post_type = _text(item, self.wp("post_type")).strip() or "post"
        if post_type not in POST_TYPES:
            return
        post_id = _int(item, self.wp("post_id"), required=True)
        if post_id in self._ids:
            raise _ParseError(_line(item), f"duplicate post id {post_id}")
        self._ids.add(post_id)
        link = _text(item, "link").strip() or f"{self.base_blog_url.rstrip('/')}/?p={post_id}"
        try:
            path = canonical_path(urlsplit(link).path)
        except (ValueError, LinkbridgeError):
            raise _ParseError(_line(item), f"bad permalink {link!r}") from None
        status = _text(item, self.wp("status")).strip() or LIVE_STATUS
        human = 0
        for comment in item.iterfind(self.wp("comment")):
            human += self._comment(comment, post_id, link)
        self.posts.append(
            Post(
                blog=self.blog,
                post_id=post_id,
                permalink=link,
                path=path,
                slug=_text(item, self.wp("post_name")).strip(),
                title=plain_text(_text(item, "title")),
                excerpt=make_excerpt(
                    _text(item, f"{{{self.ns}excerpt/}}encoded"),
                    _text(item, f"{{{NS_CONTENT}}}encoded"),
                ),
                author=(login := _text(item, f"{{{NS_DC}}}creator").strip()),
                author_name=self.authors.get(login, ""),
                published_at=_gmt(item, self.wp("post_date_gmt")),
                modified_at=_gmt(item, self.wp("post_modified_gmt")),
                status=status,
                comment_status=_text(item, self.wp("comment_status")).strip() or "open",
                ping_status=_text(item, self.wp("ping_status")).strip() or "open",
                post_type=post_type,
                categories=_categories(item),
                human_comments=human,
                tombstone=status != LIVE_STATUS,
            )
        )

    def _comment(self, comment: etree._Element, post_id: int, link: str) -> int:
        """Collect a linkback; return 1 for an approved human comment, else 0."""
        kind = _text(comment, self.wp("comment_type")).strip()
        approved = _text(comment, self.wp("comment_approved")).strip()
        comment_id = _int(comment, self.wp("comment_id"), required=False)
        if kind in HUMAN_COMMENT_TYPES:
            return 1 if approved == "1" else 0
        if kind not in ("pingback", "trackback") or approved not in LINKBACK_STATES:
            return 0
        source = _text(comment, self.wp("comment_author_url")).strip()
        if not _usable_source(source):
            self.skipped += 1
            return 0
        author = plain_text(_text(comment, self.wp("comment_author")))
        content = _text(comment, self.wp("comment_content"))
        title, blog_name, excerpt = author, "", plain_text(content)
        if kind == "trackback":
            match = _TRACKBACK_BODY.match(content)
            title = plain_text(match.group(1)) if match else ""
            excerpt = plain_text(match.group(2)) if match else excerpt
            blog_name = author
        self.linkbacks.append(
            ImportedLinkback(
                blog=self.blog,
                post_id=post_id,
                source_url=source,
                protocol=LinkbackProtocol(kind),
                state=LINKBACK_STATES[approved],
                title=title,
                blog_name=blog_name,
                excerpt=excerpt,
                target_url=link,
                created_at=_gmt(comment, self.wp("comment_date_gmt")),
                comment_id=comment_id,
            )
        )
        return 0


def _categories(item: etree._Element) -> tuple[Category, ...]:
    found: dict[str, Category] = {}
    for element in item.iterfind("category"):
        if element.get("domain") == "category":
            slug = (element.get("nicename") or "").strip()
            found.setdefault(slug, Category(slug, plain_text(_all_text(element))))
    return tuple(found.values())


def _usable_source(url: str) -> bool:
    """An absolute http(s) URL with a host that the canonicaliser can decode."""
    try:
        split = _PROBE.split(url)
    except LinkbridgeError:
        return False
    return split.scheme in ("http", "https") and bool(split.host)


def plain_text(html: str) -> str:
    """HTML (or plain text) to one line of stored text, by the one text rule (text.plain)."""
    return plain(html)


def make_excerpt(excerpt_html: str, content_html: str) -> str:
    """The hand-written excerpt, else the content's first 55 words without shortcodes."""
    excerpt = plain_text(excerpt_html)
    if excerpt:
        return excerpt
    content = _SHORTCODE.sub(" ", _ENCLOSING_SHORTCODE.sub(" ", content_html))
    words = plain_text(content).split()
    if len(words) > EXCERPT_WORDS:
        return " ".join(words[:EXCERPT_WORDS]) + " […]"
    return " ".join(words)
