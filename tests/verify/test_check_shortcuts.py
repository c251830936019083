"""The shortcuts of the link check give the very answers the long way gives.

`target_hosts` passes over links to other hosts before resolving them; the excerpt is first
looked for near the link rather than in the whole page; small pages are checked on the event
loop (`fetch.parse_inline_max_bytes`), bigger ones in a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import lxml.html
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge.verify import OutcomeKind, SafeFetcher, Verifier
from linkbridge.verify.extract import (
    MARK_END,
    MARK_START,
    excerpt_around,
    html_excerpt,
    reader_text,
)
from linkbridge.verify.links import find_link, inspect, parse_html
from tests.support.verify import CANON, TARGET, target_predicate

IS_TARGET = target_predicate()
HOSTS = CANON.site_hosts
PAGE = "http://blogg.example/2013/10/omvarldsspaning/"
TARGET_PATH = "/innovation/innovationsstrategi/innovationsupphandling/"

HREFS = st.sampled_from([
    TARGET, TARGET.replace("http://www.", "https://"), TARGET.replace("http://", "//"),
    TARGET.replace("http://www.naringsbloggen.se", ""), "/innovation/", "../innovation/",
    "http://blogg.example/x", "//blogg.example/y", "https://annan.example/", "mailto:a@b.se",
    "http:innovation/", "HTTP://WWW.NARINGSBLOGGEN.SE/innovation/innovationsstrategi/"
    "innovationsupphandling/", "http://naringsbloggen.se./innovation/innovationsstrategi/"
    "innovationsupphandling/", "/\t/www.naringsbloggen.se" + TARGET_PATH, "h\ttp://naringsbloggen.se"
    + TARGET_PATH, "/\n/naringsbloggen.se" + TARGET_PATH,
    "http://[::1/", "http://user@naringsbloggen.se:80/innovation/innovationsstrategi/"
    "innovationsupphandling/", "?p=1", "#top", "javascript:void(0)", "http://", "//",
])
BASES = st.sampled_from([PAGE, "http://www.naringsbloggen.se/annat/", "https://naringsbloggen.se/"])


@settings(max_examples=300, deadline=None)
@given(hrefs=st.lists(HREFS | st.text(max_size=30), min_size=1, max_size=8), base=BASES,
       webmention=st.booleans())
def test_passing_over_other_hosts_finds_the_same_link(
    hrefs: list[str], base: str, webmention: bool
) -> None:
    body = "".join(f"<p><a href='{h.replace(chr(39), '')}'>l{i}</a> <img src='{h}'></p>"
                   for i, h in enumerate(hrefs))
    doc = parse_html(f"<html><body>{body}</body></html>")
    assert doc is not None
    slow = find_link(doc, base, IS_TARGET, webmention=webmention)
    fast = find_link(doc, base, IS_TARGET, webmention=webmention, target_hosts=HOSTS)
    assert fast is slow


def test_links_to_other_hosts_are_never_resolved() -> None:
    asked: list[str] = []

    def is_target(url: str) -> bool:
        asked.append(url)
        return IS_TARGET(url)

    links = "".join(f"<a href='https://annan{i}.example/'>x</a><a href='/rel{i}'>y</a>"
                    for i in range(50))
    body = f"<html><body>{links}<a href='{TARGET}'>målet</a></body></html>".encode()
    report = inspect(body, content_type="text/html", charset="utf-8", page_url=PAGE,
                     is_target=is_target, target_hosts=HOSTS)
    assert report.found
    assert asked == [TARGET]


WORDS = st.text(alphabet=" abcdeåäö\n\t.,", max_size=60)
TAGS = st.sampled_from(["p", "div", "span", "em", "li", "section", "b"])


@st.composite
def pages(draw: st.DrawFn) -> str:
    """A random tree of elements and text with one link to the target somewhere in it."""

    def tree(depth: int) -> str:
        if depth > 4 or draw(st.booleans()):
            return draw(WORDS)
        tag = draw(TAGS)
        children = [tree(depth + 1) for _ in range(draw(st.integers(0, 4)))]
        return f"<{tag}>{draw(WORDS)}{''.join(children)}</{tag}>{draw(WORDS)}"

    before = [tree(0) for _ in range(draw(st.integers(0, 5)))]
    after = [tree(0) for _ in range(draw(st.integers(0, 5)))]
    wrap = draw(st.lists(TAGS, max_size=4))
    link = f"{draw(WORDS)}<a href='{TARGET}'>{draw(WORDS)}</a>{draw(WORDS)}"
    for tag in wrap:
        link = f"<{tag}>{draw(WORDS)}{link}{tree(2)}</{tag}>{draw(WORDS)}"
    return f"<html><body>{''.join(before)}{link}{''.join(after)}</body></html>"


def whole_page_excerpt(root: Any, link: Any) -> str:
    """The excerpt as it was always made: from the text of the whole `root`."""
    text = reader_text(root, link)
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        return ""
    middle = text[start + 1 : end]
    return excerpt_around(text[:start] + middle + text[end + 1 :], start, start + len(middle))


@settings(max_examples=300, deadline=None)
@given(page=pages())
def test_the_excerpt_near_the_link_is_the_whole_page_excerpt(page: str) -> None:
    doc = parse_html(page)
    assert doc is not None
    link = find_link(doc, PAGE, IS_TARGET)
    assert link is not None
    body = doc.find(".//body")
    root = body if body is not None else doc
    assert html_excerpt(root, link) == whole_page_excerpt(root, link)
    assert html_excerpt(root, link, scoped=False) == whole_page_excerpt(root, link)


def test_the_excerpt_of_a_long_page_is_found_near_the_link() -> None:
    filler = "<p>" + "ord " * 60 + "</p>"
    page = (f"<html><body><nav>{filler * 20}</nav><article><p>{'före ' * 40}"
            f"<a href='{TARGET}'>länken</a>{' efter' * 40}</p></article>{filler * 20}"
            "</body></html>")
    doc = lxml.html.document_fromstring(page)
    link = find_link(doc, PAGE, IS_TARGET)
    body = doc.find(".//body")
    assert html_excerpt(body, link) == whole_page_excerpt(body, link)
    assert html_excerpt(body, link).startswith("[…] före")


def test_pages_in_threads_parse_alike() -> None:
    """Each thread reuses its own parser: pages parsed in turn and side by side agree."""
    pages = [f"<html><body><p>sida {i} <a href='{TARGET}'>länk {i}</a></p></body></html>"
             for i in range(40)]
    alone = [inspect(p.encode(), content_type="text/html", charset="utf-8", page_url=PAGE,
                     is_target=IS_TARGET, target_hosts=HOSTS) for p in pages]
    assert all(r.found and r.fields is not None for r in alone)
    results: list[list[Any]] = [[] for _ in range(4)]

    def run(k: int) -> None:
        for p in pages:
            results[k].append(inspect(p.encode(), content_type="text/html", charset="utf-8",
                                      page_url=PAGE, is_target=IS_TARGET, target_hosts=HOSTS))

    workers = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(r == alone for r in results)


# ---------------------------------------------------------------- fetch.parse_inline_max_bytes


async def _checked_on(
    start_source: Callable[..., Awaitable[Any]], make_fetcher: Callable[..., SafeFetcher],
    size: int, limit: int,
) -> tuple[OutcomeKind, bool]:
    """Verify a page of exactly `size` bytes with the limit at `limit`: its outcome, and
    whether the link check ran on the event loop's own thread."""
    head = f"<html><body><p><a href='{TARGET}'>målet</a></p>".encode()
    tail = b"</body></html>"
    body = head + b" " * (size - len(head) - len(tail)) + tail
    assert len(body) == size

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html")

    src = await start_source({"/": handler})
    threads: list[threading.Thread] = []

    def is_target(url: str) -> bool:
        threads.append(threading.current_thread())
        return IS_TARGET(url)

    verifier = Verifier(make_fetcher((src.port,), parse_inline_max_bytes=limit))
    outcome = await verifier.verify(src.url("/"), TARGET, is_target, protocol="pingback",
                                    max_bytes=1 << 20, max_redirects=0)
    return outcome.kind, threads == [threading.main_thread()]


async def test_a_page_at_the_inline_limit_is_checked_on_the_loop(
    start_source: Callable[..., Awaitable[Any]], make_fetcher: Callable[..., SafeFetcher]
) -> None:
    assert await _checked_on(start_source, make_fetcher, 4096, 4096) == (
        OutcomeKind.VERIFIED, True)


async def test_a_page_past_the_inline_limit_is_checked_in_a_thread(
    start_source: Callable[..., Awaitable[Any]], make_fetcher: Callable[..., SafeFetcher]
) -> None:
    assert await _checked_on(start_source, make_fetcher, 4097, 4096) == (
        OutcomeKind.VERIFIED, False)
