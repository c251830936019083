"""Through the real intake, each protocol's comment in the feeds is shaped as WordPress's:
author (item title "Av: …", dc:creator / author) and content (content:encoded / content)."""

from __future__ import annotations

import xmlrpc.client

import feedparser
import pytest

from linkbridge import keys
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import SEED_POST
from tests.support.linkbacks import (
    SEED_FEED,
    TRACKBACK_PATH,
    SourceSite,
    h_entry_page,
    linking_page,
    only_row,
    run_jobs,
)

APPROVE = '[moderation]\nallow_hosts = ["127.0.0.1"]\n'
PAGE_TITLE = "Karins logg: seminariet"
LINK_TEXT = "Innovationsupphandling på frammarsch!"


@pytest.mark.parametrize("feed_path", [SEED_FEED, SEED_FEED + "atom/"], ids=["rss", "atom"])
async def test_each_protocol_is_shown_as_its_wordpress_comment(
    linkbridge: LinkbridgeFactory, source: SourceSite, feed_path: str
) -> None:
    client = await linkbridge(extra=APPROVE)
    by_ping = source.serve("/ping/", linking_page(title=PAGE_TITLE))
    by_mention = source.serve("/svar/", h_entry_page(SEED_POST))
    by_plain_mention = source.serve("/omnamnande/", linking_page(title=PAGE_TITLE))
    by_trackback = source.serve("/tb/", linking_page())
    body = xmlrpc.client.dumps((by_ping, SEED_POST), "pingback.ping").encode()
    resp = await client.post("/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"})
    assert "faultCode" not in await resp.text()
    for url in (by_mention, by_plain_mention):
        resp = await client.post("/webmention", data={"source": url, "target": SEED_POST})
        assert resp.status == 201
    resp = await client.post(TRACKBACK_PATH, data={"url": by_trackback, "title": "Rubriken"})
    assert resp.status == 200
    await run_jobs(client)
    await client.app[keys.LIVE].refresh()
    context = (await only_row(client, by_ping)).excerpt  # what verification read around the link
    assert context.startswith("[…] ")
    assert LINK_TEXT in context
    assert (await only_row(client, by_plain_mention)).excerpt == context  # the same page text

    resp = await client.get(feed_path)
    assert resp.status == 200
    feed = feedparser.parse(await resp.read())
    assert not feed.bozo, feed.get("bozo_exception")
    shown = {
        e.link: (e.title, e.author, [c.value for c in e.content], e.summary) for e in feed.entries
    }
    assert shown[by_ping] == (
        f"Av: {PAGE_TITLE}", PAGE_TITLE, [f"<p>{context}</p>"], context
    )  # pingback: the page's title, the context around the link
    said = (
        "Tack för ett bra inlägg om innovationsupphandling. Vi på kommunen vill gärna pröva "
        "förkommersiell upphandling."
    )  # webmention: the h-entry's author, its e-content as text (no markup from a stranger)
    assert shown[by_mention] == ("Av: Karin Berg", "Karin Berg", [f"<p>{said}</p>"], said)
    assert shown[by_plain_mention][:3] == (
        f"Av: {PAGE_TITLE}", PAGE_TITLE, [f"<p>{context}</p>"]
    )  # no h-entry: as a pingback
    assert shown[by_trackback] == (  # trackback without blog_name: the source host
        "Av: 127.0.0.1", "127.0.0.1", ["<p><strong>Rubriken</strong></p>"], "Rubriken"
    )  # the feed's text (description / summary) is the comment's text in each case
