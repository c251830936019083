"""The pages retirement shows people: the 410 page, the notice, and a plain error page."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from linkbridge.settings import Settings
from linkbridge.urls import public_url

DEFAULT_SV = "Den här bloggen har stängts."
DEFAULT_EN = "This blog has closed."

_URL_SAFE = ":/?[]@!$&'()*+,;=%~-._"
"""Kept as they are when an old URL is put into the archive template (already URL syntax)."""

_CSS = (
    "body{font:1.05rem/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#1b1b1b;"
    "background:#fafafa}main{max-width:40rem;margin:0 auto}h1{font-size:1.5rem;margin:.5rem 0}"
    "h2{font-size:1.2rem;margin-top:2rem}a{color:#0b57a4;overflow-wrap:anywhere}"
    "ul{padding-left:1.2rem}li{margin:.4rem 0}.old{color:#555;overflow-wrap:anywhere}"
    "section[lang=en]{border-top:1px solid #ccc;margin-top:2rem}"
)


def old_url_for(settings: Settings, raw_path_qs: str) -> str:
    """The old page's absolute URL: the public base URL plus the request's path (not Host)."""
    return public_url(settings.site.public_base_url, raw_path_qs)


def archive_url(settings: Settings, old_url: str) -> str:
    """The old page's copy in the web archive, or "" when no template is configured."""
    template = settings.retire.archive_url_template
    if not template:
        return ""
    return template.replace("{url}", quote(old_url, safe=_URL_SAFE))


def _social_label(settings: Settings) -> str:
    social = settings.successors.social
    return social if social.startswith("@") else _host(settings.social_url)


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _page(lang: str, title: str, body: str) -> bytes:
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    ).encode()


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}">{escape(text)}</a>'


def render_gone_page(settings: Settings, old_url: str) -> bytes:
    """The 410 page: Swedish, with an English section; every value escaped."""
    site = settings.site.title or _host(settings.site.public_base_url)
    web, social = settings.successors.web, settings.social_url
    web_host, social_label = _host(web), _social_label(settings)
    notice = settings.notice
    archive = archive_url(settings, old_url)
    contact = notice.contact

    sv = [
        f"<h1>{escape(site)}: sidan finns inte längre</h1>",
        f"<p>{escape(notice.sv or DEFAULT_SV)}</p>",
        f'<p class="old">Adressen du följde: {escape(old_url)}</p>',
        "<ul>",
        f"<li>Läs vidare på {_link(web, web_host)}</li>",
        f"<li>Följ oss på {_link(social, social_label)}</li>",
    ]
    if archive:
        sv.append(f"<li>{_link(archive, 'Sidan som den såg ut, i ett webbarkiv')}</li>")
    sv.append("</ul>")
    if contact:
        sv.append(f'<p class="contact">{escape(contact)}</p>')

    en = [
        '<section lang="en">',
        f"<h2>{escape(site)}: this page is gone</h2>",
        f"<p>{escape(notice.en or DEFAULT_EN)}</p>",
        "<ul>",
        f"<li>Continue to {_link(web, web_host)}</li>",
        f"<li>Follow us at {_link(social, social_label)}</li>",
    ]
    if archive:
        en.append(f"<li>{_link(archive, 'This page as it was, in a web archive')}</li>")
    en.append("</ul>")
    if contact:
        en.append(f'<p class="contact">Contact (in Swedish): {escape(contact)}</p>')
    en.append("</section>")

    body = "\n".join([*sv, *en]) + "\n"
    return _page("sv", f"{site}: sidan finns inte längre / this page is gone", body)


def render_notice_fragment(settings: Settings) -> bytes:
    """The closure banner as an HTML fragment (GET /notice), for embedding in the old pages."""
    notice = settings.notice
    web, social = settings.successors.web, settings.social_url
    parts = [
        '<aside class="linkbridge-notice" lang="sv">',
        f"<p>{escape(notice.sv or DEFAULT_SV)}</p>",
        f'<p lang="en">{escape(notice.en or DEFAULT_EN)}</p>',
        f"<p>{_link(web, _host(web))} · {_link(social, _social_label(settings))}</p>",
    ]
    if notice.contact:
        parts.append(f"<p>{escape(notice.contact)}</p>")
    parts.append("</aside>\n")
    return "\n".join(parts).encode()


def notice_json(settings: Settings) -> dict[str, Any]:
    """The notice as data (GET /notice.json)."""
    return {
        "sv": settings.notice.sv or DEFAULT_SV,
        "en": settings.notice.en or DEFAULT_EN,
        "contact": settings.notice.contact,
        "successors": {"web": settings.successors.web, "social": settings.social_url},
        "shutdown_at": settings.site.shutdown_at.isoformat(),
    }


def render_error_page(status: int, title: str, message: str, *, lang: str = "sv") -> bytes:
    """A plain error page (e.g. the proxy's 502 when the origin is down); values escaped."""
    body = f"<h1>{status} {escape(title)}</h1>\n<p>{escape(message)}</p>\n"
    return _page(lang, f"{status} {title}", body)
