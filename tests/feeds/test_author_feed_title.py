"""Author feeds are titled with the author's display name from the export, as WordPress does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from xml.etree import ElementTree


async def test_an_author_feed_is_titled_with_the_display_name(
    lb_app: Callable[..., Awaitable[Any]],
) -> None:
    client = await lb_app()
    resp = await client.get("/innovation/author/annieloof/feed/")
    assert resp.status == 200
    title = ElementTree.fromstring(await resp.read()).findtext("channel/title") or ""
    assert title.endswith(" » Annie Lööf")  # not the login "annieloof"
