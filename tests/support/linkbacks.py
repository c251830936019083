"""What the trackback/webmention end-to-end tests share: URLs, source pages, reading answers."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree

from aiohttp import web
from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.model import Linkback, LinkbackDraft, LinkbackProtocol, LinkbackState
from linkbridge.store import Store
from tests.support import PUBLIC_BASE, SEED_ID, SEED_PATH, SEED_POST, Client

BASE = PUBLIC_BASE
CLOSED_PAGE_PATH = "/innovation/om/"
CLOSED_PAGE_ID = 12
"""The "Om bloggen" page: <wp:ping_status>closed</wp:ping_status>."""
TRACKBACK_PATH = SEED_PATH + "trackback/"
WP_TRACKBACK_PATH = f"/innovation/wp-trackback.php?p={SEED_ID}"
SEED_FEED = SEED_PATH + "feed/"
FORM = "application/x-www-form-urlencoded"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
TRACKBACK_OK = XML_DECLARATION + b"\n<response>\n<error>0</error>\n</response>\n"


@dataclass
class Page:
    """What the source server answers for one path (tests change it between requests)."""

    body: str = ""
    status: int = 200
    content_type: str = "text/html"
    hang: bool = False
    """Answer only when the site is released (at the end of the test): a timeout."""


@dataclass
class SourceSite:
    """A real aiohttp site on 127.0.0.1 that linkback senders point at; counts requests."""

    port: int = 0
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: str = "", *, status: int = 200, hang: bool = False) -> str:
        """Answer `path` with `body` from now on; returns its absolute URL."""
        self.pages[path] = Page(body, status, hang=hang)
        return self.url(path)

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.StreamResponse:
            self.requests.append(request.path)
            page = self.pages.get(request.path)
            if page is None:
                return web.Response(status=404, text="not here")
            if page.hang:
                await self.released.wait()
            return web.Response(status=page.status, text=page.body, content_type=page.content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app


def linking_page(target: str = SEED_POST, title: str = "Omvärldsspaning december 2017") -> str:
    """A plain blog post (no microformats) that links to `target`."""
    return (
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>Näringsdepartementet skrev nyligen om seminariet Innovationer på beställning: "
        f"<a href='{target}'>Innovationsupphandling på frammarsch!</a> Läsvärt.</p>"
        "</article></body></html>"
    )


def unlinked_page(title: str = "Omvärldsspaning december 2017") -> str:
    """The same kind of page after its author removed the link."""
    return (
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>Länken är borttagen.</p></article></body></html>"
    )


def h_entry_page(target: str, *, response: str = "u-in-reply-to") -> str:
    """A realistic IndieWeb post: h-entry with h-card author, published, content, a response."""
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<title>Svar till Näringsministern om innovationsupphandling – Karins logg</title>
<link rel="webmention" href="https://karin.example/webmention"></head>
<body>
<header><nav><a href="/">Karins logg</a> · <a href="/arkiv/">Arkiv</a></nav></header>
<main>
<article class="h-entry">
  <h1 class="p-name">Svar till Näringsministern om innovationsupphandling</h1>
  <p class="meta">Av <span class="p-author h-card"><img class="u-photo"
    src="https://karin.example/karin.jpg" alt=""><a class="u-url p-name"
    href="https://karin.example/">Karin Berg</a></span>,
    <time class="dt-published" datetime="2013-10-09T08:30:00+02:00">9 oktober 2013</time></p>
  <p>Angående <a class="{response}" href="{target}">Innovationsupphandling på frammarsch!</a></p>
  <div class="e-content"><p>Tack för ett <strong>bra</strong> inlägg om
    innovationsupphandling. Vi på kommunen vill gärna pröva förkommersiell upphandling.</p></div>
  <a class="u-url" href="https://karin.example/2013/10/svar/">Permalänk</a>
</article>
</main>
<footer class="h-card"><span class="p-name">Någon annan</span></footer>
</body></html>"""


def trackback_answer(body: bytes) -> tuple[int, str]:
    """(error code, message) of a TrackBack XML answer."""
    root = ElementTree.fromstring(body)
    return int(root.findtext("error") or "-1"), root.findtext("message") or ""


async def run_jobs(client: Client) -> int:
    """Run due jobs until none is due; returns how many ran."""
    ran = 0
    while await client.app[keys.WORKER].run_once():
        ran += 1
    return ran


async def only_row(client: Client, source_url: str) -> Linkback:
    """The one stored row of the seed post from `source_url` (fails when there are more)."""
    rows = [
        lb
        for lb in await client.app[keys.STORE].list_linkbacks(limit=1000)
        if lb.source_url == source_url
    ]
    assert len(rows) == 1, rows
    return rows[0]


async def comment_feed(client: Client) -> str:
    """The seed post's comment feed, after the live snapshot caught up with the store."""
    await client.app[keys.LIVE].refresh()
    resp = await client.get(SEED_FEED)
    assert resp.status == 200
    return await resp.text()


def public_id_of(location: str) -> str:
    """The random id at the end of a webmention Location."""
    match = re.fullmatch(re.escape(BASE) + r"webmention/([A-Za-z0-9_-]+)", location)
    assert match is not None, location
    return match.group(1)


async def approve_new_mention(store: Store, url: str, title: str, now: datetime) -> Linkback:
    """A webmention of the seed post from `url` (https, example.org), recorded and approved
    straight in the store, as a moderator's decision leaves it."""
    host_and_path = url.removeprefix("https://")
    draft = LinkbackDraft(
        blog="/innovation/", post_id=2187, source_url=url, source_canonical=host_and_path,
        source_host=host_and_path.partition("/")[0], protocol=LinkbackProtocol.WEBMENTION,
        title=title,
    )
    lb = (await store.record_linkback(draft, now, resend_is_duplicate=True)).linkback
    await store.set_state(lb.id, LinkbackState.APPROVED, actor="anna", reason="", now=now)
    return lb
