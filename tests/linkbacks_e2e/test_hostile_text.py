"""Hostile text and URLs through all three protocols on the real app: one text path for all."""

from __future__ import annotations

import asyncio
import html
import json
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import lxml.html
import pytest

from linkbridge import keys
from linkbridge.model import LinkbackState
from linkbridge.settings_loader import DEFAULT_CONFIG
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import SEED_POST, Client
from tests.support.admin import enable_admin, login
from tests.support.linkbacks import (
    FORM,
    TRACKBACK_PATH,
    SourceSite,
    comment_feed,
    h_entry_page,
    only_row,
    run_jobs,
    trackback_answer,
)

HOSTILE_TITLE = (
    "Evil\u202egpj.exe <b>fet</b> &amp;lt;img src=x&amp;gt; held\r\n"
    "approved\x9b regeringen.se\u200b \u2066isolate\u2069 e\u0301"
)
HOSTILE_EXCERPT = "Spam\x1b[2K ok\u202e <script>alert(1)</script>1 &lt; 2 &amp; 3\u2028"
LINK_TEXT = "länken"
SHOWN_TITLE = "Evilgpj.exe fet held approved regeringen.se isolate \u00e9"
SHOWN_EXCERPT = f"Spam [2K ok 1 < 2 & 3 {LINK_TEXT}"
SHOWN_CONTEXT = f"[…] {SHOWN_EXCERPT} […]"  # a pingback's context, wrapped as WordPress does
ALLOW = '[moderation]\nallow_hosts = ["127.0.0.1"]\n'
TIMEOUT_S = 30


def hostile_page(target: str = SEED_POST) -> str:
    """A source page whose title and link context carry the hostile text (as HTML)."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(HOSTILE_TITLE, quote=False)}</title></head><body>"
        f"<p>{HOSTILE_EXCERPT} <a href='{target}'>{LINK_TEXT}</a></p></body></html>"
    )


async def pingback(client: Client, source: str, target: str = SEED_POST) -> str | int:
    """pingback.ping: the success string, or the fault code."""
    body = xmlrpc.client.dumps((source, target), "pingback.ping").encode()
    resp = await client.post("/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"})
    try:
        ((answer,), _) = xmlrpc.client.loads(await resp.read())
    except xmlrpc.client.Fault as fault:
        return int(fault.faultCode)
    return str(answer)


async def trackback(client: Client, fields: dict[str, str]) -> tuple[int, str]:
    resp = await client.post(
        TRACKBACK_PATH, data=urlencode(fields).encode(), headers={"Content-Type": FORM}
    )
    return trackback_answer(await resp.read())


async def webmention(client: Client, source: str, target: str = SEED_POST) -> tuple[int, str]:
    resp = await client.post("/webmention", data={"source": source, "target": target})
    return resp.status, await resp.text()


async def _loopback_rows(client: Client) -> list[object]:
    """Rows whose source is on the loopback site (the seed import has one of its own)."""
    rows = await client.app[keys.STORE].list_linkbacks(limit=1000)
    return [r for r in rows if r.source_host == "127.0.0.1"]


def run_cli(tmp_path: Path, *args: str) -> str:
    """`linkbridge …` on the test's store (a real subprocess on the same SQLite file)."""
    config = [arg for f in sorted(tmp_path.glob("e2e-*.toml")) for arg in ("--config", str(f))]
    done = subprocess.run(
        [sys.executable, "-m", "linkbridge", *args, "--config", str(DEFAULT_CONFIG), *config],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=True,
    )
    return done.stdout


