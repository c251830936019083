"""Mapping suggestions: the matcher on small cases, sitemap reading (index, gzip, lastmod,
hostile XML), and the whole run against a loopback successor site: suggestions stored,
most important first, never changing the table until a moderator accepts one."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbridge import __version__
from linkbridge.model import MappingSuggestion, SuccessorPage
from linkbridge.moderation.service import Moderation
from linkbridge.retire.csvio import parse_mappings_csv
from linkbridge.retire.successor_site import SitemapError, parse_sitemap
from linkbridge.retire.suggest import Matcher, OldPage
from linkbridge.retire.workbench import (
    SuggestReport,
    refresh_suggestions,
    suggest_fetch_settings,
    suggest_weights,
    suggestions_csv_rows,
)
from linkbridge.store import open_store
from linkbridge.urls import Canonicaliser
from linkbridge.verify import SafeFetcher
from tests.support import SEED_PATH, ManualClock, load_test_settings
from tests.support.verify import LoopbackResolver

NOW = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def page(url: str, title: str, text: str = "", day: date | None = None) -> SuccessorPage:
    return SuccessorPage(url, f"{title} - Regeringen.se", text, day)


SITE = [
    page("https://www.regeringen.se/pressmeddelanden/2013/10/innovationsupphandling-tar-fart/",
         "Pressmeddelande: Innovationsupphandling på frammarsch i offentlig sektor",
         "Seminariet Innovationer på beställning visade hur upphandlare köper nytt.",
         date(2013, 10, 3)),
    page("https://www.regeringen.se/artiklar/2014/05/bredband-i-hela-landet/",
         "Bredband i hela landet", "Snabbt bredband till alla hushåll.", date(2014, 5, 2)),
    page("https://www.regeringen.se/artiklar/2015/01/exportstrategin/",
         "Exportstrategin", "Svenska företag på nya marknader.", date(2015, 1, 9)),
]


def test_a_reworded_counterpart_is_found_and_a_missing_one_is_not_invented() -> None:
    matcher = Matcher(SITE)
    found, missing = matcher.suggest([
        OldPage(SEED_PATH, "Innovationsupphandling på frammarsch",
                "innovationsupphandling-pa-frammarsch", date(2013, 10, 1),
                "Seminariet Innovationer på beställning om offentliga upphandlare."),
        OldPage("/transport/2012/05/ny-trafikplan/", "Ny trafikplan för Stockholms län",
                "ny-trafikplan", date(2012, 5, 1), "Trafikplanen för länet."),
    ])
    assert found.url == SITE[0].url
    assert found.score >= 0.7
    assert "title" in found.reason
    assert missing.url is None
    assert missing.ranked  # the closest pages are still listed for a moderator


def test_two_pages_alike_give_no_suggestion() -> None:
    twins = [page("https://www.regeringen.se/a/exportstrategin/", "Exportstrategin"),
             page("https://www.regeringen.se/b/exportstrategin/", "Exportstrategin")]
    (result,) = Matcher(twins).suggest([OldPage("/x/exportstrategin/", "Exportstrategin",
                                                "exportstrategin")])
    assert result.url is None
    assert "alike" in result.reason


SEED_OLD = OldPage(SEED_PATH, "Innovationsupphandling på frammarsch",
                   "innovationsupphandling-pa-frammarsch", date(2013, 10, 1),
                   "Seminariet Innovationer på beställning om offentliga upphandlare.")


def suggested(tmp_path: Path, toml: str) -> MappingSuggestion:
    """The seed post's suggestion with [suggest] `toml` loaded as the run loads it."""
    settings = load_test_settings(tmp_path, "[suggest]\n" + toml)
    (found,) = Matcher(SITE, suggest_weights(settings.suggest)).suggest([SEED_OLD])
    return found


def test_min_score_at_its_edge(tmp_path: Path) -> None:
    """A page scoring exactly suggest.min_score (as shown, 3 decimals) is suggested; one
    thousandth more and it is not."""
    score = suggested(tmp_path, "min_score = 0.0\nmin_margin = 0.0\n").score
    assert 0 < score < 1
    at_edge = suggested(tmp_path, f"min_score = {score:.3f}\nmin_margin = 0.0\n")
    assert at_edge.url == SITE[0].url
    past = suggested(tmp_path, f"min_score = {score + 0.001:.3f}\nmin_margin = 0.0\n")
    assert past.url is None
    assert past.reason.startswith(f"best only {score:.3f}: ")


def test_min_margin_at_its_edge(tmp_path: Path) -> None:
    """The best page leading the next by exactly suggest.min_margin is suggested; by less
    (the margin one thousandth higher) the post is ambiguous."""
    first = suggested(tmp_path, "min_score = 0.0\nmin_margin = 0.0\n")
    (_, best), (_, second) = first.ranked[:2]
    margin = round(best - second, 3)
    assert margin > 0
    at_edge = suggested(tmp_path, f"min_score = 0.0\nmin_margin = {margin:.3f}\n")
    assert at_edge.url == SITE[0].url
    past = suggested(tmp_path, f"min_score = 0.0\nmin_margin = {margin + 0.001:.3f}\n")
    assert past.url is None
    assert past.reason == f"two pages score alike ({best:.3f}, {second:.3f})"


