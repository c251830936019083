"""Every pingback fault through the real app, with real loopback sources where one is fetched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from linkbridge import keys
from linkbridge.model import ChangeNote, LinkbackState
from tests.support import SEED_POST, Client, ManualClock, page_linking_to
from tests.support.pingback import (
    MULTIBLOG_WXR,
    PINGS_CLOSED_POST,
    SUCCESS_WORDS,
    TRASHED_POST,
    NoSuchHostResolver,
    SourceSite,
    call_body,
    fault_code,
    ping,
    post_raw,
)

AppFor = Callable[..., Awaitable[Client]]
SHUTDOWN = datetime.fromisoformat("2018-02-01T00:00:00+01:00")
SUCCESSOR = "https://www.regeringen.se/sveriges-regering/naringsdepartementet/"
MULTIBLOG = f'[posts]\nwxr = ["{MULTIBLOG_WXR}"]\n'


async def states(client: Client) -> list[LinkbackState]:
    rows = await client.app[keys.STORE].list_linkbacks(limit=10_000)
    return [lb.state for lb in rows if lb.client_ip]


# ---------------------------------------------------------------- 16: the source does not exist
@pytest.mark.parametrize("status", [404, 410])
async def test_missing_or_gone_source_is_16(site: SourceSite, app_for: AppFor, status: int) -> None:
    client = await app_for()
    source = site.add("/borta/", page_linking_to(SEED_POST), status=status)
    assert fault_code(await ping(client, source)) == 16
    assert site.hits == ["/borta/"]
    assert await states(client) == [LinkbackState.FAILED]


async def test_source_host_that_does_not_resolve_is_16(site: SourceSite, app_for: AppFor) -> None:
    resolver = NoSuchHostResolver()  # NXDOMAIN, asked of an injected resolver, never real DNS
    client = await app_for(resolver=resolver)
    answer = await ping(client, f"http://nonexistent.invalid:{site.port}/inlagg/")
    assert fault_code(answer) == 16
    assert resolver.asked == ["nonexistent.invalid"]
    assert await states(client) == [LinkbackState.FAILED]


@pytest.mark.parametrize(
    "source", ["http://[::1/", "ftp://127.0.0.1/a", "http://127.0.0.1:99999/", "/relative/"]
)
async def test_unusable_source_urls_are_16_without_a_fetch(
    site: SourceSite, app_for: AppFor, source: str
) -> None:
    client = await app_for()
    assert fault_code(await ping(client, source)) == 16
    assert site.hits == []


# ---------------------------------------------------------------- 17: no link to the target
async def test_page_without_the_link_is_17(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    source = site.add("/utan-lank/", page_linking_to("http://www.example.org/annat/"))
    assert fault_code(await ping(client, source)) == 17
    assert await states(client) == [LinkbackState.FAILED]


async def test_a_prefix_look_alike_link_is_not_the_link_17(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    look_alike = SEED_POST.rstrip("/") + "-2/"
    source = site.add("/nastan/", page_linking_to(look_alike))
    assert fault_code(await ping(client, source)) == 17


# ---------------------------------------------------------------- 32: the target is gone
@pytest.mark.parametrize(
    "target",
    [
        TRASHED_POST,
        TRASHED_POST.rstrip("/") + "__trashed/",
        "http://www.naringsbloggen.se/innovation/?p=5",
    ],
)
async def test_tombstoned_post_is_32(site: SourceSite, app_for: AppFor, target: str) -> None:
    client = await app_for(extra=MULTIBLOG)
    source = site.linking("/om-test/", target)
    assert fault_code(await ping(client, source, target)) == 32
    assert site.hits == []  # refused before any fetch


# ---------------------------------------------------------------- 33: not usable as a target
@pytest.mark.parametrize(
    "target",
    [
        "http://www.example.org/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/",
        "http://www.naringsbloggen.se/",
        "http://www.naringsbloggen.se/innovation/",
        "http://www.naringsbloggen.se/innovation/category/innovationsstrategi/",
        "http://www.naringsbloggen.se/innovation/author/annieloof/",
        "http://www.naringsbloggen.se/innovation/2013/10/",
        "http://www.naringsbloggen.se/innovation/finns-inte/alls/",
        "not a URL at all",
        "http://www.naringsbloggen.se:65536/innovation/",  # the canonicaliser refuses these:
        "http://[::1/",  # found by the endpoint fuzz test (they were a 400 text answer)
        "http://www.naringsbloggen.se/innovation/%ff?x=%fe",
    ],
)
async def test_targets_that_are_not_posts_are_33(
    site: SourceSite, app_for: AppFor, target: str
) -> None:
    client = await app_for()
    source = site.linking("/lank/", target)
    assert fault_code(await ping(client, source, target)) == 33
    assert site.hits == []


async def test_pings_closed_by_setting_is_33(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for(extra="[posts]\npings_closed = true\n")
    assert fault_code(await ping(client, site.linking("/a/"))) == 33
    assert site.hits == []


async def test_pings_closed_in_the_wxr_is_33(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for(extra=MULTIBLOG)
    source = site.linking("/b/", PINGS_CLOSED_POST)
    assert fault_code(await ping(client, source, PINGS_CLOSED_POST)) == 33
    assert site.hits == []


async def test_from_the_shutdown_instant_on_33_names_the_successor(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    clock = client.app[keys.CLOCK]
    assert isinstance(clock, ManualClock)
    source = site.linking("/sent/")

    clock.set(SHUTDOWN - timedelta(microseconds=1))
    assert SUCCESS_WORDS in await ping(client, source)

    clock.set(SHUTDOWN)  # at the instant itself
    answer = await ping(client, site.linking("/senare/"))
    assert fault_code(answer) == 33
    assert SUCCESSOR in answer.faultString

    clock.set(SHUTDOWN + timedelta(days=30))
    answer = await ping(client, site.linking("/mycket-senare/"))
    assert fault_code(answer) == 33
    assert SUCCESSOR in answer.faultString
    assert site.hits == ["/sent/"]


# ---------------------------------------------------------------- 0: generic
@pytest.mark.parametrize(
    "source",
    [
        SEED_POST,
        SEED_POST + "?utm_source=rss",
        SEED_POST.replace("http://www.", "https://"),
        "http://www.naringsbloggen.se/innovation/?p=2187",
    ],
)
async def test_source_and_target_the_same_post_is_0(app_for: AppFor, source: str) -> None:
    client = await app_for()
    assert fault_code(await ping(client, source)) == 0


async def test_source_refused_by_the_address_policy_is_0_without_detail(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for(extra="[fetch]\nallow_networks = []\n")
    answer = await ping(client, site.linking("/intern/"))
    assert fault_code(answer) == 0
    assert answer.faultString == ""
    assert site.hits == []  # refused before connecting
    assert await states(client) == [LinkbackState.FAILED]


# ---------------------------------------------------------------- 48: already registered
async def test_second_ping_of_a_verified_source_is_48(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    source = site.linking("/tva-ganger/")
    assert SUCCESS_WORDS in await ping(client, source)
    assert fault_code(await ping(client, source)) == 48
    assert site.hits == ["/tva-ganger/"]  # the duplicate is answered without a fetch
    assert await states(client) == [LinkbackState.HELD]


async def test_an_earlier_failed_verification_never_blocks_a_genuine_ping(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for()
    source = site.add("/utkast/", page_linking_to("http://www.example.org/"))
    assert fault_code(await ping(client, source)) == 17
    site.linking("/utkast/")  # the author adds the link
    assert SUCCESS_WORDS in await ping(client, source)
    assert await states(client) == [LinkbackState.HELD]
    assert fault_code(await ping(client, source)) == 48


# ---------------------------------------------------------------- 49: access denied
async def test_rate_limit_per_client_ip_at_its_edge_is_49(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for(extra="[pingback]\nrate_per_min = 3\n")

    async def ping_from(ip: str, n: int) -> int | None:
        body = call_body("pingback.ping", site.linking(f"/{ip}/{n}/"), SEED_POST)
        _, answer = await post_raw(client, body, headers={"X-Forwarded-For": ip})
        return fault_code(answer)

    assert [await ping_from("198.51.100.7", n) for n in range(3)] == [None, None, None]
    assert await ping_from("198.51.100.7", 3) == 49
    assert await ping_from("198.51.100.8", 0) is None  # another client is not affected
    assert len(site.hits) == 4


async def test_per_host_daily_cap_at_its_edge_is_49(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for(extra="[moderation]\nper_host_daily_cap = 2\n")
    assert SUCCESS_WORDS in await ping(client, site.linking("/1/"))
    assert SUCCESS_WORDS in await ping(client, site.linking("/2/"))
    assert fault_code(await ping(client, site.linking("/3/"))) == 49
    assert site.hits == ["/1/", "/2/"]


async def test_blocked_source_host_is_49_without_a_fetch(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for()
    await client.app[keys.STORE].edit_host(
        "127.0.0.1", "block", present=True,
        note=ChangeNote("block", "test", "spam", client.app[keys.CLOCK].now()),
    )
    await client.app[keys.LIVE].refresh(force=True)
    assert fault_code(await ping(client, site.linking("/skrap/"))) == 49
    assert site.hits == []
    assert await states(client) == []


async def test_blocked_by_config_is_49_without_a_fetch(site: SourceSite, app_for: AppFor) -> None:
    client = await app_for(extra='[moderation]\nblock_hosts = ["127.0.0.1"]\n')
    assert fault_code(await ping(client, site.linking("/skrap/"))) == 49
    assert site.hits == []


# ---------------------------------------------------------------- opaque faults
async def test_opaque_faults_turn_16_17_33_into_0_but_keep_48(
    site: SourceSite, app_for: AppFor
) -> None:
    client = await app_for(extra="[pingback]\nopaque_faults = true\n")
    assert fault_code(await ping(client, site.url("/saknas/"))) == 0  # was 16
    assert fault_code(await ping(client, site.add("/x/", "<p>ingen länk</p>"))) == 0  # was 17
    assert fault_code(await ping(client, site.linking("/y/"), "http://www.example.org/")) == 0
    source = site.linking("/z/")
    assert SUCCESS_WORDS in await ping(client, source)
    assert fault_code(await ping(client, source)) == 48
    _, answer = await post_raw(client, b"<methodCall><methodName>nope</methodName></methodCall>")
    assert fault_code(answer) == -32601  # interop faults are not pingback faults: unchanged
