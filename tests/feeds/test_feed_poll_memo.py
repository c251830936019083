"""Remembered answers on the hot paths: a feed poll's answer by its shape, an old URL's reading
by its raw path. Both must follow every change and stay within their bounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from linkbridge import keys
from linkbridge.web import feeds, site
from tests.support import AFTER, BEFORE
from tests.support.linkbacks import approve_new_mention

Client = TestClient[Any, Any]
AppFactory = Callable[..., Awaitable[Client]]

NETWORK_COMMENTS = "/comments/feed/"
IDENTITY = {"Accept-Encoding": "identity"}


async def poll(client: Client, **headers: str) -> tuple[int, str, str]:
    resp = await client.get(
        NETWORK_COMMENTS, headers={**IDENTITY, **headers}, allow_redirects=False
    )
    return resp.status, resp.headers["ETag"], await resp.text()


async def test_a_remembered_poll_follows_a_change(lb_app: AppFactory) -> None:
    client = await lb_app(at=BEFORE)
    app = client.app
    store, live = app[keys.STORE], app[keys.LIVE]
    status, etag, _ = await poll(client)
    assert status == 200
    for _ in range(3):  # answered from the remembered answer after the first cached one
        assert await poll(client, **{"If-None-Match": etag}) == (304, etag, "")
    assert app[keys.FEED_ANSWERS]  # (the premise: the answer is remembered)

    await approve_new_mention(store, "https://example.org/remembered/", "Remembered", BEFORE)
    await live.refresh()

    status, new_etag, body = await poll(client, **{"If-None-Match": etag})
    assert status == 200
    assert new_etag != etag
    assert "example.org/remembered" in body
    assert await poll(client, **{"If-None-Match": new_etag}) == (304, new_etag, "")


async def test_the_poll_memo_starts_afresh_at_its_bound(
    lb_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "POLL_ANSWER_MEMO_ENTRIES", 4)
    client = await lb_app(at=BEFORE)
    answers = client.app[keys.FEED_ANSWERS]
    _, etag, _ = await poll(client)
    sizes = []
    for n in range(9):  # distinct validators: each a new shape
        status, tag, _ = await poll(client, **{"If-None-Match": f'"other-{n}"'})
        assert (status, tag) == (200, etag)
        sizes.append(len(answers))
    assert max(sizes) == 4  # reached, never passed
    assert await poll(client, **{"If-None-Match": etag}) == (304, etag, "")


async def test_old_urls_answer_the_same_when_the_reading_memo_starts_afresh(
    lb_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site, "READINGS_MEMO_ENTRIES", 3)
    client = await lb_app(at=AFTER)
    paths = [f"/transport/2012/05/post-{n}/" for n in range(7)]
    paths += ["/innovation/om/", "/nagot/som/aldrig/fanns/", "/feed/", paths[0]]
    first: dict[str, tuple[int, str | None]] = {}
    for _ in range(2):
        for path in paths:
            resp = await client.get(path, allow_redirects=False)
            answer = (resp.status, resp.headers.get("Location"))
            assert first.setdefault(path, answer) == answer, path
    assert first[paths[0]][0] == 301
