"""Pingback through the real app with Python's ServerProxy: success, moderation, methods, 405."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from linkbridge import keys
from linkbridge.model import LinkbackProtocol, LinkbackState
from linkbridge.receive.xmlrpc import FaultInterop
from tests.support import SEED_POST, Client
from tests.support.pingback import (
    LOGISTIKFOKUS,
    SUCCESS_WORDS,
    SourceSite,
    call,
    endpoint,
    fault_code,
    ping,
)

AppFor = Callable[..., Awaitable[Client]]
PATHS = ("/xmlrpc.php", "/xmlrpc", "/innovation/xmlrpc.php")


async def pingbacks(client: Client) -> list[tuple[str, LinkbackState]]:
    """(source URL, state) of every pingback row that came in over the wire."""
    rows = await client.app[keys.STORE].list_linkbacks(limit=10_000)
    return [
        (lb.source_url, lb.state)
        for lb in rows
        if lb.protocol == LinkbackProtocol.PINGBACK and lb.client_ip
    ]


async def test_verified_pingback_is_held_then_a_known_host_is_approved(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    first = site.linking("/2017/12/forsta/")
    answer = await ping(client, first)
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer
    assert first in answer
    assert await pingbacks(client) == [(first, LinkbackState.HELD)]  # first-time host: held

    store = client.app[keys.STORE]
    (row,) = await store.list_linkbacks(states=[LinkbackState.HELD])
    await store.set_state(
        row.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="ok",
        now=client.app[keys.CLOCK].now(),
    )
    second = site.linking("/2017/12/andra/")  # same host (127.0.0.1), another page
    answer = await ping(client, second)
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer
    assert (second, LinkbackState.APPROVED) in await pingbacks(client)


@pytest.mark.parametrize("path", PATHS)
async def test_every_endpoint_path_answers_pingbacks(
    site: SourceSite, app_for: AppFor, path: str
) -> None:
    client = await app_for()
    source = site.linking(f"/via{path}")
    answer = await ping(client, source, SEED_POST, path)
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer
    assert await pingbacks(client) == [(source, LinkbackState.HELD)]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "DELETE"])
async def test_other_methods_get_405_with_allow_post(
    app_for: AppFor, path: str, method: str
) -> None:
    client = await app_for()
    resp = await client.request(method, path)
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"


async def test_get_pingbacks_lists_approved_sources_only(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    held = site.linking("/held/")
    assert isinstance(await ping(client, held), str)
    sources = await call(endpoint(client), "pingback.extensions.getPingbacks", SEED_POST)
    assert sources == [LOGISTIKFOKUS]  # imported from the WXR, approved there; held excluded

    store = client.app[keys.STORE]
    (row,) = await store.list_linkbacks(states=[LinkbackState.HELD])
    await store.set_state(
        row.id,
        LinkbackState.APPROVED,
        actor="moderator",
        reason="ok",
        now=client.app[keys.CLOCK].now(),
    )
    sources = await call(endpoint(client), "pingback.extensions.getPingbacks", SEED_POST)
    assert sorted(sources) == sorted([LOGISTIKFOKUS, held])


async def test_get_pingbacks_of_a_non_post_is_fault_33(app_for: AppFor) -> None:
    client = await app_for()
    answer = await call(
        endpoint(client),
        "pingback.extensions.getPingbacks",
        "http://www.naringsbloggen.se/innovation/category/innovationsstrategi/",
    )
    assert fault_code(answer) == 33


async def test_list_methods_names_what_is_offered_and_no_multicall(app_for: AppFor) -> None:
    client = await app_for()
    methods = await call(endpoint(client), "system.listMethods")
    assert sorted(methods) == sorted(
        ["pingback.ping", "pingback.extensions.getPingbacks", "system.listMethods"]
    )
    assert fault_code(await call(endpoint(client), "system.multicall", [])) == (
        FaultInterop.METHOD_NOT_FOUND
    )