def sitemap(urls: list[tuple[str, str]]) -> bytes:
    rows = "".join(f"<url><loc>{u}</loc><lastmod>{d}</lastmod></url>" for u, d in urls)
    return f'<?xml version="1.0"?><urlset {NS}>{rows}</urlset>'.encode()


def test_sitemap_index_gzip_and_lastmod() -> None:
    index = parse_sitemap(
        f'<sitemapindex {NS}><sitemap><loc>https://x.se/s1.xml.gz</loc></sitemap>'
        "</sitemapindex>".encode(), max_bytes=10_000)
    assert index.sitemaps == ("https://x.se/s1.xml.gz",)
    packed = gzip.compress(sitemap([("https://x.se/a/", "2018-01-31T10:00:00+01:00")]))
    (entry,) = parse_sitemap(packed, max_bytes=10_000).pages
    assert (entry.url, entry.lastmod) == ("https://x.se/a/", date(2018, 1, 31))


def test_hostile_sitemaps_are_refused_not_expanded() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
              b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>https://x.se/&b;</loc></url></urlset>")
    result = parse_sitemap(laughs, max_bytes=10_000)
    assert all("aaaa" not in e.url for e in result.pages)
    xxe = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           b"<url><loc>https://x.se/&x;</loc></url></urlset>")
    assert all("root:" not in e.url for e in parse_sitemap(xxe, max_bytes=10_000).pages)
    bomb = gzip.compress(b"<urlset>" + b" " * 200_000 + b"</urlset>")
    with pytest.raises(SitemapError, match="larger than"):
        parse_sitemap(bomb, max_bytes=100_000)
    with pytest.raises(SitemapError):
        parse_sitemap(b"<html><body>not a sitemap</body></html>", max_bytes=10_000)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_sitemap_or_a_sitemap_error(data: bytes) -> None:
    with contextlib.suppress(SitemapError):
        parse_sitemap(data, max_bytes=10_000)


