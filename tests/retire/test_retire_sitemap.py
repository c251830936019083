"""Sitemaps (urlset, index past the limits) and robots.txt, checked structurally."""

from __future__ import annotations

import pytest
from lxml import etree

from linkbridge.retire.sitemap import MAX_URLS, NAMESPACE, build_sitemaps, robots_txt

BASE = "http://www.naringsbloggen.se/"
NS = {"sm": NAMESPACE}


def _locs(body: bytes, kind: str = "url") -> list[str]:
    root = etree.fromstring(body)
    return [str(x) for x in root.xpath(f"/sm:*/sm:{kind}/sm:loc/text()", namespaces=NS)]


def test_one_urlset_with_absolute_escaped_locs() -> None:
    paths = ["/innovation/om/", "/innovation/räksmörgås/", "/?p=1&s=a b", "/innovation/om/"]
    files = build_sitemaps(BASE, paths)
    assert list(files) == ["/sitemap.xml"]
    root = etree.fromstring(files["/sitemap.xml"])
    assert root.tag == f"{{{NAMESPACE}}}urlset"
    locs = _locs(files["/sitemap.xml"])
    assert locs == [
        "http://www.naringsbloggen.se/innovation/om/",
        "http://www.naringsbloggen.se/innovation/r%C3%A4ksm%C3%B6rg%C3%A5s/",
        "http://www.naringsbloggen.se/?p=1&s=a%20b",
    ]
    assert b"&amp;" in files["/sitemap.xml"]


def test_empty_is_a_valid_urlset() -> None:
    files = build_sitemaps(BASE, [])
    assert _locs(files["/sitemap.xml"]) == []


@pytest.mark.slow  # over a second
def test_exactly_the_limit_stays_one_file() -> None:
    files = build_sitemaps(BASE, (f"/p/{i}" for i in range(MAX_URLS)))
    assert list(files) == ["/sitemap.xml"]
    assert len(_locs(files["/sitemap.xml"])) == MAX_URLS


@pytest.mark.slow  # over a second
def test_index_past_50000_urls() -> None:
    files = build_sitemaps(BASE, [f"/p/{i}" for i in range(MAX_URLS + 1)])
    assert set(files) == {"/sitemap.xml", "/sitemap-1.xml", "/sitemap-2.xml"}
    index = etree.fromstring(files["/sitemap.xml"])
    assert index.tag == f"{{{NAMESPACE}}}sitemapindex"
    assert _locs(files["/sitemap.xml"], "sitemap") == [
        "http://www.naringsbloggen.se/sitemap-1.xml",
        "http://www.naringsbloggen.se/sitemap-2.xml",
    ]
    first, second = _locs(files["/sitemap-1.xml"]), _locs(files["/sitemap-2.xml"])
    assert len(first) == MAX_URLS
    assert second == [f"{BASE}p/{MAX_URLS}"]
    assert all(len(body) <= 50 * 1024 * 1024 for body in files.values())


def test_byte_limit_splits_files() -> None:
    one = len(build_sitemaps(BASE, ["/p/0"])["/sitemap.xml"])
    # room for exactly two entries of the same length per file
    entry = one - len(build_sitemaps(BASE, [])["/sitemap.xml"])
    files = build_sitemaps(BASE, [f"/p/{i}" for i in range(5)], max_bytes=one + entry)
    assert sorted(files) == ["/sitemap-1.xml", "/sitemap-2.xml", "/sitemap-3.xml", "/sitemap.xml"]
    assert [len(_locs(files[f"/sitemap-{i}.xml"])) for i in (1, 2, 3)] == [2, 2, 1]
    assert all(len(files[f"/sitemap-{i}.xml"]) <= one + entry for i in (1, 2, 3))


def test_robots_blocks_nothing_and_names_the_sitemap() -> None:
    text = robots_txt(BASE)
    lines = text.splitlines()
    assert "User-agent: *" in lines
    assert "Disallow:" in lines
    assert not [ln for ln in lines if ln.startswith("Disallow:") and ln != "Disallow:"]
    assert "Sitemap: http://www.naringsbloggen.se/sitemap.xml" in lines
