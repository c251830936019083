"""What a reader will see of a source: title, excerpt around the link, author, date, content."""

from __future__ import annotations

import re
import threading
import typing
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

from linkbridge.text import cut, plain, url_is_clean
from linkbridge.verify.outcome import MentionType, SourceFields

TITLE_CHARS = 250
EXCERPT_CHARS = 300
CONTENT_CHARS = 2000
NAME_CHARS = 200
AUTHOR_URL_CHARS = 2000
CONTEXT_CHARS = 100
"""Characters of context taken each side of the link text."""
ELLIPSIS = "[…]"
MARK_START, MARK_END = "\ue000", "\ue001"
"""Private-use characters marking the link in the page text; stripped from input first."""
MAX_MF2_DEPTH = 8
EXCERPT_SCOPE_LEVELS = 6
"""Levels above a link searched for its excerpt's text before the whole page (speed only)."""
SCOPED_EXCERPT_MIN_CHARS = 1024
"""Pages of fewer characters (markup included) take the excerpt from the whole page at once:
for them one walk of the page costs less than the search near the link (speed only)."""

# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
# fmt: on
_TAG = re.compile(r"<[^<>]*>")
_RESPONSES = (
    ("in-reply-to", MentionType.REPLY),
    ("like-of", MentionType.LIKE),
    ("repost-of", MentionType.REPOST),
    ("bookmark-of", MentionType.BOOKMARK),
)

IsTarget = Callable[[str], bool]


def title_of(doc: HtmlElement, host: str) -> str:
    """`<title>`, else the first heading, else the host."""
    for el in doc.iter("title"):
        text = plain(_TAG.sub("", el.text_content()), TITLE_CHARS)  # RCDATA: tags are text
        if text:
            return text
    for el in doc.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        text = plain(el.text_content(), TITLE_CHARS)
        if text:
            return text
    return host


def reader_text(root: HtmlElement, link: HtmlElement | None) -> str:
    """The page text as a reader sees it, blocks spaced, the link's text between markers."""
    return " ".join("".join(_reader_parts((root,), link, tails=False)).split())


def _reader_parts(
    elements: Iterable[HtmlElement], link: HtmlElement | None, *, tails: bool
) -> list[str]:
    """The text pieces of `elements` in document order (their tails too when `tails`)."""
    parts: list[str] = []
    for top in elements:
        for event, el in etree.iterwalk(top, events=("start", "end")):
            assert el is not None
            block = el.tag in _BLOCK_TAGS
            if event == "start":
                if block:
                    parts.append(" ")
                if link is not None and el is link:
                    parts.append(MARK_START + (el.get("alt") or ""))
                if el.text:
                    parts.append(el.text)
            else:
                if el is link:
                    parts.append(MARK_END)
                if block:
                    parts.append(" ")
                if el.tail and (tails or el is not top):
                    parts.append(el.tail)
    return parts


def excerpt_around(text: str, start: int, end: int) -> str:
    """About CONTEXT_CHARS each side of text[start:end], cut at words, always wrapped as
    `[…] text […]`: the shape WordPress gives a pingback's comment, cut or not."""
    before, middle, after = text[:start], text[start:end], text[end:]
    middle = cut(middle.strip(), CONTEXT_CHARS)
    if len(before) > CONTEXT_CHARS:
        before = before[-CONTEXT_CHARS:]
        space = before.find(" ")
        before = before[space + 1 :] if 0 <= space < CONTEXT_CHARS // 2 else before
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS]
        space = after.rfind(" ")
        after = after[:space] if space > CONTEXT_CHARS // 2 else after
    inner = plain(f"{before}{middle}{after}", EXCERPT_CHARS - 2 * len(ELLIPSIS) - 2)
    return f"{ELLIPSIS} {inner} {ELLIPSIS}" if inner else ""


def html_excerpt(root: HtmlElement, link: HtmlElement, *, scoped: bool = True) -> str:
    """The excerpt around `link` in `root`'s text.

    The excerpt needs only CONTEXT_CHARS of text each side of the link, so it is first looked
    for in a run of elements around the link (the link's siblings, then its ancestors'), a run
    whose text is a stretch of the page's text: with more than that each side it gives the
    very excerpt the whole page would (only the cut-off edges differ). Else (or at once when
    not `scoped`: a small page) the whole `root`."""
    node: HtmlElement = link
    for _ in range(EXCERPT_SCOPE_LEVELS if scoped else 0):
        parent = node.getparent()
        if parent is None or node is root:
            break
        siblings = list(parent)
        k = siblings.index(node)
        width = 2
        while True:
            window = siblings[max(0, k - width) : k + width + 1]
            text = " ".join("".join(_reader_parts(window, link, tails=True)).split())
            found = _marked(text)
            if found is not None:
                text, start, end = found
                if start > CONTEXT_CHARS + 1 and len(text) - end - 1 > CONTEXT_CHARS + 1:
                    return _excerpt_of(text, start, end)
            if len(window) == len(siblings):
                break
            width *= 4
        node = parent
    found = _marked(reader_text(root, link))
    return "" if found is None else _excerpt_of(*found)


def _marked(text: str) -> tuple[str, int, int] | None:
    start, end = text.find(MARK_START), text.find(MARK_END)
    return None if start < 0 or end < start else (text, start, end)


def _excerpt_of(text: str, start: int, end: int) -> str:
    middle = text[start + 1 : end]
    return excerpt_around(text[:start] + middle + text[end + 1 :], start, start + len(middle))


