"""What the retirement pages say (410 page, notice, proxy errors); templates in pages/.

Every text comes from settings or from the language table (words.py): the notice has a text
for before the instant and one for after it, in each language the blog writes in.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from linkbridge.pages.notice import languages, notice_text, words
from linkbridge.pages.render import render
from linkbridge.settings import Settings
from linkbridge.urls import public_url
from linkbridge.words import Words

_URL_SAFE = ":/?[]@!$&'()*+,;=%~-._"
"""Kept as they are when an old URL is put into the archive template (already URL syntax)."""


@dataclass(frozen=True)
class Section:
    """The page's text in one language: the first section is the blog's own language."""

    lang: str
    t: Words
    notice: str
    contact_label: str
    """"" in the blog's language; "Contact (in Swedish):" in the others."""


def old_url_for(settings: Settings, raw_path_qs: str) -> str:
    """The old page's absolute URL: the public base URL plus the request's path (not Host)."""
    return public_url(settings.site.public_base_url, raw_path_qs)


def archive_url(settings: Settings, old_url: str) -> str:
    """The old page's copy in the web archive, or "" when no template is configured."""
    template = settings.retire.archive_url_template
    if not template:
        return ""
    return template.replace("{url}", quote(old_url, safe=_URL_SAFE))


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def social_label(settings: Settings) -> str:
    """"@handle" as configured, else the social successor's host."""
    social = settings.successors.social
    return social if social.startswith("@") else _host(settings.social_url)


def sections(settings: Settings, *, after: bool) -> list[Section]:
    """One Section per language the pages are written in."""
    main = settings.site.language
    out = []
    for lang in languages(settings):
        t = words(settings, lang)
        label = "" if lang == main else t(
            "contact.other_language", language=t(f"language.{main}")
        )
        out.append(Section(lang, t, notice_text(settings, lang, after=after), label))
    return out


def _links(settings: Settings) -> dict[str, str]:
    web = settings.successors.web
    return {
        "web_url": web,
        "web_label": _host(web),
        "social_url": settings.social_url,
        "social_label": social_label(settings),
        "contact": settings.notice.contact,
    }


_gone_pages: OrderedDict[tuple[str, str], tuple[Settings, bytes]] = OrderedDict()


def render_gone_page(settings: Settings, old_url: str, *, memento: str = "") -> bytes:
    """The 410 page, in the blog's language with a section per other language; "the page as
    it was" links the archive snapshot found for it (`memento`), else the archive template.
    The last `retire.gone_page_cache_entries` pages are kept (one costs a few hundred
    microseconds to render)."""
    key = (old_url, memento)
    kept = _gone_pages.get(key)
    if kept is not None and kept[0] is settings:
        _gone_pages.move_to_end(key)
        return kept[1]
    body = _render_gone_page(settings, old_url, memento)
    _gone_pages[key] = (settings, body)
    while len(_gone_pages) > settings.retire.gone_page_cache_entries:
        _gone_pages.popitem(last=False)
    return body


def _render_gone_page(settings: Settings, old_url: str, memento: str) -> bytes:
    return render(
        settings,
        "gone.html",
        sections=sections(settings, after=True),
        old_url=old_url,
        archive_url=memento or archive_url(settings, old_url),
        **_links(settings),
    )


def render_notice_page(settings: Settings, *, after: bool) -> bytes:
    """The notice as a whole page (GET /notice: the page the `Sunset` link points to)."""
    t = words(settings)
    return render(
        settings,
        "notice.html",
        sections=sections(settings, after=after),
        after=after,
        shutdown_at=t.local(settings.site.shutdown_at),
        **_links(settings),
    )


def render_notice_fragment(settings: Settings, *, after: bool) -> bytes:
    """The notice as an embeddable HTML fragment (GET /notice/embed), for other sites."""
    return render(
        settings, "notice_fragment.html", sections=sections(settings, after=after),
        **_links(settings),
    )


def notice_json(settings: Settings, *, after: bool) -> dict[str, Any]:
    """The notice as data (GET /notice.json): the current text in each language."""
    texts = {lang: notice_text(settings, lang, after=after) for lang in languages(settings)}
    return {
        **texts,
        "language": settings.site.language,
        "phase": "after" if after else "before",
        "contact": settings.notice.contact,
        "successors": {"web": settings.successors.web, "social": settings.social_url},
        "shutdown_at": settings.site.shutdown_at.isoformat(),
    }


ERRORS = ("down", "too_large", "slow_body", "busy", "wrong_host")
"""The proxy's own error pages: the origin did not answer, the request body is too large or
too slow, the reader has too many requests under way, a host name that is not ours."""


def render_error_page(settings: Settings, status: int, kind: str) -> bytes:
    """One of the proxy's own error pages (`kind` in ERRORS), in every page language."""
    if kind not in ERRORS:
        raise ValueError(f"pages: no error page {kind!r}")
    return render(settings, "error.html", status=status, kind=kind,
                  sections=sections(settings, after=False))
