"""Rows stored before intake cleaned text (bidi overrides and isolates, zero-width, C1 in a
title, an excerpt, a mapping note) are shown on the admin page through the one text path: each
unsafe character as a visible escape, none of them raw in the HTML."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable

from linkbridge import keys
from linkbridge.text import UNSAFE
from tests.support import Client
from tests.support.admin import held_linkback, login

AdminApp = Callable[..., Awaitable[Client]]
HOSTILE = "Rätt\u202egpj.exe \u2066isolerad\u2069 noll\u200bbredd \x9bC1"
RAW_ON_PAGE = re.compile(f"(?![\t\n\r]){UNSAFE.pattern}")
"""What no admin page may carry: the unsafe set but the whitespace HTML shows as spaces."""


async def test_old_rows_with_bidi_controls_are_shown_escaped(admin_app: AdminApp) -> None:
    client = await admin_app()
    await login(client)
    lb = await held_linkback(client, title="Ren titel", excerpt="Rent utdrag")
    await client.app[keys.MODERATION].map("/innovation/gammal/", "web", by="moderator",
                                          note="ren anteckning")
    db = client.app[keys.SETTINGS].store.url.removeprefix("sqlite://")
    with sqlite3.connect(db) as conn:  # as a release before the rule stored them
        conn.execute("UPDATE linkbacks SET title = ?, excerpt = ? WHERE id = ?",
                     (HOSTILE, HOSTILE, lb.id))
        conn.execute("UPDATE mappings SET note = ?", (HOSTILE,))
    conn.close()
    for path in ("/admin/", f"/admin/linkbacks/{lb.id}", "/admin/linkbacks?state=held",
                 "/admin/redirects"):
        response = await client.get(path)
        assert response.status == 200, path
        page = await response.text()
        assert RAW_ON_PAGE.findall(page) == [], path
        assert "Rätt\\u202egpj.exe \\u2066isolerad\\u2069 noll\\u200bbredd \\x9bC1" in page, path