def parse_when(value: object) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime (naive ones taken as UTC), or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _first(props: dict[str, Any], name: str) -> Any:
    values = props.get(name)
    return values[0] if isinstance(values, list) and values else None


def _url_of(value: Any) -> str:
    """A URL from an mf2 value: a string, {"value": ...} or an h-* item with a url."""
    if isinstance(value, dict):
        props = value.get("properties")
        if isinstance(props, dict) and _first(props, "url") is not None:
            return _url_of(_first(props, "url"))
        return _url_of(value.get("value"))
    return value if isinstance(value, str) else ""


def _entries(items: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every h-entry in mf2 items, their children and nested properties, depth-capped."""
    if depth > MAX_MF2_DEPTH or not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        if "h-entry" in (item.get("type") or ()):
            yield item
        yield from _entries(item.get("children"), depth + 1)


def _mentions(entry: dict[str, Any], is_target: IsTarget) -> MentionType | None:
    props = entry.get("properties") or {}
    for name, kind in _RESPONSES:
        for value in props.get(name) or ():
            if counts_as_target(_url_of(value), is_target):
                return kind
    return None


def counts_as_target(url: str, is_target: IsTarget) -> bool:
    """`is_target` on an absolute http(s) URL; a predicate failing on junk means "no"."""
    if not url.lower().startswith(("http://", "https://")):
        return False
    try:
        return is_target(url)
    except Exception:  # the caller's predicate on hostile input
        return False


def mf2_fields(html: str, page_url: str, is_target: IsTarget) -> dict[str, Any]:
    """Fields from the page's h-entry (the one responding to the target, else the first)."""
    if "h-entry" not in html:
        return {}
    import mf2py  # here, not at the top: it pulls in BeautifulSoup, html5lib and requests,
    # a third of the server's start-up imports, for pages with microformats only

    try:
        parsed = mf2py.parse(doc=html, url=page_url, html_parser="lxml")
    except Exception:  # a third-party parser on hostile input
        return {}
    entries = list(_entries(parsed.get("items")))
    if not entries:
        return {}
    chosen, kind = entries[0], MentionType.MENTION
    for entry in entries:
        found = _mentions(entry, is_target)
        if found is not None:
            chosen, kind = entry, found
            break
    props = chosen.get("properties") or {}
    fields: dict[str, Any] = {"mention_type": kind}
    author = _first(props, "author")
    if isinstance(author, dict):
        aprops = author.get("properties") or {}
        fields["author_name"] = plain(str(_first(aprops, "name") or ""), NAME_CHARS)
        fields["author_url"] = safe_url(_url_of(_first(aprops, "url")))
        fields["author_photo"] = safe_url(_url_of(_first(aprops, "photo")))
    elif isinstance(author, str):
        url = safe_url(author)
        fields["author_url" if url else "author_name"] = url or plain(author, NAME_CHARS)
    fields["published_at"] = parse_when(_first(props, "published"))
    content = _first(props, "content")
    if isinstance(content, dict):
        content = content.get("value")
    if isinstance(content, str):
        fields["content"] = plain(content, CONTENT_CHARS)
    return {k: v for k, v in fields.items() if v}


_T = typing.TypeVar("_T")


def per_thread(make: Callable[[], _T]) -> Callable[[], _T]:
    """`make()`, made once per thread: lxml's parsers and compiled expressions may be reused
    but not shared between threads (big pages are checked in one), and making one costs about
    as much as using it on a small page."""
    local = threading.local()

    def get() -> _T:
        made: _T | None = getattr(local, "made", None)
        if made is None:
            made = local.made = make()
        return made

    return get


_with_rel_xpath = per_thread(lambda: etree.XPath("//link[@rel] | //a[@rel]"))


def _with_rel(doc: HtmlElement) -> list[HtmlElement]:
    """`<link>` and `<a>` elements with a `rel`, in document order."""
    return typing.cast(list[HtmlElement], _with_rel_xpath()(doc))


def meta_fields(doc: HtmlElement, base_url: str) -> dict[str, Any]:
    """Author and date from `<meta name=author>`, `article:*` and `<link rel=author>`."""
    fields: dict[str, Any] = {}
    for meta in doc.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        value = (meta.get("content") or "").strip()
        if not value:
            continue
        if key == "author" and "author_name" not in fields:
            fields["author_name"] = plain(value, NAME_CHARS)
        elif key == "article:author" and safe_url(value) and "author_url" not in fields:
            fields["author_url"] = safe_url(value)
        elif key == "article:author" and "author_name" not in fields:
            fields["author_name"] = plain(value, NAME_CHARS)
        elif key == "article:published_time" and "published_at" not in fields:
            fields["published_at"] = parse_when(value)
    for link in _with_rel(doc):  # document order; only those with rel
        if "author" in (link.get("rel") or "").lower().split() and link.get("href"):
            url = safe_url(urljoin(base_url, link.get("href", "").strip()))
            if url:
                fields.setdefault("author_url", url)
                break
    return {k: v for k, v in fields.items() if v}


def safe_url(value: object, cap: int = AUTHOR_URL_CHARS) -> str:
    """An absolute http(s) URL fit to show as a link (no whitespace, no unsafe character), or ""."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > cap or not value.lower().startswith(("http://", "https://")):
        return ""
    return value if url_is_clean(value) else ""


def build_fields(final_url: str, title: str, excerpt: str, **found: Any) -> SourceFields:
    """SourceFields from the pieces, every value already plain and capped."""
    return SourceFields(final_url=final_url, title=title, excerpt=excerpt, **found)