async def test_one_hostile_title_and_excerpt_is_stored_and_shown_identically_everywhere(
    linkbridge: LinkbridgeFactory, source: SourceSite, tmp_path: Path
) -> None:
    client = await linkbridge(extra=ALLOW)
    by_ping = source.serve("/ping/", hostile_page())
    by_trackback = source.serve("/trackback/", hostile_page())
    by_mention = source.serve("/mention/", hostile_page())
    async with asyncio.timeout(TIMEOUT_S):
        assert isinstance(await pingback(client, by_ping), str)
        answer = await trackback(client, {"url": by_trackback, "title": HOSTILE_TITLE,
                                          "excerpt": f"{HOSTILE_EXCERPT} {LINK_TEXT}",
                                          "blog_name": HOSTILE_TITLE})  # its comment author
        assert answer == (0, "")
        assert (await webmention(client, by_mention))[0] == 201
        await run_jobs(client)
        rows = [await only_row(client, url) for url in (by_ping, by_trackback, by_mention)]
        assert [r.state for r in rows] == [LinkbackState.APPROVED] * 3
        shown = [SHOWN_CONTEXT, SHOWN_EXCERPT, SHOWN_CONTEXT]  # a trackback's excerpt as sent
        assert [(r.title, r.excerpt) for r in rows] == [(SHOWN_TITLE, e) for e in shown]

        feed = ElementTree.fromstring((await comment_feed(client)).encode())
        items = [i for i in feed.iter("item") if "127.0.0.1" in (i.findtext("link") or "")]
        assert len(items) == 3
        in_feed = {i.findtext("link"): (i.findtext("title"), i.findtext("description"))
                   for i in items}
        assert in_feed == {  # site.language = "sv": WordPress's "Av:"
            by_ping: (f"Av: {SHOWN_TITLE}", SHOWN_CONTEXT),
            by_mention: (f"Av: {SHOWN_TITLE}", SHOWN_CONTEXT),
            # a trackback's comment text is its <strong>title</strong> and the excerpt
            by_trackback: (f"Av: {SHOWN_TITLE}", f"{SHOWN_TITLE} {SHOWN_EXCERPT}"),
        }
        await enable_admin(client)
        await login(client)
        for row, excerpt in zip(rows, shown, strict=True):  # the moderator's page: the same
            answer_page = await client.get(f"/admin/linkbacks/{row.id}")
            page = lxml.html.fromstring(await answer_page.text())
            card = page.get_element_by_id(f"lb-{row.id}")  # type: ignore[attr-defined]
            assert card.findtext("h2/a") == SHOWN_TITLE
            assert card.find_class("excerpt")[0].text_content() == excerpt
    listed = json.loads(run_cli(tmp_path, "moderate", "list", "--json"))
    in_list = {(r["title"], r["excerpt"]) for r in listed if "127.0.0.1" in r["source_url"]}
    assert in_list == {(SHOWN_TITLE, SHOWN_CONTEXT), (SHOWN_TITLE, SHOWN_EXCERPT)}
    text = run_cli(tmp_path, "moderate", "list")
    assert text.count(SHOWN_TITLE[:40]) == 3


@pytest.mark.parametrize("size", [2048, 2049])
async def test_source_url_length_cap_at_its_edge_by_every_protocol(
    linkbridge: LinkbridgeFactory, source: SourceSite, size: int
) -> None:
    client = await linkbridge()
    base = source.url("/")
    url = base + "a" * (size - len(base))
    assert len(url) == size
    async with asyncio.timeout(TIMEOUT_S):
        ping_answer = await pingback(client, url)
        track_answer = await trackback(client, {"url": url})
        status, body = await webmention(client, url)
    if size <= 2048:  # accepted: stored with its whole URL (the page is a 404, not too long)
        assert ping_answer != 0
        assert track_answer == (0, "")
        assert status == 202  # the row the pingback stored: an update
        stored = [getattr(r, "source_url", "") for r in await _loopback_rows(client)]
        assert stored == [url]
    else:
        assert ping_answer == 0
        assert track_answer == (1, "The url is too long.")
        assert (status, body) == (400, "webmention: URLs longer than 2048 characters are refused\n")
        assert await _loopback_rows(client) == []


@pytest.mark.parametrize(
    "tail", ["\u202e", "\r\nX-Injected: 1", "\x9b", "\u200b", "\x00"]
)
async def test_source_urls_with_control_or_bidi_characters_are_refused_by_every_protocol(
    linkbridge: LinkbridgeFactory, source: SourceSite, tail: str
) -> None:
    client = await linkbridge()
    url = source.url("/post/") + tail
    async with asyncio.timeout(TIMEOUT_S):
        # XML cannot carry U+0000 at all: the XML-RPC parser refuses the call (-32700)
        assert await pingback(client, url) == (-32700 if tail == "\x00" else 16)
        assert (await trackback(client, {"url": url}))[0] == 1
        assert (await webmention(client, url))[0] == 400
    assert await _loopback_rows(client) == []
    assert source.requests == []


async def test_escaped_markup_in_e_content_never_becomes_a_tracking_image_in_the_feed(
    linkbridge: LinkbridgeFactory, source: SourceSite
) -> None:
    client = await linkbridge(extra=ALLOW)
    page = h_entry_page(SEED_POST).replace(
        "<strong>bra</strong>", "&lt;img src=http://tracker.example/t.gif&gt; bra"
    )
    url = source.serve("/2017/12/svar/", page)
    async with asyncio.timeout(TIMEOUT_S):
        assert (await webmention(client, url))[0] == 201
        await run_jobs(client)
        assert (await only_row(client, url)).state == LinkbackState.APPROVED
        feed = await comment_feed(client)
    assert "tracker.example" not in feed
    assert "<img" not in html.unescape(feed)
