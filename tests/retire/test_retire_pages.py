"""The 410 page, the notice (HTML fragment and JSON) and the plain error page."""

# mypy: disable-error-code="attr-defined, arg-type"
# (lxml-stubs type parsed HTML as _Element, which has no text_content; the pages are HtmlElements)

from __future__ import annotations

from collections.abc import Callable

import lxml.html
import pytest

from linkbridge.retire.pages import (
    notice_json,
    old_url_for,
    render_error_page,
    render_gone_page,
    render_notice_fragment,
    render_notice_page,
)
from linkbridge.settings import Settings

OLD = "http://www.naringsbloggen.se/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
WEB = "https://www.regeringen.se/naringsdepartementet/"
SOCIAL = "https://x.com/naringsdep"
EVIL = '<script>alert("x")</script>'


def _hrefs(doc: lxml.html.HtmlElement) -> list[str]:
    return [str(a.get("href")) for a in doc.iter("a")]


def test_gone_page_structure(settings: Settings) -> None:
    doc = lxml.html.document_fromstring(render_gone_page(settings, OLD))
    assert doc.get("lang") == "sv"
    english = doc.xpath('//section[@lang="en"]')
    assert len(english) == 1
    assert "has closed" in english[0].text_content()
    text = doc.text_content()
    assert "Näringsbloggen har stängt." in text
    assert "tomas.engholm@regeringskansliet.se" in text
    hrefs = _hrefs(doc)
    assert WEB in hrefs
    assert SOCIAL in hrefs
    assert f"https://web.archive.org/web/2017/{OLD}" in hrefs
    assert doc.xpath('//meta[@name="viewport"]')
    assert doc.xpath('//link[@rel="stylesheet"]/@href') == ["/notice.css"]
    assert not doc.xpath("//style|//script|//*[@style]")  # a strict CSP allows the page


def test_english_section_has_its_own_links(settings: Settings) -> None:
    doc = lxml.html.document_fromstring(render_gone_page(settings, OLD))
    section = doc.xpath('//section[@lang="en"]')[0]
    assert {WEB, SOCIAL} <= set(_hrefs(section))


