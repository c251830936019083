"""The closure notice's words: a text for before the instant and one for after, per language.

`[notice]` texts win; where one is empty the text is derived from `site` (its title and the
instant) in that language, so no blog's own words live in code.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from linkbridge.settings import Settings
from linkbridge.words import LANGUAGES, Words, words_for


def site_name(settings: Settings) -> str:
    """The blog's name as pages say it: its title, else its host."""
    return settings.site.title or urlsplit(settings.site.public_base_url).hostname or ""


def words(settings: Settings, language: str | None = None) -> Words:
    """The blog's strings (or another language's), with its time zone."""
    return words_for(language or settings.site.language, settings.site.timezone)


def notice_text(settings: Settings, language: str, *, after: bool) -> str:
    """The notice in `language` before or after the instant."""
    notice = settings.notice
    configured = {
        ("sv", False): notice.sv, ("en", False): notice.en,
        ("sv", True): notice.sv_after, ("en", True): notice.en_after,
    }.get((language, after), "")
    if configured:
        return configured
    t = words(settings, language)
    if after:
        return t("notice.after", site=site_name(settings))
    return t("notice.before", site=site_name(settings), when=t.local(settings.site.shutdown_at))


def languages(settings: Settings) -> list[str]:
    """The blog's language first, then each other language the `[notice]` has text in."""
    main = settings.site.language
    notice = settings.notice
    written = {"sv": notice.sv or notice.sv_after, "en": notice.en or notice.en_after}
    return [main, *(lang for lang in LANGUAGES if lang != main and written.get(lang))]


def farewell_title(settings: Settings) -> str:
    """`feeds.farewell_title`, else "<site> has closed" in each of the notice's languages."""
    if settings.feeds.farewell_title:
        return settings.feeds.farewell_title
    name = site_name(settings)
    return " / ".join(words(settings, lang)("feed.farewell", site=name)
                      for lang in languages(settings))
