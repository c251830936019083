"""Does a fetched source link to the target? HTML, JSON and plain text, and what it shows."""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from linkbridge.text import decode_page
from linkbridge.urls import fold_host
from linkbridge.verify import extract
from linkbridge.verify.outcome import SourceFields

MAX_JSON_DEPTH = 32
MAX_JSON_STRINGS = 100000
LINK_TAGS = {"a": "href", "area": "href"}
WEBMENTION_TAGS = {
    **LINK_TAGS,
    "img": "src",
    "video": "src",
    "audio": "src",
    "source": "src",
    "link": "href",
}
_TEXT_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^]+", re.I)
_URL_TRAILERS = ".,;:!?)]}'\""

IsTarget = Callable[[str], bool]


@dataclass(frozen=True)
class LinkReport:
    """What inspecting a body found: a link to the target, a 410 marker, the reader fields."""

    found: bool
    gone: bool = False
    fields: SourceFields | None = None


def inspect(
    body: bytes,
    *,
    content_type: str,
    charset: str | None,
    page_url: str,
    is_target: IsTarget,
    webmention: bool = False,
    target_hosts: frozenset[str] | None = None,
) -> LinkReport:
    """Look for a link to the target in `body`; `is_target(absolute_url)` decides what counts.

    `target_hosts` (folded, see urls.fold_host), when given, are the only hosts `is_target`
    can say yes to: links to any other host are passed over without resolving them. Pure CPU
    work on bytes (safe to run in a thread when `is_target` is). Never raises on odd input:
    an unparsable body simply has no link.
    """
    text = decode_page(body, charset).replace(extract.MARK_START, "").replace(extract.MARK_END, "")
    kind = _kind(content_type, text)
    if kind == "json":
        return _inspect_json(text, page_url, is_target)
    if kind == "text":
        return _inspect_text(text, page_url, is_target)
    if kind == "html":
        return _inspect_html(text, page_url, is_target, webmention, target_hosts)
    return LinkReport(found=False)


def _kind(content_type: str, text: str) -> str:
    ctype = content_type.strip().lower()
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    if ctype == "text/plain":
        return "text"
    if ctype in ("", "application/octet-stream"):
        head = text[:512].lstrip()
        if head.startswith("<"):
            return "html"
        return "json" if head.startswith(("{", "[")) else "text"
    return "other"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


# ---------------------------------------------------------------- HTML


_XML_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_parser = extract.per_thread(
    lambda: lxml.html.HTMLParser(
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",
        collect_ids=False,
    )
)
"""This thread's parser (see `extract.per_thread`)."""


def parse_html(text: str) -> HtmlElement | None:
    """Parse with lxml: no network, no comments or processing instructions, no scripts."""
    parser = _parser()
    # libxml2 keeps control characters in text nodes, but lxml refuses them when a node is
    # rewritten (drop_tree merges tails): blank them first, as a browser would ignore them.
    text = _XML_CONTROL.sub(" ", text)
    try:
        doc = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.LxmlError, ValueError):
        return None
    for el in list(doc.iter("script", "style")):
        typing.cast(HtmlElement, el).drop_tree()
    return doc


def _base_url(doc: HtmlElement, page_url: str) -> str:
    for base in doc.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            try:
                joined = urljoin(page_url, href)
            except ValueError:
                return page_url
            return joined if joined.lower().startswith(("http://", "https://")) else page_url
    return page_url


def says_gone(doc: HtmlElement) -> bool:
    """`<meta http-equiv="Status" content="410 ...">`."""
    for meta in doc.iter("meta"):
        if (meta.get("http-equiv") or "").strip().lower() == "status":
            return (meta.get("content") or "").strip().startswith("410")
    return False


_ABSOLUTE = re.compile(r"(?:https?:)?//", re.I)
_STRIPPED_BY_URLSPLIT = re.compile(r"[\x00-\x20\x7f]")


