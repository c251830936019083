"""The language table: every language has every key, with the same placeholders."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from linkbridge.words import CATALOG, LANGUAGES, words_for


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    assert set(CATALOG) == set(LANGUAGES)
    english = CATALOG["en"]
    for language, table in CATALOG.items():
        assert set(table) == set(english), language
        for key, text in table.items():
            assert _fields(text) == _fields(english[key]), (language, key)


def test_wordpress_swedish_feed_strings() -> None:
    sv = words_for("sv")
    assert sv("feed.comments_for", title="Innovation") == "Kommentarer till Innovation"
    assert sv("feed.by", name="Logistikfokus") == "Av: Logistikfokus"
    assert sv("feed.comment_by", title="Inlägg", name="Karin") == "Kommentar till Inlägg av Karin"


def test_times_in_the_blog_time_zone() -> None:
    at = datetime(2018, 1, 31, 23, 0, tzinfo=UTC)
    assert words_for("sv", "Europe/Stockholm").local(at) == "2018-02-01 00:00 CET"
    assert words_for("en").local(at, seconds=True) == "2018-01-31 23:00:00 UTC"
