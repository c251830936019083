"""Rows stored before intake cleaned text (bidi overrides and isolates, zero-width, C1 in a
title, an excerpt, a mapping note, a hit's path) are shown on the admin page through the one
text path: each unsafe character as a visible escape, none of them raw in what is shown; a
hidden field that names a row carries it exactly, so acting on the row acts on that row."""

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
"""What no admin page may show: the unsafe set but the whitespace HTML shows as spaces."""
HIDDEN = re.compile(r'<input type="hidden"[^>]*>')


def shown(page: str) -> str:
    """The page without its hidden fields (never shown; they carry rows' keys back)."""
    return HIDDEN.sub("", page)


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
        assert RAW_ON_PAGE.findall(shown(page)) == [], path
        assert "Rätt\\u202egpj.exe \\u2066isolerad\\u2069 noll\\u200bbredd \\x9bC1" in page, path


async def test_an_old_hit_path_is_shown_escaped_and_mapped_as_stored(admin_app: AdminApp) -> None:
    client = await admin_app()
    csrf = await login(client)
    old = "/innovation/r\u202eexe.gpj"
    db = client.app[keys.SETTINGS].store.url.removeprefix("sqlite://")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO hits (day, path, status, rule, count) "
                     "VALUES ('2018-02-02', ?, 301, 'default', 5)", (old,))
    conn.close()
    page = await (await client.get("/admin/hits")).text()
    assert RAW_ON_PAGE.findall(shown(page)) == []
    assert "<h2>/innovation/r\\u202eexe.gpj</h2>" in page
    assert f'<input type="hidden" name="path" value="{old}">' in page
    answer = await client.post("/admin/hits", data={"csrf": csrf, "form": "hit-1", "path": old,
                                                    "target": "web"}, allow_redirects=False)
    assert answer.status == 303
    assert [m.source for m in await client.app[keys.STORE].list_mappings()] == [old]