def _elsewhere(ref: str, base_host: str, hosts: frozenset[str]) -> bool:
    """True when `ref` (stripped) certainly resolves to a host outside `hosts`: an http(s) or
    scheme-relative URL naming another host, or a relative one on a base outside them.
    Anything else (other schemes, "http:x", an unparsable host, characters urlsplit would
    drop) is left to `is_target`."""
    if _STRIPPED_BY_URLSPLIT.search(ref):
        return False
    if _ABSOLUTE.match(ref):
        try:
            host = fold_host(urlsplit(ref).hostname or "")
        except ValueError:
            return False
        return bool(host) and host not in hosts
    if ":" in ref.split("/", 1)[0]:  # a scheme of its own ("mailto:", "http:x")
        return False
    return bool(base_host) and base_host not in hosts


def find_link(
    doc: HtmlElement, base_url: str, is_target: IsTarget, *, webmention: bool = False,
    target_hosts: frozenset[str] | None = None,
) -> HtmlElement | None:
    """The element linking to the target: the first `a`, else (webmention) any media/link.

    With `target_hosts`, a link to another host is passed over before it is joined to the base
    and resolved (most links on a page: the same answer, a fraction of the work)."""
    tags = WEBMENTION_TAGS if webmention else LINK_TAGS
    fallback: HtmlElement | None = None
    base_host = fold_host(_host(base_url))
    for el in doc.iter(*tags):
        ref = (el.get(tags[el.tag]) or "").strip()
        if not ref:
            continue
        if target_hosts is not None and _elsewhere(ref, base_host, target_hosts):
            continue
        try:
            url = urljoin(base_url, ref)
        except ValueError:
            continue
        if extract.counts_as_target(url, is_target):
            if el.tag in LINK_TAGS:
                return el
            fallback = fallback if fallback is not None else el
    return fallback


def _inspect_html(
    text: str, page_url: str, is_target: IsTarget, webmention: bool,
    target_hosts: frozenset[str] | None = None,
) -> LinkReport:
    doc = parse_html(text)
    if doc is None:
        return LinkReport(found=False)
    if says_gone(doc):
        return LinkReport(found=False, gone=True)
    base_url = _base_url(doc, page_url)
    link = find_link(doc, base_url, is_target, webmention=webmention, target_hosts=target_hosts)
    if link is None:
        return LinkReport(found=False)
    body = doc.find(".//body")
    excerpt = extract.html_excerpt(body if body is not None else doc, link,
                                   scoped=len(text) >= extract.SCOPED_EXCERPT_MIN_CHARS)
    found = extract.meta_fields(doc, base_url)
    found.update(extract.mf2_fields(text, base_url, is_target))
    title = extract.title_of(doc, _host(page_url))
    return LinkReport(found=True, fields=extract.build_fields(page_url, title, excerpt, **found))


# ---------------------------------------------------------------- JSON and text


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def _inspect_json(text: str, page_url: str, is_target: IsTarget) -> LinkReport:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return _inspect_text(text, page_url, is_target)  # cut at the cap: check the part read
    for count, value in enumerate(_strings(data)):
        if count >= MAX_JSON_STRINGS:
            break
        if extract.counts_as_target(value.strip(), is_target):
            host = _host(page_url)
            return LinkReport(found=True, fields=extract.build_fields(page_url, host, ""))
    return LinkReport(found=False)


def _inspect_text(text: str, page_url: str, is_target: IsTarget) -> LinkReport:
    """A URL in the text that names the target and ends at a URL boundary."""
    for match in _TEXT_URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILERS)
        if extract.counts_as_target(url, is_target):
            flat = " ".join(
                text[max(0, match.start() - 400) : match.start() + len(url) + 400].split()
            )
            start = flat.find(url)
            excerpt = extract.excerpt_around(flat, start, start + len(url)) if start >= 0 else ""
            host = _host(page_url)
            return LinkReport(found=True, fields=extract.build_fields(page_url, host, excerpt))
    return LinkReport(found=False)
