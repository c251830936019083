"""Source identity: two different pages are two rows, whatever their URLs have in common."""

from __future__ import annotations

import xmlrpc.client

import pytest

from linkbridge.model import LinkbackState
from tests.linkbacks_e2e.conftest import LinkbridgeFactory
from tests.support import SEED_POST
from tests.support.linkbacks import (
    SourceSite,
    comment_feed,
    linking_page,
    only_row,
    run_jobs,
    unlinked_page,
)

APPROVE = '[moderation]\nallow_hosts = ["127.0.0.1"]\n[webmention]\nrepeat_window_s = 0\n'


@pytest.mark.parametrize(
    ("a", "b"),
    [("/watch?v=AbCdE", "/watch?v=abcde"), ("/Notes/Q1", "/notes/q1"), ("/a/b", "/a/b/")],
    ids=["query value case", "path case", "trailing slash"],
)
async def test_two_pages_are_two_rows_and_one_never_touches_the_other(
    linkbridge: LinkbridgeFactory, source: SourceSite, a: str, b: str
) -> None:
    client = await linkbridge(extra=APPROVE)
    url_a, url_b = source.url(a), source.url(b)
    for path in (a, b):
        source.serve(path.split("?", maxsplit=1)[0], linking_page())
    for url in (url_a, url_b):  # the second page's genuine pingback is not "already registered"
        body = xmlrpc.client.dumps((url, SEED_POST), "pingback.ping").encode()
        resp = await client.post("/xmlrpc.php", data=body, headers={"Content-Type": "text/xml"})
        assert "faultCode" not in await resp.text()
    first, second = await only_row(client, url_a), await only_row(client, url_b)
    assert first.id != second.id
    assert (first.state, second.state) == (LinkbackState.APPROVED, LinkbackState.APPROVED)

    # the second page drops the link and says so by webmention: only its own row goes
    source.serve(b.split("?", maxsplit=1)[0], unlinked_page())
    resp = await client.post("/webmention", data={"source": url_b, "target": SEED_POST})
    assert resp.status == 202
    await run_jobs(client)
    assert (await only_row(client, url_b)).state == LinkbackState.DELETED
    assert await only_row(client, url_a) == first
    feed = await comment_feed(client)
    assert url_a.replace("&", "&amp;") in feed