@pytest.fixture
async def successor_site() -> AsyncIterator[TestServer]:
    """A loopback "www.regeringen.se": a sitemap index, a gzipped sitemap, three pages."""
    pages = {urlpath(p.url): p for p in SITE}

    async def index(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(body=(
            f'<sitemapindex {NS}><sitemap><loc>{base}/sitemap-1.xml.gz</loc></sitemap>'
            "</sitemapindex>").encode(), content_type="application/xml")

    async def part(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        body = sitemap([(base + path, str(p.lastmod)) for path, p in pages.items()])
        return web.Response(body=gzip.compress(body), content_type="application/gzip")

    async def html(request: web.Request) -> web.Response:
        p = pages[request.path]
        return web.Response(text=f"<html><head><title>{p.title}</title></head><body>"
                            f"<p>{p.text}</p></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/sitemap.xml", index)
    app.router.add_get("/sitemap-1.xml.gz", part)
    for path in pages:
        app.router.add_get(path, html)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_a_run_stores_suggestions_that_a_moderator_accepts(
    tmp_path: Path, successor_site: TestServer
) -> None:
    port = successor_site.port
    assert port is not None
    settings_ = load_test_settings(tmp_path, ports=(port,))
    store = open_store(settings_.store.url)
    await store.open()
    fetcher = SafeFetcher(suggest_fetch_settings(settings_),
                          public_base_url=settings_.site.public_base_url, version=__version__,
                          resolver=LoopbackResolver("regeringen.se"))
    try:
        from linkbridge.posts.importer import import_configured_wxr

        await import_configured_wxr(settings_, store, NOW)
        before = await store.list_mappings()
        report = await refresh_suggestions(
            settings_, store, fetcher, NOW,
            sitemaps=[f"http://www.regeringen.se:{port}/sitemap.xml"])
        assert (report.sitemap_pages, report.fetched, report.suggested) == (3, 3, 1)
        assert await store.list_mappings() == before  # suggestions change nothing by themselves
        (best, *_) = await store.list_suggestions()
        assert best.url == (f"http://www.regeringen.se:{port}/pressmeddelanden/2013/10/"
                            "innovationsupphandling-tar-fart/")
        assert best.title.startswith("Innovationsupphandling på frammarsch")

        again = await refresh_suggestions(  # resumable: nothing is read twice
            settings_, store, fetcher, NOW,
            sitemaps=[f"http://www.regeringen.se:{port}/sitemap.xml"])
        assert (again.fetched, again.cached) == (0, 3)

        rows = suggestions_csv_rows(await store.list_suggestions())
        text = io.StringIO()
        csv.writer(text).writerows([["old", "new", "note"], *rows])
        (mapping,) = parse_mappings_csv(text.getvalue(), settings_,
                                        Canonicaliser.for_settings(settings_.site))
        assert mapping.target == best.url

        moderation = Moderation(settings_, store, ManualClock(NOW))
        await moderation.map(best.path, best.url or "", by="moderator",
                             reason="accepted suggestion")
        await store.set_suggestion_state(best.path, "accepted", NOW)
        assert await store.list_suggestions() == []
        assert [s.state for s in await store.list_suggestions(state="accepted")] == ["accepted"]
    finally:
        await fetcher.close()
        await store.close()


async def test_max_pages_reads_that_many_and_the_next_run_reads_the_rest(
    tmp_path: Path, successor_site: TestServer
) -> None:
    port = successor_site.port
    assert port is not None
    settings_ = load_test_settings(tmp_path, "[suggest]\nmax_pages = 2\n", ports=(port,))
    store = open_store(settings_.store.url)
    await store.open()
    fetcher = SafeFetcher(suggest_fetch_settings(settings_),
                          public_base_url=settings_.site.public_base_url, version=__version__,
                          resolver=LoopbackResolver("regeringen.se"))
    sitemaps = [f"http://www.regeringen.se:{port}/sitemap.xml"]
    try:
        first = await refresh_suggestions(settings_, store, fetcher, NOW, sitemaps=sitemaps)
        second = await refresh_suggestions(settings_, store, fetcher, NOW, sitemaps=sitemaps)
    finally:
        await fetcher.close()
        await store.close()
    assert (first.sitemap_pages, first.fetched, first.cached) == (3, 2, 0)
    assert (second.fetched, second.cached) == (1, 2)


async def _run(tmp_path: Path, port: int, toml: str) -> int:
    """One suggestion run with [suggest] `toml`: how many pages its sitemaps named."""
    return (await _run_and_read(tmp_path, port, toml))[0].sitemap_pages


async def _run_and_read(
    tmp_path: Path, port: int, toml: str
) -> tuple[SuggestReport, dict[str, SuccessorPage]]:
    """One suggestion run with [suggest] `toml`: its report, and the pages it kept by path."""
    tmp_path.mkdir()
    settings_ = load_test_settings(tmp_path, "[suggest]\n" + toml, ports=(port,))
    store = open_store(settings_.store.url)
    await store.open()
    fetcher = SafeFetcher(suggest_fetch_settings(settings_),
                          public_base_url=settings_.site.public_base_url, version=__version__,
                          resolver=LoopbackResolver("regeringen.se"))
    try:
        report = await refresh_suggestions(
            settings_, store, fetcher, NOW,
            sitemaps=[f"http://www.regeringen.se:{port}/sitemap.xml"])
        kept = {urlpath(p.url): p for p in await store.successor_pages()}
    finally:
        await fetcher.close()
        await store.close()
    return report, kept


async def test_max_sitemaps_at_its_edge(tmp_path: Path, successor_site: TestServer) -> None:
    """The index and its one sitemap are two files: two read them all, one only the index and
    says that one sitemap was left unread."""
    port = successor_site.port
    assert port is not None
    two, _ = await _run_and_read(tmp_path / "two", port, "max_sitemaps = 2\n")
    assert (two.sitemap_pages, two.unread_sitemaps) == (3, 0)
    one, _ = await _run_and_read(tmp_path / "one", port, "max_sitemaps = 1\n")
    assert (one.sitemap_pages, one.unread_sitemaps) == (0, 1)


async def test_sitemap_max_bytes_at_its_edge(tmp_path: Path, successor_site: TestServer) -> None:
    """The largest sitemap file (unpacked) at exactly the cap is read; one byte less refuses
    the run with a SitemapError naming the cap, and nothing is stored."""
    port = successor_site.port
    assert port is not None
    base = f"http://www.regeringen.se:{port}"
    largest = len(sitemap([(base + urlpath(p.url), str(p.lastmod)) for p in SITE]))
    assert await _run(tmp_path / "at", port, f"sitemap_max_bytes = {largest}\n") == 3
    with pytest.raises(SitemapError, match=f"larger than {largest - 1} bytes"):
        await _run(tmp_path / "past", port, f"sitemap_max_bytes = {largest - 1}\n")


async def test_page_max_bytes_at_its_edge(tmp_path: Path, successor_site: TestServer) -> None:
    """A page is read up to suggest.page_max_bytes: a cap ending exactly after the first
    page's paragraph text keeps it whole; one byte less loses its last character."""
    port = successor_site.port
    assert port is not None
    first = SITE[0]
    html = (f"<html><head><title>{first.title}</title></head><body><p>{first.text}</p>"
            "</body></html>").encode()  # as the successor site serves it
    cap = html.index(b"</p>")
    path = urlpath(first.url)
    _, whole = await _run_and_read(tmp_path / "at", port, f"page_max_bytes = {cap}\n")
    assert whole[path].text == first.text
    _, cut = await _run_and_read(tmp_path / "past", port, f"page_max_bytes = {cap - 1}\n")
    assert cut[path].text == first.text[:-1]