def test_no_archive_link_without_template(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings('[retire]\narchive_url_template = ""\n')
    doc = lxml.html.document_fromstring(render_gone_page(settings, OLD))
    assert not [h for h in _hrefs(doc) if "archive" in h]
    assert set(_hrefs(doc)) == {WEB, SOCIAL}


def test_script_in_notice_text_is_escaped(make_settings: Callable[..., Settings]) -> None:
    overlay = (
        f"[site]\ntitle = '{EVIL}'\n[notice]\nsv = '{EVIL}'\nen = '{EVIL}'\ncontact = '{EVIL}'\n"
    )
    settings = make_settings(overlay)
    for page in (
        render_gone_page(settings, OLD),
        render_notice_page(settings, after=False),
        render_notice_page(settings, after=True),
        f"<div>{render_notice_fragment(settings, after=True).decode()}</div>".encode(),
        render_error_page(settings, 502, "down"),
    ):
        doc = lxml.html.document_fromstring(page)
        assert not list(doc.iter("script"))
        assert EVIL in doc.text_content()


def test_hostile_old_url_is_escaped_and_encoded(settings: Settings) -> None:
    old = old_url_for(settings, '/x/"><script>alert(1)</script>?a=<b>')
    assert old.startswith("http://www.naringsbloggen.se/x/")
    doc = lxml.html.document_fromstring(render_gone_page(settings, old))
    assert not list(doc.iter("script"))
    archive = [h for h in _hrefs(doc) if h.startswith("https://web.archive.org/")]
    assert archive
    assert all(ch not in archive[0] for ch in '<>" ')


def test_old_url_built_from_public_base_not_host(settings: Settings) -> None:
    assert old_url_for(settings, "/innovation/om/") == "http://www.naringsbloggen.se/innovation/om/"


def test_notice_fragment(settings: Settings) -> None:
    fragment = lxml.html.fragment_fromstring(
        render_notice_fragment(settings, after=False).decode()
    )
    assert fragment.tag == "aside"
    assert fragment.get("lang") == "sv"
    assert {WEB, SOCIAL} <= set(_hrefs(fragment))
    assert fragment.xpath('.//p[@lang="en"]')
    assert "Näringsbloggen stänger snart." in fragment.text_content()


def test_notice_page_says_before_and_after(settings: Settings) -> None:
    before = lxml.html.document_fromstring(render_notice_page(settings, after=False))
    after = lxml.html.document_fromstring(render_notice_page(settings, after=True))
    assert before.get("lang") == "sv"
    assert before.findtext(".//h1") == "Om stängningen av Näringsbloggen"
    assert "Näringsbloggen stänger snart." in before.text_content()
    assert "Näringsbloggen closes soon." in before.text_content()
    assert "Näringsbloggen har stängt." in after.text_content()
    assert "Näringsbloggen has closed." in after.text_content()
    assert "2018-02-01 00:00 CET" in before.text_content()  # site.timezone
    assert after.xpath('//section[@lang="en"]//h2')


def test_notice_texts_derive_from_site_when_not_set(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings("[notice]\nsv = ''\nen = ''\nsv_after = ''\nen_after = ''\n")
    assert notice_json(settings, after=True)["sv"] == "Näringsbloggen har stängts."
    english = make_settings(
        "[site]\nlanguage = 'en'\ntitle = 'Exempelbloggen'\n"
        "[notice]\nsv = ''\nen = ''\nsv_after = ''\nen_after = ''\n"
    )
    doc = lxml.html.document_fromstring(render_notice_page(english, after=False))
    assert doc.get("lang") == "en"
    assert not doc.xpath('//section[@lang="sv"]')  # no Swedish text, no Swedish section
    assert "Exempelbloggen will close at 2018-02-01 00:00 CET." in doc.text_content()


def test_notice_json(settings: Settings) -> None:
    assert notice_json(settings, after=True) == {
        "sv": "Näringsbloggen har stängt.",
        "en": "Näringsbloggen has closed.",
        "language": "sv",
        "phase": "after",
        "contact": "Frågor: tomas.engholm@regeringskansliet.se",
        "successors": {"web": WEB, "social": SOCIAL},
        "shutdown_at": "2018-02-01T00:00:00+01:00",
    }
    assert notice_json(settings, after=False)["en"] == "Näringsbloggen closes soon."


@pytest.mark.parametrize("status", [502, 504])
def test_error_page(settings: Settings, status: int) -> None:
    doc = lxml.html.document_fromstring(render_error_page(settings, status, "down"))
    assert doc.get("lang") == "sv"
    assert doc.findtext(".//h1", "") == "Bloggen svarar inte just nu"
    assert doc.findtext(".//title", "").startswith(f"{status} ")
    assert doc.xpath('//section[@lang="en"]/h2/text()') == ["The blog is not answering right now"]


def test_kept_410_pages_belong_to_their_settings(make_settings: Callable[..., Settings]) -> None:
    from linkbridge.retire import pages

    first = make_settings("[site]\ntitle = 'Första bloggen'\n")
    second = make_settings("[site]\ntitle = 'Andra bloggen'\n")
    assert "Första bloggen" in render_gone_page(first, OLD).decode()
    assert "Andra bloggen" in render_gone_page(second, OLD).decode()  # not the kept page
    assert render_gone_page(second, OLD) is render_gone_page(second, OLD)
    small = make_settings("[retire]\ngone_page_cache_entries = 2\n")
    for n in range(3):
        render_gone_page(small, f"{OLD}{n}")
    assert len(pages._gone_pages) == 2  # at the limit: the oldest went
    assert (f"{OLD}0", "") not in pages._gone_pages
    assert (f"{OLD}2", "") in pages._gone_pages
