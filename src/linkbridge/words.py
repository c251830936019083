"""Every string people read on a page, in a feed or on the admin page, in each language.

One setting (`site.language`) picks the language of every page, feed and admin string. The
catalog is a plain table rather than gettext .po/.mo files: two languages and about a hundred
strings do not need a compile step, and a test checks both languages have every key. Texts
that name the blog are derived from `site` settings: nothing of one blog lives here.
Swedish feed strings are the ones WordPress's Swedish translation uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("en", "sv")

CATALOG: Final[dict[str, dict[str, str]]] = {
    "en": {
        # the notice and the 410 page
        "notice.before": "{site} will close at {when}.",
        "notice.after": "{site} has closed.",
        "notice.title": "{site}: closure notice",
        "notice.heading": "About the closure of {site}",
        "gone.title": "{site}: this page is gone",
        "gone.heading": "{site}: this page is gone",
        "gone.old_url": "The address you followed:",
        "gone.continue": "Continue to",
        "gone.follow": "Follow us at",
        "gone.archive": "This page as it was, in a web archive",
        "notice.continue": "Read on at",
        "notice.follow": "Follow us at",
        "notice.when": "Closing instant:",
        "contact.other_language": "Contact ({language}):",
        "language.en": "English",
        "language.sv": "Swedish",
        "page.other_language": "In {language}",
        # the proxy's own answers
        "error.down.title": "The blog is not answering right now",
        "error.down.text": "Please try again in a while.",
        "error.too_large.title": "The request is too large",
        "error.too_large.text": "The blog does not accept this much data in one request.",
        "error.slow_body.title": "The request did not arrive in time",
        "error.slow_body.text": "The blog waited too long for the rest of the request.",
        "error.busy.title": "Too many requests at once",
        "error.busy.text": (
            "Your address has too many requests under way. Please try again in a while."
        ),
        "error.wrong_host.title": "Unknown host",
        "error.wrong_host.text": "This server does not answer for that host name.",
        # the webmention status page
        "status.title": "Webmention {state}",
        "status.heading": "Your webmention",
        "status.source": "Source",
        "status.target": "Target",
        "status.state": "State",
        "status.reason": "Why",
        "status.author": "Author",
        "status.received": "Received",
        "status.verified": "Verified",
        "state.queued": "received, waiting to be checked",
        "state.unverified": "received, waiting to be checked",
        "state.held": "checked, waiting for a moderator",
        "state.approved": "approved and shown",
        "state.rejected": "rejected by a moderator",
        "state.spam": "rejected as spam",
        "state.failed": "could not be verified",
        "state.deleted": "removed (the source no longer links here)",
        # feeds, as WordPress says them
        "feed.comments_for": "Comments for {title}",
        "feed.comments_on": "Comments on: {title}",
        "feed.comment_by": "Comment on {title} by {name}",
        "feed.by": "By: {name}",
        "feed.farewell": "{site} has closed",
    },
    "sv": {
        "notice.before": "{site} stängs {when}.",
        "notice.after": "{site} har stängts.",
        "notice.title": "{site}: meddelande om stängning",
        "notice.heading": "Om stängningen av {site}",
        "gone.title": "{site}: sidan finns inte längre",
        "gone.heading": "{site}: sidan finns inte längre",
        "gone.old_url": "Adressen du följde:",
        "gone.continue": "Läs vidare på",
        "gone.follow": "Följ oss på",
        "gone.archive": "Sidan som den såg ut, i ett webbarkiv",
        "notice.continue": "Läs vidare på",
        "notice.follow": "Följ oss på",
        "notice.when": "Stängs:",
        "contact.other_language": "Kontakt (på {language}):",
        "language.en": "engelska",
        "language.sv": "svenska",
        "page.other_language": "På {language}",
        "error.down.title": "Bloggen svarar inte just nu",
        "error.down.text": "Försök igen om en stund.",
        "error.too_large.title": "Förfrågan är för stor",
        "error.too_large.text": "Bloggen tar inte emot så här mycket data i en förfrågan.",
        "error.slow_body.title": "Förfrågan kom inte fram i tid",
        "error.slow_body.text": "Bloggen väntade för länge på resten av förfrågan.",
        "error.busy.title": "För många samtidiga förfrågningar",
        "error.busy.text": "Din adress har för många förfrågningar igång. Försök igen om en stund.",
        "error.wrong_host.title": "Okänd värd",
        "error.wrong_host.text": "Den här servern svarar inte för det värdnamnet.",
        "status.title": "Webmention {state}",
        "status.heading": "Din webmention",
        "status.source": "Källa",
        "status.target": "Mål",
        "status.state": "Läge",
        "status.reason": "Varför",
        "status.author": "Författare",
        "status.received": "Mottagen",
        "status.verified": "Kontrollerad",
        "state.queued": "mottagen, väntar på kontroll",
        "state.unverified": "mottagen, väntar på kontroll",
        "state.held": "kontrollerad, väntar på en moderator",
        "state.approved": "godkänd och visas",
        "state.rejected": "avvisad av en moderator",
        "state.spam": "avvisad som skräppost",
        "state.failed": "kunde inte kontrolleras",
        "state.deleted": "borttagen (källan länkar inte längre hit)",
        "feed.comments_for": "Kommentarer till {title}",
        "feed.comments_on": "Kommentarer till: {title}",
        "feed.comment_by": "Kommentar till {title} av {name}",
        "feed.by": "Av: {name}",
        "feed.farewell": "{site} har stängts",
    },
}


class Words:
    """The strings of one language: `words("gone.heading", site="…")`."""

    def __init__(self, language: str, timezone: str = "UTC") -> None:
        self.language = language if language in CATALOG else "en"
        self.table = CATALOG[self.language]
        self.zone = ZoneInfo(timezone)

    def __call__(self, key: str, /, **values: object) -> str:
        return self.table[key].format(**values)

    def local(self, value: datetime | None, *, seconds: bool = False) -> str:
        """An instant in the blog's time zone, as people read it ("2018-02-01 00:00 CET")."""
        if value is None:
            return ""
        shown = value.astimezone(self.zone)
        return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def words_for(language: str, timezone: str = "UTC") -> Words:
    """The strings of `language` (unknown languages read as English)."""
    return Words(language, timezone)
